"""Building binary samples: a program's own PE ("dropper") and its first victim ("patient zero").

A sample of an infecting family is a host program infected by running the family's dropper
in the emulator, exactly as any later goat would be; so the sample carries the same body, the
same record and is repaired the same way as the infected goats the back office produces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dis_core.formats import pe
from simworld import goats
from simworld.bytecode import pack_carrier
from simworld.emulator import run_binary
from simworld.programs import program
from simworld.vfs import Event, VirtualFS

NOTICE = (
    "This file is a harmless simulated sample of the Digital Immune System test world. "
    "Its entry point returns at once; the rest is SimVM bytecode that only the emulator reads. "
)
DROPPER_PATH = "C:/Users/Public/Downloads/dropper.exe"
PATIENT_PATH = "C:/Users/Public/Apps/patient.exe"
DEFAULT_WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, not the 13th


@dataclass(frozen=True)
class InfectionPlan:
    """How the generator lets a family infect its first host."""

    host_layouts: tuple[str, ...] = ("classic", "tiny", "wide64", "large")
    when: datetime = DEFAULT_WHEN
    events: tuple[str, ...] = field(default=())  # event kinds applied to the host


PLANS: dict[str, InfectionPlan] = {
    "cavity": InfectionPlan(host_layouts=("cavity", "wide64", "large64")),
    "size_trigger": InfectionPlan(host_layouts=("wide64",)),
    "date_trigger": InfectionPlan(when=datetime(2026, 2, 13, 9, 30, tzinfo=UTC)),
    "resident": InfectionPlan(events=("open",)),
}


def dropper(code: bytes, *, seed: int, bits: int = 32) -> bytes:
    """A PE whose entry point is ``ret`` followed by the program's carrier."""
    text = bytes([pe.RET]) + pack_carrier(code)
    rng = random.Random(f"dropper:{seed}")
    notes = ((NOTICE + f"Build {rng.randrange(10**6):06d}. ") * 8)[:0x5F0]  # text keeps zeros < 50%
    specs = [
        pe.SectionSpec(".text", text, pe.TEXT_FLAGS),
        pe.SectionSpec(".rdata", notes.encode(), pe.RDATA_FLAGS),
    ]
    return pe.build_image(
        specs, bits=bits, entry_rva=pe.SECTION_ALIGN, timestamp=0x60000000 + rng.randrange(2**24)
    )


def program_sample(name: str, seed: int, bits: int = 32) -> bytes:
    """A non-infecting program (worm, trojan, clean tools) as its own PE32 or PE32+."""
    return dropper(program(name), seed=seed, bits=bits)


def infected_host(name: str, seed: int, variant: int = 0) -> bytes:
    """Patient zero: a fresh host infected by the family's dropper in the emulator."""
    plan = PLANS.get(name, InfectionPlan())
    layout = plan.host_layouts[variant % len(plan.host_layouts)]
    vfs = VirtualFS()
    vfs.write(PATIENT_PATH, goats.host_program(seed * 1000 + variant, layout))
    events = [Event(kind, PATIENT_PATH) for kind in plan.events]
    result = run_binary(
        dropper(program(name), seed=seed),
        vfs,
        when=plan.when,
        events=events,
        sample_path=DROPPER_PATH,
    )
    if PATIENT_PATH not in result.changed:
        raise RuntimeError(
            f"family {name} did not infect its first host ({result.stop_reason}: {result.fault})"
        )
    return result.changed[PATIENT_PATH]


def damaged(sample: bytes, seed: int) -> bytes:
    """A copy whose bytecode is damaged (every 7th code byte flipped; checksum left stale)."""
    from simworld.emulator import locate

    found = locate(sample)
    if found is None:
        raise ValueError("no program to damage")
    data = bytearray(sample)
    start = found.offset + 16
    for offset in range(start + seed % 7, start + len(found.code), 7):
        data[offset] ^= 0xA5
    return bytes(data)

"""Goat (decoy) files: host programs and documents that samples are run against.

Everything is a pure function of the seed. Binary goats come in several layouts so that each
family finds hosts it can use (and some it cannot): a big cavity at the end of the code, a
writable last section, sizes from about 3 KB to about 70 KB, 32- and 64-bit, in several
folders. None has data after its last section (no overlay).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dis_core.formats import pe

BINARY_GOAT_DIRS = ("C:/goats/a", "C:/goats/b", "C:/Program Files/Tools", "C:/Users/Public/Apps")
DOCUMENT_GOAT_DIR = "C:/docs"


@dataclass
class Goat:
    path: str
    data: bytes
    kind: str  # pe32 | pe64 | docm | xlsm | dotm


@dataclass(frozen=True)
class GoatLayout:
    name: str
    bits: int
    code_bytes: int  # bytes of code-like filler in .text
    text_slack: int  # zero bytes after them inside .text (the cavity), mapped
    rdata_bytes: int
    data_bytes: int  # 0: no .data section (.rdata is last)


LAYOUTS: tuple[GoatLayout, ...] = (
    GoatLayout("tiny", 32, 0x3A0, 0x40, 0x1F0, 0),
    GoatLayout("cavity", 32, 0xC00, 0x700, 0x600, 0),
    GoatLayout("classic", 32, 0x1E00, 0x20, 0x1000, 0x600),
    GoatLayout("wide64", 64, 0x3A00, 0x600, 0x1200, 0),
    GoatLayout("large", 32, 0xB000, 0x100, 0x4000, 0x1000),
    GoatLayout("large64", 64, 0xE000, 0x800, 0x2000, 0x800),
)


_COMMON_OPCODES = bytes(
    [
        0x55,
        0x8B,
        0xEC,
        0x83,
        0xC4,
        0x89,
        0x45,
        0xFC,
        0xE8,
        0x50,
        0x51,
        0x52,
        0x5D,
        0xC3,
        0x33,
        0xC0,
        0x74,
        0x75,
        0xEB,
        0x90,
        0x48,
        0x0F,
        0x85,
        0x84,
    ]
)
# random bytes below 154 become frequent x86 opcode bytes (~60 %), the rest stay as they are
_CODE_TABLE = bytes(_COMMON_OPCODES[b % len(_COMMON_OPCODES)] if b < 154 else b for b in range(256))
# random bytes below 205 become zero (~80 %): initialised data is mostly zeros
_DATA_TABLE = bytes(0 if b < 205 else b for b in range(256))


def _code_filler(rng: random.Random, size: int) -> bytes:
    """Bytes that look like x86 code to a byte-statistics eye; never executed (the entry is ret)."""
    return rng.randbytes(size).translate(_CODE_TABLE)


def _rdata(rng: random.Random, size: int, label: str) -> bytes:
    words = [
        "config",
        "error",
        "open",
        "file",
        "user",
        "version",
        "window",
        "default",
        "path",
        "count",
    ]
    out = bytearray(f"{label}\0".encode())
    while len(out) < size:
        out += (" ".join(rng.choice(words) for _ in range(rng.randrange(2, 6))) + "\0").encode()
    return bytes(out[:size])


def build_goat_program(layout: GoatLayout, rng: random.Random, label: str) -> bytes:
    """One host program: ``ret`` at the entry point, filler code, strings, maybe data."""
    code = bytes([pe.RET]) + _code_filler(rng, layout.code_bytes - 1)
    text = code + bytes(layout.text_slack)
    specs = [
        pe.SectionSpec(
            ".text", text, pe.TEXT_FLAGS, virtual_size=pe.align(len(text), pe.FILE_ALIGN)
        )
    ]
    specs.append(pe.SectionSpec(".rdata", _rdata(rng, layout.rdata_bytes, label), pe.RDATA_FLAGS))
    if layout.data_bytes:
        data = rng.randbytes(layout.data_bytes).translate(_DATA_TABLE)
        specs.append(
            pe.SectionSpec(".data", data, pe.DATA_FLAGS, virtual_size=layout.data_bytes + 0x300)
        )
    stamp = 0x5F000000 + rng.randrange(0x4000000)
    return pe.build_image(specs, bits=layout.bits, entry_rva=pe.SECTION_ALIGN, timestamp=stamp)


def binary_goats(seed: int) -> list[Goat]:
    """Eight host programs spread over four folders, every layout at least once."""
    rng = random.Random(f"binary-goats:{seed}")
    goats = []
    for index in range(8):
        layout = LAYOUTS[index % len(LAYOUTS)] if index < len(LAYOUTS) else rng.choice(LAYOUTS)
        folder = BINARY_GOAT_DIRS[index % len(BINARY_GOAT_DIRS)]
        data = build_goat_program(layout, rng, f"goat {seed}-{index} ({layout.name})")
        goats.append(Goat(f"{folder}/goat{index + 1}_{layout.name}.exe", data, f"pe{layout.bits}"))
    return goats


def host_program(seed: int, layout_name: str = "cavity") -> bytes:
    """A single host (used as patient zero when building a sample)."""
    layout = next(layout for layout in LAYOUTS if layout.name == layout_name)
    return build_goat_program(
        layout, random.Random(f"host:{seed}:{layout_name}"), f"host program {seed}"
    )


def document_goats(seed: int) -> list[Goat]:
    """Word documents, Excel workbooks (no macros) and an empty global template."""
    from simworld import office

    rng = random.Random(f"document-goats:{seed}")
    goats = [
        Goat(
            office.GLOBAL_TEMPLATE_PATH,
            office.write_document("dotm", [], body_text="", seed=seed),
            "dotm",
        )
    ]
    for index in range(3):
        text = _prose(rng)
        goats.append(
            Goat(
                f"{DOCUMENT_GOAT_DIR}/report{index + 1}.docm",
                office.write_document("docm", [], body_text=text, seed=seed * 31 + index),
                "docm",
            )
        )
    for index in range(2):
        text = _prose(rng)
        goats.append(
            Goat(
                f"{DOCUMENT_GOAT_DIR}/budget{index + 1}.xlsm",
                office.write_document("xlsm", [], body_text=text, seed=seed * 37 + index),
                "xlsm",
            )
        )
    return goats


def _prose(rng: random.Random) -> str:
    words = [
        "quarterly",
        "summary",
        "meeting",
        "budget",
        "team",
        "review",
        "project",
        "plan",
        "notes",
        "draft",
        "sales",
        "travel",
    ]
    return " ".join(rng.choice(words) for _ in range(rng.randrange(8, 30))).capitalize() + "."

"""The baseline set (sequence 1, certified): the EICAR test file plus the 'known' families of
the simulated world, so that some samples are settled by definitions already installed.
The signatures are data here; nothing of the simulated world is imported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dis_core.definitions.keys import SigningKey
from dis_core.definitions.model import Signature
from dis_core.definitions.package import build_full

BASELINE_SEQUENCE = 1
# The 68-byte EICAR test string, assembled from two halves so this source file itself is not
# mistaken for the test file by a scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_MAX_SIZE = 128  # the test file may be followed by white space, up to 128 bytes in all


def eicar_signature() -> Signature:
    pattern = " ".join(f"{byte:02X}" for byte in EICAR)
    rule = (
        "rule baseline_eicar_test_file\n{\n"
        f"  strings:\n    $a = {{ {pattern} }}\n"
        f"  condition:\n    $a at 0 and filesize <= {EICAR_MAX_SIZE}\n}}\n"
    )
    return Signature(
        id="B000001", virus_name="EICAR-Test-File", kind="binary", rule=rule, repair=None,
        added_in=BASELINE_SEQUENCE, family="eicar", category="test",
    )  # fmt: skip


# Facts about the simulated world's two "known" families and its heuristic bait, frozen here so
# the definitions need no part of the world (tests/simworld/test_known.py checks them against it).
SIMVM_MAGIC = bytes.fromhex("53696d564d1a0100")  # the carrier's first bytes
EXE_PATTERN = "c:/*.exe"  # the file pattern an infector's FINDFIRST walks
OLDIE_CODE_LENGTH = 206  # bytes of Sim.Oldie.A's program (its record follows the code)
JOLT_IMAGE_SIZE = 3072  # bytes of the Sim.Jolt.A image a prepender puts in front of its host
HEADER_SAVED = 1024  # bytes of the original file an appender keeps in its record


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def _mark_string(mark: str, buffer: int = 15) -> str:
    """YARA hex string of the ``BSET b15, "<mark>"`` instruction a family starts with."""
    encoded = mark.encode()
    return _hex(bytes([0x20, buffer]) + len(encoded).to_bytes(2, "little") + encoded)


def _appender_recipe(code_length: int, mark: str, key: str) -> dict[str, Any]:
    """Anchor = the first instruction (code offset 0). The record follows the code:
    [original length][original entry point][header XOR key]; the key literal sits in the
    second instruction, 4 bytes after the first one ends."""
    key_offset = 4 + len(mark) + 4
    return {
        "version": 1,
        "anchor": "$a",
        "ops": [
            {
                "op": "copy_xor",
                "from": {"match": code_length + 8},
                "to": 0,
                "length": HEADER_SAVED,
                "key_from": {"match": key_offset},
                "key_length": len(key),
            },
            {"op": "truncate", "length": {"u32": {"match": code_length}}},
        ],
    }


def _prepender_recipe(image_size: int) -> dict[str, Any]:
    """The virus image (a constant size) sits in front of the intact host: cut it off."""
    return {"version": 1, "anchor": "$a", "ops": [{"op": "cut", "at": 0, "length": image_size}]}


def _rule(rule_name: str, strings: str, condition: str) -> str:
    return (
        f"rule {rule_name}\n{{\n    strings:\n{strings}\n    condition:\n        {condition}\n}}\n"
    )


def _known(
    index: int,
    virus_name: str,
    rule: str,
    repair: dict[str, Any] | None,
    family: str,
    category: str,
) -> Signature:
    return Signature(
        id=f"B{index:06d}", virus_name=virus_name, kind="binary", rule=rule, repair=repair,
        added_in=BASELINE_SEQUENCE, family=family, category=category,
    )  # fmt: skip


def _family_rule(rule_name: str, mark: str) -> str:
    return _rule(
        rule_name, f"        $a = {{ {_mark_string(mark)} }}", "uint16(0) == 0x5A4D and $a"
    )


def known_signatures() -> list[Signature]:
    """The two known families (working repairs) and the over-broad heuristic that also matches
    the clean ``fp_bait`` program (so that sample misfires once a later set drops it)."""
    walker = (
        _hex(SIMVM_MAGIC)
        + " [8] "
        + _hex(bytes([0x20, 1, len(EXE_PATTERN), 0]) + EXE_PATTERN.encode())
    )
    oldie = _appender_recipe(OLDIE_CODE_LENGTH, "Sim.Oldie.A", "OldieKey.0000001")
    return [
        _known(2, "Sim.Oldie.A", _family_rule("Sim_Oldie_A", "Sim.Oldie.A"), oldie, "known_oldie", "virus"),
        _known(3, "Sim.Jolt.A", _family_rule("Sim_Jolt_A", "Sim.Jolt.A"),
               _prepender_recipe(JOLT_IMAGE_SIZE), "known_jolt", "virus"),
        _known(4, "Heur.SimVM.ExeWalker", _rule("Heur_SimVM_ExeWalker", f"        $a = {{ {walker} }}", "$a"),
               None, "heuristic", "heuristic"),
    ]  # fmt: skip


def baseline_signatures() -> list[Signature]:
    """EICAR (B000001) then the known entries (B000002, ...)."""
    return [eicar_signature(), *known_signatures()]


def build_baseline(key: SigningKey, produced: datetime) -> bytes:
    """Signed full package of the baseline: sequence 1, certified at ``produced``."""
    return build_full(
        BASELINE_SEQUENCE, baseline_signatures(), certified=True, produced=produced, key=key,
        published=produced, certified_at=produced,
    )  # fmt: skip

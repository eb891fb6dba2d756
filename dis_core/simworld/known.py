"""What the baseline definitions (sequence 1) already know, as signature dictionaries.

The definitions part turns each dictionary into a ``Signature``. The set covers the EICAR test
file, two "known" families with working repair recipes, and one over-broad heuristic that
also matches the clean ``fp_bait`` program (so that sample ends as a misfire once a later set
drops the heuristic).
"""

from __future__ import annotations

from typing import Any

from dis_core.simworld.binaries import dropper
from dis_core.simworld.bytecode import MAGIC
from dis_core.simworld.programs import EXE_PATTERN, program

HEADER_SAVED = 1024  # bytes of the original file an appender keeps in its record


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def _mark_string(mark: str, buffer: int = 15) -> str:
    """YARA hex string of the ``BSET b15, "<mark>"`` instruction a family starts with."""
    encoded = mark.encode()
    return _hex(bytes([0x20, buffer]) + len(encoded).to_bytes(2, "little") + encoded)


def _appender_recipe(name: str, mark: str, key: str) -> dict[str, Any]:
    """Anchor = the first instruction (code offset 0). The record follows the code:
    [original length][original entry point][header XOR key]; the key literal sits in the
    second instruction, 4 bytes after the first one ends."""
    code_length = len(program(name))
    key_offset = 4 + len(mark) + 4
    assert len(key) == 16
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


def _prepender_recipe(name: str) -> dict[str, Any]:
    """The virus image (a constant size) sits in front of the intact host: cut it off."""
    return {
        "version": 1,
        "anchor": "$a",
        "ops": [{"op": "cut", "at": 0, "length": len(dropper(program(name), seed=0))}],
    }


def _rule(rule_name: str, strings: str, condition: str) -> str:
    return (
        f"rule {rule_name}\n{{\n    strings:\n{strings}\n    condition:\n        {condition}\n}}\n"
    )


def baseline_signatures() -> list[dict[str, Any]]:
    """Signatures of the baseline set: virus_name, kind, rule, repair, family, category."""
    eicar_text = r"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    heuristic = (
        _hex(MAGIC) + " [8] " + _hex(bytes([0x20, 1, len(EXE_PATTERN), 0]) + EXE_PATTERN.encode())
    )
    return [
        {
            "virus_name": "EICAR-Test-File",
            "kind": "binary",
            "rule": _rule(
                "Sim_EICAR_Test_File", f'        $a = "{eicar_text}"', "$a at 0 and filesize <= 128"
            ),
            "repair": None,
            "family": "eicar",
            "category": "test",
        },
        {
            "virus_name": "Sim.Oldie.A",
            "kind": "binary",
            "rule": _rule(
                "Sim_Oldie_A",
                f"        $a = {{ {_mark_string('Sim.Oldie.A')} }}",
                "uint16(0) == 0x5A4D and $a",
            ),
            "repair": _appender_recipe("known_oldie", "Sim.Oldie.A", "OldieKey.0000001"),
            "family": "known_oldie",
            "category": "virus",
        },
        {
            "virus_name": "Sim.Jolt.A",
            "kind": "binary",
            "rule": _rule(
                "Sim_Jolt_A",
                f"        $a = {{ {_mark_string('Sim.Jolt.A')} }}",
                "uint16(0) == 0x5A4D and $a",
            ),
            "repair": _prepender_recipe("known_jolt"),
            "family": "known_jolt",
            "category": "virus",
        },
        {
            "virus_name": "Heur.SimVM.ExeWalker",
            "kind": "binary",
            "rule": _rule("Heur_SimVM_ExeWalker", f"        $a = {{ {heuristic} }}", "$a"),
            "repair": None,
            "family": "heuristic",
            "category": "heuristic",
        },
    ]

from __future__ import annotations

import pytest

from simworld.bytecode import (
    BY_CODE,
    MAGIC,
    AssemblyError,
    assemble,
    carrier_at,
    disassemble,
    pack_carrier,
)
from simworld.programs import PROGRAMS, program


def test_assembler_encodes_operands_and_labels() -> None:
    code = assemble(
        """
start:  MOVI r1, 0x10      ; comment with "quote"
        BSET b2, "a;b"
        JZ r1, start
        .bytes hex:c3 "x"
        .zero 2
"""
    )
    assert code[:6] == bytes([0x10, 1, 0x10, 0, 0, 0])
    assert code[6:12] == bytes([0x20, 2, 3, 0]) + b"a;"
    assert code[13:19] == bytes([0x03, 1, 0, 0, 0, 0])
    assert code[19:] == b"\xc3x\x00\x00"


def test_label_arithmetic() -> None:
    code = assemble("MOVI r1, b-a\na:\nNOP\nNOP\nb:\nHALT")
    assert code[2] == 2


@pytest.mark.parametrize(
    "source",
    [
        "FOO r1",
        "MOVI r1",
        "MOVI r16, 1",
        "JMP nowhere",
        "BSET b1, 12",
        "x:\nx:\nHALT",
        "HOOK 300, x\nx: HALT",
    ],
)
def test_assembler_rejects_bad_source(source: str) -> None:
    with pytest.raises(AssemblyError):
        assemble(source)


def test_every_family_program_disassembles_completely() -> None:
    for name in PROGRAMS:
        code = program(name)
        lines = disassemble(code)
        assert not any(
            ".bytes" in line for line in lines if not line.endswith("0000000000000000")
        ), name
        assert code[0] in BY_CODE


def test_programs_never_contain_the_magic() -> None:
    for name in PROGRAMS:
        assert MAGIC not in program(name), name


def test_carrier_roundtrip_and_damage_detection() -> None:
    code = program("appender_ep")
    data = b"junk" + pack_carrier(code) + b"tail"
    found = carrier_at(data, 4)
    assert found is not None and found.code == code and found.intact
    damaged = bytearray(data)
    damaged[30] ^= 1
    found = carrier_at(bytes(damaged), 4)
    assert found is not None and not found.intact
    assert carrier_at(data[:20], 4) is None


def test_the_documentation_examples_are_exact() -> None:
    from pathlib import Path

    from simworld.programs import appender

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulated-malware.md").read_text()
    listing = doc.split("complete example of an infecting")[1].split("```")[1]
    assert assemble(listing) == assemble(appender("Sim.Appender.A", "AppenderKey.0001"))
    carrier_line = next(line for line in doc.splitlines() if line.startswith("carrier "))
    stated = bytes.fromhex(carrier_line.split("→")[1].replace(" ", ""))
    assert stated == pack_carrier(assemble('BSET b1, "hi"\nOUT b1\nHALT'))
    for op in BY_CODE.values():  # every opcode has a row in the instruction tables
        assert f"| {op.code:02X} | {op.name} |" in doc, op.name

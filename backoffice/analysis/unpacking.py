"""Static unpacking of a self-decrypting SimVM program, to read what it hides.

An encrypted (polymorphic) program starts with a short constant decryptor: registers loaded
with immediates, then ``DECRYPT start, length, key, key_length`` over its own code. Reading
those immediates from the disassembly is enough to undo the XOR without running anything,
so the controller can read the trigger constants and the analyst the virus's own name.
"""

from __future__ import annotations

import re

from simworld.bytecode import disassemble

_MOVI = re.compile(r"^[0-9a-f]{4}: MOVI r(\d+), (\d+)$")
_DECRYPT = re.compile(r"^[0-9a-f]{4}: DECRYPT r(\d+), r(\d+), r(\d+), r(\d+)$")
HEAD_INSTRUCTIONS = 12


def unpacked(code: bytes | None) -> bytes | None:
    """The program with its self-decrypted part in the clear (unchanged when there is none)."""
    if not code:
        return code
    registers: dict[int, int] = {}
    for line in disassemble(code)[:HEAD_INSTRUCTIONS]:
        load = _MOVI.match(line)
        if load:
            registers[int(load.group(1))] = int(load.group(2))
            continue
        decrypt = _DECRYPT.match(line)
        if decrypt:
            start, length, key_at, key_length = (
                registers.get(int(r), -1) for r in decrypt.groups()
            )
            return _xor(code, start, length, key_at, key_length)
    return code


def _xor(code: bytes, start: int, length: int, key_at: int, key_length: int) -> bytes:
    if (
        min(start, length, key_at) < 0
        or key_length <= 0
        or start + length > len(code)
        or key_at + key_length > len(code)
    ):
        return code
    key = code[key_at : key_at + key_length]
    stream = (key * (length // key_length + 1))[:length]
    plain = bytes(a ^ b for a, b in zip(code[start : start + length], stream, strict=True))
    return code[:start] + plain + code[start + length :]

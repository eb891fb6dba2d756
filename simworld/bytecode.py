"""SimVM bytecode: the opcode table, the carrier that wraps a program, and a text assembler.

Encoding (see docs/simulated-malware.md): one opcode byte followed by its operands.
Operand kinds: ``r`` register r0..r15 (1 byte), ``b`` buffer b0..b15 (1 byte), ``k`` unsigned
byte, ``i`` unsigned 32-bit little-endian immediate, ``a`` 32-bit code address, ``s`` byte
string (16-bit little-endian length, then the bytes).

Carrier (how a program sits inside a file): ``MAGIC`` (8 bytes), code length (u32), CRC-32 of
the code (u32), then the code.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

MAGIC = b"SimVM\x1a\x01\x00"
CARRIER_HEADER = len(MAGIC) + 8
MAX_CODE = 65536
REGISTERS = 16
BUFFERS = 16


@dataclass(frozen=True)
class Op:
    code: int
    name: str
    operands: str  # one letter per operand, see module doc


OPS: tuple[Op, ...] = (
    Op(0x00, "HALT", ""),
    Op(0x01, "NOP", ""),
    Op(0x02, "JMP", "a"),
    Op(0x03, "JZ", "ra"),
    Op(0x04, "JNZ", "ra"),
    Op(0x05, "CALL", "a"),
    Op(0x06, "RET", ""),
    Op(0x10, "MOVI", "ri"),
    Op(0x11, "MOV", "rr"),
    Op(0x12, "ADD", "rrr"),
    Op(0x13, "SUB", "rrr"),
    Op(0x14, "LT", "rrr"),
    Op(0x15, "EQ", "rrr"),
    Op(0x16, "ADDI", "ri"),
    Op(0x17, "NOT", "rr"),
    Op(0x18, "AND", "rrr"),
    Op(0x19, "MOD", "rrr"),
    Op(0x20, "BSET", "bs"),
    Op(0x21, "BLEN", "rb"),
    Op(0x22, "BCAT", "bb"),
    Op(0x23, "BSLICE", "bbrr"),
    Op(0x24, "BSELF", "b"),
    Op(0x25, "BFILE", "b"),
    Op(0x26, "BCODE", "b"),
    Op(0x27, "BGET32", "rbr"),
    Op(0x28, "BPUT32", "brr"),
    Op(0x29, "BXOR", "bb"),
    Op(0x2A, "BZERO", "br"),
    Op(0x2B, "BHAS", "rbb"),
    Op(0x2C, "BPOKE", "brb"),
    Op(0x2D, "PACK", "bb"),
    Op(0x2E, "BMOV", "bb"),
    Op(0x30, "FIND", "brr"),
    Op(0x31, "NEXT", "br"),
    Op(0x32, "READ", "bb"),
    Op(0x33, "WRITE", "bb"),
    Op(0x34, "APPEND", "bb"),
    Op(0x35, "PREPEND", "bb"),
    Op(0x36, "FSIZE", "rb"),
    Op(0x37, "NAMEHAS", "rbb"),
    Op(0x40, "PEVALID", "rb"),
    Op(0x41, "PEGETEP", "rb"),
    Op(0x42, "PESETEP", "br"),
    Op(0x43, "PEADDSECT", "bbbr"),
    Op(0x44, "PEEXTEND", "bbr"),
    Op(0x45, "PECAVE", "rbr"),
    Op(0x46, "PEOFF2RVA", "rbr"),
    Op(0x47, "PEEND", "rb"),
    Op(0x50, "DECRYPT", "rrrr"),
    Op(0x51, "NEWKEY", "bk"),
    Op(0x60, "DATE", "r"),
    Op(0x61, "TIME", "r"),
    Op(0x62, "WEEKDAY", "r"),
    Op(0x70, "HOOK", "ka"),
    Op(0x71, "SELFPATH", "b"),
    Op(0x80, "MAIL", "bb"),
    Op(0x81, "DROP", "bb"),
    Op(0x82, "OUT", "b"),
)
BY_CODE = {op.code: op for op in OPS}
BY_NAME = {op.name: op for op in OPS}
OPERAND_SIZE = {"r": 1, "b": 1, "k": 1, "i": 4, "a": 4}

# HOOK event mask bits
EVENT_BITS = {"execute": 1, "open": 2, "close": 4, "save": 8, "new": 16}


class AssemblyError(ValueError):
    """The assembly text is wrong; the message names the line."""


# ----------------------------------------------------------------------------- carrier


def pack_carrier(code: bytes) -> bytes:
    if len(code) > MAX_CODE:
        raise ValueError("program too long")
    return MAGIC + struct.pack("<II", len(code), zlib.crc32(code)) + code


@dataclass(frozen=True)
class Carrier:
    offset: int  # file offset of MAGIC
    code: bytes
    checksum: int  # as stored

    @property
    def intact(self) -> bool:
        return zlib.crc32(self.code) == self.checksum

    @property
    def end(self) -> int:
        return self.offset + CARRIER_HEADER + len(self.code)


def carrier_at(data: bytes | bytearray, offset: int) -> Carrier | None:
    """The carrier starting at ``offset``, when the magic is there and the length fits."""
    if data[offset : offset + len(MAGIC)] != MAGIC or offset + CARRIER_HEADER > len(data):
        return None
    length, checksum = struct.unpack_from("<II", data, offset + len(MAGIC))
    start = offset + CARRIER_HEADER
    if length == 0 or length > MAX_CODE or start + length > len(data):
        return None
    return Carrier(offset, bytes(data[start : start + length]), checksum)


# ----------------------------------------------------------------------------- assembler

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|hex:[0-9A-Fa-f]*|[^,\s]+')


def assemble(source: str) -> bytes:
    """Assemble SimVM text (``LABEL:``, ``OP a, b``, ``.bytes``, ``.zero``; ``;`` comments)."""
    lines = [_split(line, number) for number, line in enumerate(source.splitlines(), 1)]
    labels = _labels(lines)
    code = bytearray()
    for number, _label, name, args in lines:
        if name:
            code += _encode(name, args, labels, number)
    return bytes(code)


def _split(line: str, number: int) -> tuple[int, str | None, str | None, list[str]]:
    text = _strip_comment(line).strip()
    label = None
    match = re.match(r"^([A-Za-z_][\w]*):", text)
    if match:
        label, text = match.group(1), text[match.end() :].strip()
    if not text:
        return number, label, None, []
    name, _, rest = text.partition(" ")
    return number, label, name.upper(), _TOKEN.findall(rest)


def _strip_comment(line: str) -> str:
    quoted = False
    for index, char in enumerate(line):
        if char == '"' and (index == 0 or line[index - 1] != "\\"):
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[:index]
    return line


def _labels(lines: list[tuple[int, str | None, str | None, list[str]]]) -> dict[str, int]:
    labels: dict[str, int] = {}
    address = 0
    for number, label, name, args in lines:
        if label:
            if label in labels:
                raise AssemblyError(f"line {number}: label {label} defined twice")
            labels[label] = address
        if name:
            address += len(_encode(name, args, None, number))
    return labels


def _encode(name: str, args: list[str], labels: dict[str, int] | None, number: int) -> bytes:
    if name == ".BYTES":
        return b"".join(_literal(arg, number) for arg in args)
    if name == ".ZERO":
        return bytes(_number(args[0], None, number)) if args else b""
    op = BY_NAME.get(name)
    if op is None:
        raise AssemblyError(f"line {number}: unknown instruction {name}")
    if len(args) != len(op.operands):
        raise AssemblyError(f"line {number}: {name} takes {len(op.operands)} operands")
    out = bytearray([op.code])
    for kind, arg in zip(op.operands, args, strict=True):
        out += _operand(kind, arg, labels, number)
    return bytes(out)


def _operand(kind: str, arg: str, labels: dict[str, int] | None, number: int) -> bytes:
    if kind in "rb":
        if not re.fullmatch(rf"{kind}\d+", arg.lower()) or int(arg[1:]) >= 16:
            raise AssemblyError(f"line {number}: expected {kind}0..{kind}15, got {arg}")
        return bytes([int(arg[1:])])
    if kind == "s":
        data = _literal(arg, number)
        return struct.pack("<H", len(data)) + data
    value = _number(arg, labels, number)
    if kind == "k":
        if not 0 <= value <= 255:
            raise AssemblyError(f"line {number}: byte operand out of range")
        return bytes([value])
    return struct.pack("<I", value & 0xFFFFFFFF)


def _number(arg: str, labels: dict[str, int] | None, number: int) -> int:
    """An integer, a label, or ``a-b`` / ``a+b`` of those (labels resolve in pass 2)."""
    total = 0
    for sign, term in re.findall(r"([+-]?)([^+-]+)", arg):
        if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", term):
            value = int(term, 0)
        elif labels is None:
            value = 0
        elif term in labels:
            value = labels[term]
        else:
            raise AssemblyError(f"line {number}: unknown label {term}")
        total += -value if sign == "-" else value
    return total


def _literal(arg: str, number: int) -> bytes:
    if arg.startswith("hex:"):
        return bytes.fromhex(arg[4:])
    if len(arg) >= 2 and arg[0] == arg[-1] == '"':
        return arg[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1")
    raise AssemblyError(f'line {number}: expected a "string" or hex:.. literal, got {arg}')


def disassemble(code: bytes) -> list[str]:
    """One line per instruction (``addr: OP operands``); stops at the first unknown opcode."""
    lines = []
    pc = 0
    while pc < len(code):
        op = BY_CODE.get(code[pc])
        if op is None:
            lines.append(f"{pc:04x}: .bytes hex:{code[pc:].hex()}")
            break
        text, size = _render(op, code, pc + 1)
        lines.append(f"{pc:04x}: {op.name} {text}".rstrip())
        pc += 1 + size
    return lines


def _render(op: Op, code: bytes, at: int) -> tuple[str, int]:
    parts = []
    start = at
    for kind in op.operands:
        if kind == "s":
            length = int.from_bytes(code[at : at + 2], "little")
            parts.append("hex:" + code[at + 2 : at + 2 + length].hex())
            at += 2 + length
        else:
            size = OPERAND_SIZE[kind]
            value = int.from_bytes(code[at : at + size], "little")
            parts.append(f"{kind}{value}" if kind in "rb" else str(value))
            at += size
    return ", ".join(parts), at - start

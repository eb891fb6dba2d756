"""Minimal PE32 / PE32+ images: building goats and samples, and the few edits viruses make.

Every image made here has the same shape: a 0x400-byte header area (DOS header, PE
signature, COFF header, optional header with 16 empty data directories, section table),
file alignment 0x200, section alignment 0x1000 and no imports. The entry point is always a
single ``0xC3`` (``ret``): on a real CPU the program returns at once; whatever follows is
data that only the SimVM interpreter reads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RET = 0xC3
HEADER_SIZE = 0x400
FILE_ALIGN = 0x200
SECTION_ALIGN = 0x1000
PE_OFFSET = 0x80

SCN_CODE = 0x00000020
SCN_INITIALIZED_DATA = 0x00000040
SCN_EXECUTE = 0x20000000
SCN_READ = 0x40000000
SCN_WRITE = 0x80000000

TEXT_FLAGS = SCN_CODE | SCN_EXECUTE | SCN_READ
RDATA_FLAGS = SCN_INITIALIZED_DATA | SCN_READ
DATA_FLAGS = SCN_INITIALIZED_DATA | SCN_READ | SCN_WRITE

_SECTION_HEADER = struct.Struct("<8sIIIIIIHHI")


class PEError(ValueError):
    """The bytes are not a PE image this module can edit."""


def align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class SectionSpec:
    name: str
    data: bytes
    flags: int
    virtual_size: int | None = None  # defaults to len(data)


@dataclass
class Section:
    """One section header as read from an image (offset = where the header sits)."""

    header_offset: int
    name: bytes
    virtual_size: int
    virtual_address: int
    raw_size: int
    raw_pointer: int
    flags: int


def build_image(sections: list[SectionSpec], *, bits: int, entry_rva: int, timestamp: int) -> bytes:
    """Lay out headers and sections into a complete image."""
    if bits not in (32, 64):
        raise PEError("bits must be 32 or 64")
    table = bytearray()
    body = bytearray()
    rva = SECTION_ALIGN
    raw = HEADER_SIZE
    sizes = {"code": 0, "idata": 0}
    for spec in sections:
        raw_size = align(len(spec.data), FILE_ALIGN)
        vsize = spec.virtual_size if spec.virtual_size is not None else len(spec.data)
        name = spec.name.encode("ascii")[:8].ljust(8, b"\0")
        table += _SECTION_HEADER.pack(name, vsize, rva, raw_size, raw, 0, 0, 0, 0, spec.flags)
        body += spec.data.ljust(raw_size, b"\0")
        sizes["code" if spec.flags & SCN_CODE else "idata"] += raw_size
        raw += raw_size
        rva += align(max(vsize, 1), SECTION_ALIGN)
    headers = _headers(len(sections), bits, entry_rva, rva, sizes, timestamp)
    headers += table
    if len(headers) > HEADER_SIZE:
        raise PEError("too many sections for the header area")
    return bytes(headers.ljust(HEADER_SIZE, b"\0") + body)


def _headers(
    count: int, bits: int, entry_rva: int, image_size: int, sizes: dict[str, int], timestamp: int
) -> bytearray:
    dos = bytearray(PE_OFFSET)
    dos[0:2] = b"MZ"
    struct.pack_into("<HHHHHH", dos, 2, 0x90, 3, 0, 4, 0, 0xFFFF)
    struct.pack_into("<H", dos, 0x10, 0xB8)
    struct.pack_into("<H", dos, 0x18, 0x40)
    struct.pack_into("<I", dos, 0x3C, PE_OFFSET)
    dos[0x40:0x45] = bytes([0xB8, 0x01, 0x4C, 0xCD, 0x21])  # DOS stub: exit(1)
    machine, opt_size, chars = (0x14C, 0xE0, 0x0102) if bits == 32 else (0x8664, 0xF0, 0x0022)
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", machine, count, timestamp, 0, 0, opt_size, chars)
    return dos + coff + _optional_header(bits, entry_rva, image_size, sizes)


def _optional_header(bits: int, entry_rva: int, image_size: int, sizes: dict[str, int]) -> bytes:
    head = struct.pack(
        "<HBBIIIII",
        0x10B if bits == 32 else 0x20B,
        14,
        0,
        sizes["code"],
        sizes["idata"],
        0,
        entry_rva,
        SECTION_ALIGN,
    )
    if bits == 32:
        head += struct.pack("<II", SECTION_ALIGN, 0x400000)
    else:
        head += struct.pack("<Q", 0x140000000)
    head += struct.pack(
        "<IIHHHHHHIIIIHH",
        SECTION_ALIGN,
        FILE_ALIGN,
        6,
        0,
        0,
        0,
        6,
        0,
        0,
        image_size,
        HEADER_SIZE,
        0,
        3,
        0x8100,
    )
    stack = (
        struct.pack("<IIII", 0x100000, 0x1000, 0x100000, 0x1000)
        if bits == 32
        else struct.pack("<QQQQ", 0x100000, 0x1000, 0x100000, 0x1000)
    )
    return head + stack + struct.pack("<II", 0, 16) + bytes(16 * 8)


# ----------------------------------------------------------------------------- reading


def is_pe(data: bytes | bytearray) -> bool:
    try:
        _layout(data)
    except PEError:
        return False
    return True


def _layout(data: bytes | bytearray) -> tuple[int, int, int]:
    """(offset of the optional header, number of sections, offset of the section table)."""
    if len(data) < 0x40 or data[:2] != b"MZ":
        raise PEError("no MZ header")
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if pe + 24 > len(data) or data[pe : pe + 4] != b"PE\0\0":
        raise PEError("no PE signature")
    count, opt_size = struct.unpack_from("<H12xH", data, pe + 6)
    magic = struct.unpack_from("<H", data, pe + 24)[0] if pe + 26 <= len(data) else 0
    if magic not in (0x10B, 0x20B):
        raise PEError("unknown optional header magic")
    table = pe + 24 + opt_size
    if table + count * _SECTION_HEADER.size > len(data):
        raise PEError("section table beyond the end of the file")
    return pe + 24, count, table


def sections(data: bytes | bytearray) -> list[Section]:
    _, count, table = _layout(data)
    found = []
    for index in range(count):
        offset = table + index * _SECTION_HEADER.size
        name, vsize, va, rsize, rptr, _a, _b, _c, _d, flags = _SECTION_HEADER.unpack_from(
            data, offset
        )
        found.append(Section(offset, name, vsize, va, rsize, rptr, flags))
    return found


def entry_point(data: bytes | bytearray) -> int:
    opt, _, _ = _layout(data)
    return int(struct.unpack_from("<I", data, opt + 16)[0])


def entry_point_field(data: bytes | bytearray) -> int:
    """File offset of AddressOfEntryPoint (what a repair recipe writes back)."""
    opt, _, _ = _layout(data)
    return opt + 16


def rva_to_offset(data: bytes | bytearray, rva: int) -> int | None:
    for section in sections(data):
        if (
            section.virtual_address
            <= rva
            < section.virtual_address + max(section.virtual_size, section.raw_size)
        ):
            delta = rva - section.virtual_address
            return section.raw_pointer + delta if delta < section.raw_size else None
    return None


def offset_to_rva(data: bytes | bytearray, offset: int) -> int | None:
    for section in sections(data):
        if section.raw_pointer <= offset < section.raw_pointer + section.raw_size:
            return section.virtual_address + offset - section.raw_pointer
    return None


def image_end(data: bytes | bytearray) -> int:
    """End of the last section's raw data: where an overlay (appended data) would start."""
    ends = [s.raw_pointer + s.raw_size for s in sections(data)]
    return max(ends, default=HEADER_SIZE)


def entry_offset(data: bytes | bytearray) -> int | None:
    try:
        return rva_to_offset(data, entry_point(data))
    except PEError:
        return None


# ----------------------------------------------------------------------------- editing


def set_entry_point(image: bytearray, rva: int) -> None:
    struct.pack_into("<I", image, entry_point_field(image), rva)


def _set_image_size(image: bytearray) -> None:
    opt, _, _ = _layout(image)
    last = max(sections(image), key=lambda s: s.virtual_address)
    size = align(last.virtual_address + max(last.virtual_size, 1), SECTION_ALIGN)
    struct.pack_into("<I", image, opt + 56, size)


def extend_last_section(image: bytearray, payload: bytes) -> int:
    """Append ``payload`` to the last section (made readable + executable); returns its RVA."""
    last = max(sections(image), key=lambda s: s.raw_pointer)
    if last.raw_pointer + last.raw_size != len(image):
        raise PEError("data after the last section: cannot extend it")
    rva = last.virtual_address + last.raw_size
    new_raw = align(last.raw_size + len(payload), FILE_ALIGN)
    image += payload.ljust(new_raw - last.raw_size, b"\0")
    flags = (last.flags | SCN_EXECUTE | SCN_READ | SCN_CODE) & ~SCN_WRITE
    struct.pack_into(
        "<II", image, last.header_offset + 8, last.raw_size + len(payload), last.virtual_address
    )
    struct.pack_into("<I", image, last.header_offset + 16, new_raw)
    struct.pack_into("<I", image, last.header_offset + 36, flags)
    _set_image_size(image)
    return rva


def add_section(image: bytearray, name: bytes, payload: bytes) -> int:
    """Append a new readable + executable section holding ``payload``; returns its RVA."""
    opt, count, table = _layout(image)
    entry_at = table + count * _SECTION_HEADER.size
    if entry_at + _SECTION_HEADER.size > HEADER_SIZE or any(image[entry_at : entry_at + 40]):
        raise PEError("no room for another section header")
    if image_end(image) != len(image):
        raise PEError("data after the last section: cannot add one")
    last = max(sections(image), key=lambda s: s.virtual_address)
    rva = align(last.virtual_address + max(last.virtual_size, 1), SECTION_ALIGN)
    raw_size = align(len(payload), FILE_ALIGN)
    header = _SECTION_HEADER.pack(
        name[:8].ljust(8, b"\0"), len(payload), rva, raw_size, len(image), 0, 0, 0, 0, TEXT_FLAGS
    )
    image[entry_at : entry_at + 40] = header
    struct.pack_into("<H", image, opt - 18, count + 1)
    image += payload.ljust(raw_size, b"\0")
    _set_image_size(image)
    return rva


def find_cavity(image: bytes | bytearray, need: int) -> int:
    """File offset of a run of >= ``need`` zero bytes at the end of an executable section's
    mapped raw data (16-byte aligned), or 0 when no section has one."""
    for section in sections(image):
        if not section.flags & SCN_EXECUTE:
            continue
        end = section.raw_pointer + min(section.raw_size, section.virtual_size)
        start = end
        while start > section.raw_pointer and image[start - 1] == 0:
            start -= 1
        start = align(start + 1, 16)  # keep one zero after the section's own bytes
        if end - start >= need:
            return start
    return 0

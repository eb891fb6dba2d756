"""A small writer for compound files (MS-CFB version 3, 512-byte sectors), written for this project.

Enough for VBA projects and OLE documents: storages and streams given as slash paths,
streams under 4096 bytes in the mini stream, a FAT of up to 109 sectors (files up to about
7 MB), directory trees as balanced red-black trees, all timestamps zero (deterministic).
Reading is left to ``olefile``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")


class CFBError(ValueError):
    """The content cannot be written as a compound file."""


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    index: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    red: bool = False
    start: int = ENDOFCHAIN
    clsid: bytes = bytes(16)


def write_cfb(streams: dict[str, bytes], *, root_clsid: bytes = bytes(16)) -> bytes:
    """Build a compound file from ``{"Storage/Sub/Stream": bytes}``."""
    root = _tree(streams)
    root.clsid = root_clsid
    entries = _number(root)
    for entry in entries:
        _link_children(entry)
    mini, minifat = _mini_stream(entries)
    return _assemble(entries, root, mini, minifat)


def _tree(streams: dict[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", 5)
    for path, data in streams.items():
        parts = [p for p in path.split("/") if p]
        node = root
        for name in parts[:-1]:
            node = _child(node, name, 1)
        leaf = _child(node, parts[-1], 2)
        leaf.data = bytes(data)
    return root


def _child(node: _Entry, name: str, kind: int) -> _Entry:
    if len(name) > 31:
        raise CFBError(f"name too long for a compound file: {name}")
    for child in node.children:
        if child.name.upper() == name.upper():
            if child.kind != kind:
                raise CFBError(f"{name} is both a storage and a stream")
            return child
    entry = _Entry(name, kind)
    node.children.append(entry)
    return entry


def _number(root: _Entry) -> list[_Entry]:
    """Breadth-first numbering: root is 0."""
    order = [root]
    for entry in order:
        order.extend(sorted(entry.children, key=_sort_key))
    for index, entry in enumerate(order):
        entry.index = index
    return order


def _sort_key(entry: _Entry) -> tuple[int, str]:
    # MS-CFB: shorter names first, then case-insensitive comparison
    return len(entry.name), entry.name.upper()


def _link_children(parent: _Entry) -> None:
    ordered = sorted(parent.children, key=_sort_key)
    if not ordered:
        return
    count = len(ordered)
    perfect = count & (count + 1) == 0
    parent.child = _balanced(ordered, 1, -1 if perfect else count.bit_length())


def _balanced(items: list[_Entry], level: int, red_level: int) -> int:
    """Root index of a balanced tree; the nodes on the last level of an imperfect tree are
    red, so every path has the same number of black nodes (a valid red-black tree)."""
    if not items:
        return NOSTREAM
    middle = len(items) // 2
    node = items[middle]
    node.left = _balanced(items[:middle], level + 1, red_level)
    node.right = _balanced(items[middle + 1 :], level + 1, red_level)
    node.red = level == red_level
    return node.index


def _mini_stream(entries: list[_Entry]) -> tuple[bytes, list[int]]:
    mini = bytearray()
    fat: list[int] = []
    for entry in entries:
        if entry.kind == 2 and 0 < len(entry.data) < MINI_CUTOFF:
            first = len(mini) // MINI_SECTOR
            count = (len(entry.data) + MINI_SECTOR - 1) // MINI_SECTOR
            entry.start = first
            fat.extend(range(first + 1, first + count))
            fat.append(ENDOFCHAIN)
            mini += entry.data.ljust(count * MINI_SECTOR, b"\0")
    return bytes(mini), fat


def _sectors(size: int) -> int:
    return (size + SECTOR - 1) // SECTOR


def _assemble(entries: list[_Entry], root: _Entry, mini: bytes, minifat: list[int]) -> bytes:
    body = bytearray()
    fat: list[int] = []

    def place(data: bytes) -> int:
        if not data:
            return ENDOFCHAIN
        first = len(fat)
        count = _sectors(len(data))
        fat.extend(range(first + 1, first + count))
        fat.append(ENDOFCHAIN)
        body.extend(data.ljust(count * SECTOR, b"\0"))
        return first

    for entry in entries:
        if entry.kind == 2 and len(entry.data) >= MINI_CUTOFF:
            entry.start = place(entry.data)
    root.start = place(mini)
    root.data = mini
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    minifat_bytes += struct.pack("<I", FREESECT) * ((-len(minifat)) % (SECTOR // 4))
    minifat_start = place(minifat_bytes) if minifat else ENDOFCHAIN
    directory_start = place(_directory(entries))
    fat_count = _fat_sector_count(len(fat))
    if fat_count > 109:
        raise CFBError("compound file too large for a header-only DIFAT")
    fat_sectors = list(range(len(fat), len(fat) + fat_count))
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREESECT] * (fat_count * SECTOR // 4 - len(fat)))
    body.extend(b"".join(struct.pack("<I", v) for v in fat))
    header = _header(
        fat_sectors, directory_start, minifat_start, len(minifat_bytes) // SECTOR if minifat else 0
    )
    return bytes(header + body)


def _fat_sector_count(used: int) -> int:
    count = 1
    while count * (SECTOR // 4) < used + count:
        count += 1
    return count


def _directory(entries: list[_Entry]) -> bytes:
    out = bytearray()
    for entry in entries:
        out += _dir_entry(entry)
    while len(out) % SECTOR:
        out += _unused_entry()
    return bytes(out)


def _dir_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\0\0"
    size = len(entry.data) if entry.kind != 1 else 0
    start = 0 if entry.kind == 1 else entry.start if size else ENDOFCHAIN
    return (
        name.ljust(64, b"\0")
        + struct.pack(
            "<HBBIII",
            len(name),
            entry.kind,
            0 if entry.red else 1,
            entry.left,
            entry.right,
            entry.child,
        )
        + entry.clsid
        + struct.pack("<IQQIQ", 0, 0, 0, start, size)
    )


def _unused_entry() -> bytes:
    return (
        bytes(64)
        + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM)
        + bytes(16)
        + struct.pack("<IQQIQ", 0, 0, 0, 0, 0)
    )


def _header(
    fat_sectors: list[int], directory_start: int, minifat_start: int, minifat_count: int
) -> bytes:
    head = SIGNATURE + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
    head += struct.pack(
        "<IIIIIIIII",
        0,
        len(fat_sectors),
        directory_start,
        0,
        MINI_CUTOFF,
        minifat_start,
        minifat_count,
        ENDOFCHAIN,
        0,
    )
    difat = fat_sectors + [FREESECT] * (109 - len(fat_sectors))
    head += b"".join(struct.pack("<I", v) for v in difat)
    assert len(head) == SECTOR
    return head

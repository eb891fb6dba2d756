"""The package container: a magic line and a fixed sequence of tagged, length-prefixed members.

There is no slack anywhere (no padding, no optional fields, no trailing bytes), so any
changed byte either breaks the framing or changes a member whose checksum is signed.
"""

from __future__ import annotations

from dis_core.definitions.errors import unpackage

MAGIC = b"DISDEF1\n"
MAX_PACKAGE_BYTES = 256 * 2**20
FULL_TAGS = (b"MANI", b"SIGN", b"HEAD", b"BODY")
INCREMENTAL_TAGS = (b"MANI", b"TMAN", b"TSIG", b"THED", b"DIFF")


def pack(members: list[tuple[bytes, bytes]]) -> bytes:
    parts = [MAGIC]
    for tag, data in members:
        parts += [tag, len(data).to_bytes(4, "big"), data]
    return b"".join(parts)


def unpack(data: bytes) -> dict[bytes, bytes]:
    """Split a package into its members; DefinitionError(unpackage) unless exactly well-formed."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise unpackage("package is not bytes")
    data = bytes(data)
    if len(data) > MAX_PACKAGE_BYTES:
        raise unpackage(f"package larger than {MAX_PACKAGE_BYTES} bytes")
    if not data.startswith(MAGIC):
        raise unpackage("not a definition package (bad magic)")
    members = _split(data, len(MAGIC))
    tags = tuple(tag for tag, _ in members)
    if tags not in (FULL_TAGS, INCREMENTAL_TAGS):
        raise unpackage("package members are missing, unknown or out of order")
    return dict(members)


def _split(data: bytes, position: int) -> list[tuple[bytes, bytes]]:
    members: list[tuple[bytes, bytes]] = []
    while position < len(data):
        if len(members) >= len(INCREMENTAL_TAGS) or position + 8 > len(data):
            raise unpackage("package framing is broken")
        tag = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "big")
        position += 8
        if position + length > len(data):
            raise unpackage("package is truncated")
        members.append((tag, data[position : position + length]))
        position += length
    return members


def is_full(members: dict[bytes, bytes]) -> bool:
    return b"SIGN" in members

"""VBA projects (MS-OVBA): the compression, the ``dir`` stream and the project streams.

Written for this project from the MS-OVBA specification. A project holds only source code
(``MODULEOFFSET`` 0, no compiled p-code, ``_VBA_PROJECT`` version 0xFFFF so Office would
recompile), which is all olevba and the simulated Office need.
"""

from __future__ import annotations

import random
import struct
from collections import defaultdict

CHUNK = 4096
DOCUMENT_MODULES = ("ThisDocument", "ThisWorkbook")


class OVBAError(ValueError):
    """Compressed data or a project stream that does not follow MS-OVBA."""


# ----------------------------------------------------------------------------- compression


def _copy_token_split(position: int) -> tuple[int, int]:
    """(bits for the length, maximum length) at ``position`` bytes into the chunk."""
    bit_count = max(4, (position - 1).bit_length()) if position > 1 else 4
    length_bits = 16 - bit_count
    return length_bits, (1 << length_bits) - 1 + 3


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compressed container (greedy matching with a hash chain per chunk)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _compress_chunk(data[start : start + CHUNK])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    tokens = bytearray()
    position = 0
    seen: defaultdict[bytes, list[int]] = defaultdict(list)
    while position < len(chunk):
        flags = 0
        group = bytearray()
        for bit in range(8):
            if position >= len(chunk):
                break
            offset, length = _longest_match(chunk, position, seen)
            if length >= 3:
                length_bits, _ = _copy_token_split(position)
                token = ((offset - 1) << length_bits) | (length - 3)
                group += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                length = 1
                group.append(chunk[position])
            for index in range(position, position + length):
                seen[chunk[index : index + 3]].append(index)
            position += length
        tokens.append(flags)
        tokens += group
    if len(tokens) > CHUNK:
        if len(chunk) != CHUNK:
            raise OVBAError("an incompressible final chunk cannot be stored")
        return struct.pack("<H", 0x3000 | (CHUNK - 1)) + chunk  # raw chunk
    return struct.pack("<H", 0xB000 | (len(tokens) - 1)) + tokens


def _longest_match(
    chunk: bytes, position: int, seen: defaultdict[bytes, list[int]]
) -> tuple[int, int]:
    _, max_length = _copy_token_split(position)
    limit = min(max_length, len(chunk) - position)
    best_offset, best_length = 0, 0
    for candidate in reversed(seen.get(chunk[position : position + 3], [])[-32:]):
        length = 0
        while length < limit and chunk[candidate + length] == chunk[position + length]:
            length += 1
        if length > best_length:
            best_offset, best_length = position - candidate, length
            if length == limit:
                break
    return best_offset, best_length


def decompress(data: bytes) -> bytes:
    """Inverse of :func:`compress` for any valid MS-OVBA container."""
    if not data or data[0] != 1:
        raise OVBAError("compressed container must start with 0x01")
    out = bytearray()
    at = 1
    while at < len(data):
        if at + 2 > len(data):
            raise OVBAError("truncated chunk header")
        header = struct.unpack_from("<H", data, at)[0]
        size = (header & 0x0FFF) + 3
        end = min(at + size, len(data))
        if header & 0x8000:
            out += _decompress_chunk(data[at + 2 : end])
        else:
            out += data[at + 2 : at + 2 + CHUNK]
        at = end
    return bytes(out)


def _decompress_chunk(tokens: bytes) -> bytes:
    chunk = bytearray()
    at = 0
    while at < len(tokens):
        flags = tokens[at]
        at += 1
        for bit in range(8):
            if at >= len(tokens):
                break
            if not flags & (1 << bit):
                chunk.append(tokens[at])
                at += 1
                continue
            token = struct.unpack_from("<H", tokens, at)[0]
            at += 2
            length_bits, _ = _copy_token_split(len(chunk))
            offset = (token >> length_bits) + 1
            length = (token & ((1 << length_bits) - 1)) + 3
            if offset > len(chunk):
                raise OVBAError("copy token points before the chunk")
            for _ in range(length):
                chunk.append(chunk[-offset])
    return bytes(chunk)


# ----------------------------------------------------------------------------- project


def module_text(name: str, source: str) -> bytes:
    """Source as stored in a module stream: attribute lines, then the code, CRLF line ends."""
    attributes = [f'Attribute VB_Name = "{name}"']
    if name in DOCUMENT_MODULES:
        base = (
            "0{00020906-0000-0000-C000-000000000046}"
            if name == "ThisDocument"
            else "0{00020819-0000-0000-C000-000000000046}"
        )
        attributes += [
            f'Attribute VB_Base = "{base}"',
            "Attribute VB_GlobalNameSpace = False",
            "Attribute VB_Creatable = False",
            "Attribute VB_PredeclaredId = True",
            "Attribute VB_Exposed = True",
            "Attribute VB_TemplateDerived = False",
            "Attribute VB_Customizable = True",
        ]
    lines = attributes + source.replace("\r\n", "\n").split("\n")
    return "\r\n".join(lines).rstrip("\r\n").encode("cp1252", errors="replace") + b"\r\n"


def source_of(stored: bytes) -> str:
    """The code of a module stream's text without its ``Attribute VB_`` lines, LF line ends."""
    text = stored.decode("cp1252", errors="replace").replace("\r\n", "\n")
    lines = [line for line in text.split("\n") if not line.startswith("Attribute VB_")]
    return "\n".join(lines).rstrip("\n") + "\n" if any(lines) else ""


def _record(ident: int, data: bytes) -> bytes:
    return struct.pack("<HI", ident, len(data)) + data


def _unicode_pair(ident: int, reserved: int, text: str) -> bytes:
    return _record(ident, text.encode("cp1252")) + _record(reserved, text.encode("utf-16-le"))


def dir_stream(modules: list[tuple[str, str]], project_name: str = "VBAProject") -> bytes:
    """The uncompressed ``dir`` stream: project information, no references, the modules."""
    info = _record(0x0001, struct.pack("<I", 1))  # SYSKIND win32
    info += _record(0x0002, struct.pack("<I", 0x409)) + _record(0x0014, struct.pack("<I", 0x409))
    info += _record(0x0003, struct.pack("<H", 1252)) + _record(0x0004, project_name.encode())
    info += _unicode_pair(0x0005, 0x0040, "") + _record(0x0006, b"") + _record(0x003D, b"")
    info += _record(0x0007, struct.pack("<I", 0)) + _record(0x0008, struct.pack("<I", 0))
    info += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION 1.0
    info += _unicode_pair(0x000C, 0x003C, "")
    body = _record(0x000F, struct.pack("<H", len(modules))) + _record(
        0x0013, struct.pack("<H", 0xFFFF)
    )
    for name, _source in modules:
        body += _module_record(name)
    return info + body + struct.pack("<HI", 0x0010, 0)


def _module_record(name: str) -> bytes:
    record = _record(0x0019, name.encode("cp1252")) + _record(0x0047, name.encode("utf-16-le"))
    record += _unicode_pair(0x001A, 0x0032, name)  # stream name = module name
    record += _unicode_pair(0x001C, 0x0048, "")
    record += _record(0x0031, struct.pack("<I", 0))  # source starts at offset 0
    record += _record(0x001E, struct.pack("<I", 0)) + _record(0x002C, struct.pack("<H", 0xFFFF))
    record += struct.pack("<HI", 0x0022 if name in DOCUMENT_MODULES else 0x0021, 0)
    return record + struct.pack("<HI", 0x002B, 0)


def project_stream(modules: list[tuple[str, str]], project_id: str) -> bytes:
    lines = [f'ID="{project_id}"']
    for name, _source in modules:
        lines.append(
            f"Document={name}/&H00000000" if name in DOCUMENT_MODULES else f"Module={name}"
        )
    lines += [
        'Name="VBAProject"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    lines += [f"{name}=0, 0, 0, 0, C" for name, _source in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def project_wm(modules: list[tuple[str, str]]) -> bytes:
    out = b""
    for name, _source in modules:
        out += name.encode("cp1252") + b"\0" + name.encode("utf-16-le") + b"\0\0"
    return out + b"\0\0"


def project_id(seed: int) -> str:
    rng = random.Random(f"vba-project:{seed}")
    digits = f"{rng.getrandbits(128):032X}"
    return "{" + f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}" + "}"


def project_streams(
    modules: list[tuple[str, str]], seed: int, prefix: str = ""
) -> dict[str, bytes]:
    """Every stream of a VBA project, keyed by path (``prefix`` e.g. ``"Macros/"`` in a .doc)."""
    streams = {
        f"{prefix}PROJECT": project_stream(modules, project_id(seed)),
        f"{prefix}PROJECTwm": project_wm(modules),
        f"{prefix}VBA/_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 0),
        f"{prefix}VBA/dir": compress(dir_stream(modules)),
    }
    for name, source in modules:
        streams[f"{prefix}VBA/{name}"] = compress(module_text(name, source))
    return streams

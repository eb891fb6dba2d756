"""Strip user data from a sample before it leaves the site (Sample Policy).

Only document metadata is removed: author, company, titles and similar properties. The code
that analysis needs (VBA projects, program bytes) is left exactly as it was. Office Open XML
documents get empty core/app property parts; OLE2 documents get every string in their summary
property streams blanked in place (same stream sizes, so the container stays valid).
"""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import olefile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
VT_LPSTR, VT_LPWSTR = 0x1E, 0x1F
SUMMARY_STREAMS = ("\x05SummaryInformation", "\x05DocumentSummaryInformation")
EMPTY_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
)
EMPTY_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>'
)
OOXML_PARTS = {"docProps/core.xml": EMPTY_CORE, "docProps/app.xml": EMPTY_APP}

Stripper = Callable[[bytes], bytes | None]


def strip_user_data(content: bytes) -> bytes | None:
    """The content without user data, or None when there is nothing to strip (not a document)."""
    for stripper in STRIPPERS:
        result = stripper(content)
        if result is not None:
            return result
    return None


def strip_ooxml(content: bytes) -> bytes | None:
    if not content.startswith(ZIP_MAGIC):
        return None
    try:
        source = zipfile.ZipFile(io.BytesIO(content))
        infos = source.infolist()
    except ZIP_TROUBLE:
        return None
    if not any(i.filename in OOXML_PARTS for i in infos) or not _within_bounds(infos):
        return None
    try:
        return _rewrite(source, infos)
    except ZIP_TROUBLE:  # a member that does not inflate: nothing usable to strip
        return None


# zipfile's ways of refusing a package: damaged, a version or method it lacks, bad deflate data
ZIP_TROUBLE = (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError, zlib.error)
MAX_EXPANDED = 256 * 2**20  # a document this size is real; more is a decompression bomb


def _within_bounds(infos: list[zipfile.ZipInfo]) -> bool:
    """zipfile never inflates a member past its declared size, so the sum bounds the work."""
    return sum(info.file_size for info in infos) <= MAX_EXPANDED


def _rewrite(source: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in infos:
            data = OOXML_PARTS.get(info.filename) or source.read(info.filename)
            target.writestr(info, data)
    return out.getvalue()


def strip_ole(content: bytes) -> bytes | None:
    if not content.startswith(OLE_MAGIC):
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.ole"
        path.write_bytes(content)
        try:
            ole = olefile.OleFileIO(str(path), write_mode=True)
        except OSError:
            return None
        try:
            for stream in SUMMARY_STREAMS:
                if ole.exists(stream):
                    ole.write_stream(stream, blank_property_strings(ole.openstream(stream).read()))
        finally:
            ole.close()
        return path.read_bytes()


def blank_property_strings(data: bytes) -> bytes:
    """Zero the characters of every string property in an OLE property set stream."""
    out = bytearray(data)
    try:
        (sets,) = struct.unpack_from("<I", data, 24)
        for index in range(min(sets, 4)):
            (offset,) = struct.unpack_from("<I", data, 28 + index * 20 + 16)
            _blank_section(out, offset)
    except struct.error:
        return bytes(out)  # damaged set: whatever was blanked so far stays blanked
    return bytes(out)


def _blank_section(out: bytearray, start: int) -> None:
    _size, count = struct.unpack_from("<II", out, start)
    for index in range(min(count, 1024)):
        _pid, offset = struct.unpack_from("<II", out, start + 8 + index * 8)
        at = start + offset
        (kind,) = struct.unpack_from("<H", out, at)
        (length,) = struct.unpack_from("<I", out, at + 4)
        width = 2 if kind == VT_LPWSTR else 1
        if kind in (VT_LPSTR, VT_LPWSTR) and at + 8 + length * width <= len(out):
            out[at + 8 : at + 8 + length * width] = bytes(length * width)


STRIPPERS: list[Stripper] = [strip_ooxml, strip_ole]

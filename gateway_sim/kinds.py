"""What kind of content a sample is, from its first bytes (used by the type policy).

Kinds: ``program`` (MZ executable), ``document`` (OLE2 compound file, or an Office Open XML
zip), ``archive`` (any other zip), ``text`` (UTF-8 text without control bytes), ``empty``,
and ``data`` for everything else.
"""

from __future__ import annotations

import io
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
TEXT_SNIFF_BYTES = 4096
KINDS = ("program", "document", "archive", "text", "empty", "data")


def content_kind(content: bytes) -> str:
    if not content:
        return "empty"
    if content.startswith(b"MZ"):
        return "program"
    if content.startswith(OLE_MAGIC):
        return "document"
    if content.startswith(ZIP_MAGIC):
        return "document" if _is_office_zip(content) else "archive"
    return "text" if _looks_like_text(content[:TEXT_SNIFF_BYTES]) else "data"


def _is_office_zip(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError):
        return False  # NotImplementedError: a 'version needed to extract' zipfile lacks


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the sniff boundary is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\r\n\t\f" for c in text)

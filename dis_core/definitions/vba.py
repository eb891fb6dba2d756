"""VBA extraction (oletools) and the one normalization used by the scanner and the back office.

Normalized text: lines joined across ' _' continuations; 'Attribute ...' header lines dropped
(module metadata, not code); comments (' and Rem) dropped; outside string literals every
character lower-cased and runs of blanks squeezed to one space; blank lines dropped; lines
joined with '\\n'. String literals are kept exactly.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_EXPANDED = 256 * 2**20
MAX_ZIP_RATIO = 200
MAX_MODULES = 1000
CONTINUATION = re.compile(r"[ \t]_[ \t]*\n")
BLANKS = re.compile(r"[ \t\f\v\u00a0]+")
REM = re.compile(r"(?i)^rem(\s|$)")
ATTRIBUTE = re.compile(r"(?i)^\s*attribute\s+vb_")


def _code_part(segment: str) -> tuple[str, bool]:
    """Normalize code outside strings; True when a comment starts (rest of line dropped)."""
    quote = segment.find("'")
    if quote >= 0:
        segment = segment[:quote]
    return BLANKS.sub(" ", segment.lower()), quote >= 0


def _normalize_line(line: str) -> str:
    if ATTRIBUTE.match(line) or REM.match(line.strip()):
        return ""
    out: list[str] = []
    pieces = line.split('"')
    # Even pieces are code, odd pieces are inside a string literal ("" escapes split into an
    # empty code piece between two literal pieces, which keeps both quotes).
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append('"' + piece + '"')
            continue
        code, comment = _code_part(piece)
        out.append(code)
        if comment:
            break
    return "".join(out).strip()


def normalize_vba(source: str) -> str:
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    text = CONTINUATION.sub(" ", text)
    lines = (_normalize_line(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _zip_within_bounds(data: bytes) -> bool:
    """Refuse decompression bombs before oletools inflates anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError):
        return False  # NotImplementedError: a 'version needed to extract' zipfile lacks
    if len(infos) > MAX_ZIP_MEMBERS:
        return False
    expanded = sum(info.file_size for info in infos)
    worst = max((info.file_size / max(info.compress_size, 1) for info in infos), default=0)
    return expanded <= MAX_ZIP_EXPANDED and worst <= MAX_ZIP_RATIO


def looks_like_office(data: bytes) -> bool:
    return data.startswith(OLE_MAGIC) or data.startswith(ZIP_MAGIC)


def extract_vba(data: bytes) -> list[tuple[str, str]] | None:
    """(module name, source) of every VBA module, or None when ``data`` is not an OLE/OOXML
    document with VBA (also None when it is beyond the size bounds or oletools cannot parse it)."""
    if not looks_like_office(data) or len(data) > MAX_DOCUMENT_BYTES:
        return None
    if data.startswith(ZIP_MAGIC) and not _zip_within_bounds(data):
        return None
    return _olevba_modules(data)


def _olevba_modules(data: bytes) -> list[tuple[str, str]] | None:
    olevba = _olevba()
    logging.getLogger("olevba").setLevel(logging.CRITICAL)
    parser = None
    try:
        parser = olevba.VBA_Parser("document", data=data)
        if not parser.detect_vba_macros():
            return None
        modules = [
            (_module_name(name), _text(code))
            for _, _, name, code in parser.extract_macros()
            if code is not None  # olevba yields (None, None) for a damaged project stream
        ]
    except Exception:  # oletools raises many types on hostile input: treat as "no VBA found"
        return None
    finally:
        if parser is not None:
            parser.close()
    return modules[:MAX_MODULES] or None


def _olevba():  # noqa: ANN202 - the oletools.olevba module
    """Import oletools late (heavy; only documents need it), muting the deprecation warnings
    its pyparsing use raises at import time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools import olevba
    return olevba


def _module_name(file_name: object) -> str:
    """olevba names modules like export files ('Module1.bas'); keep the module's own name."""
    name = str(file_name)
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension.lower() in ("bas", "cls", "frm") else name


def _text(code: str | bytes) -> str:
    if isinstance(code, bytes):
        return code.decode("latin-1")
    return code

"""Deciding from content alone what kind of file a sample is.

Kinds (see docs/backoffice.md for the end each one leads to):
- binary: a Windows PE program (pefile parses it);
- macro: an Office document carrying VBA or Excel 4 macros (oletools finds them);
- encrypted: a password-protected Office file or an archive with encrypted members;
- data: no executable content a virus could live in (text, empty, documents without macros);
- unsupported: a program format no engine here can run (ELF, Mach-O, MS-DOS, scripts, plain
  archives); the back office declines it with error ``type``.
"""

from __future__ import annotations

import io
import logging
import warnings
import zipfile
from dataclasses import dataclass

import msoffcrypto
import pefile

from backoffice.store.models import SampleKind

with warnings.catch_warnings():  # olevba calls a renamed pyparsing function at import time
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_FOREIGN_PROGRAMS = {
    b"\x7fELF": "ELF program",
    b"\xfe\xed\xfa\xce": "Mach-O program",
    b"\xfe\xed\xfa\xcf": "Mach-O program",
    b"\xce\xfa\xed\xfe": "Mach-O program",
    b"\xcf\xfa\xed\xfe": "Mach-O program",
    b"\xca\xfe\xba\xbe": "Mach-O universal program or Java class",
    b"#!": "script",
}
# olevba also reads plain text as VBA source; only these containers really carry macros
_MACRO_CONTAINERS = {"OLE", "OpenXML", "PPT", "Word2003_XML", "FlatOPC_XML", "SLK", "MHTML"}
MAX_ZIP_MEMBERS = 10000

logging.getLogger("olevba").setLevel(logging.CRITICAL)  # it logs hostile-input noise as errors


@dataclass(frozen=True)
class Classification:
    """What the content is, and a short human reason."""

    kind: SampleKind
    detail: str


def classify(content: bytes) -> Classification:
    """Classify ``content``; never raises on hostile input (it becomes data or unsupported)."""
    if not content:
        return Classification(SampleKind.DATA, "empty file")
    if content.startswith(b"MZ"):
        return _classify_mz(content)
    for magic, name in _FOREIGN_PROGRAMS.items():
        if content.startswith(magic):
            return Classification(SampleKind.UNSUPPORTED, name)
    if content.startswith(OLE_MAGIC) or content.startswith(ZIP_MAGIC):
        return _classify_container(content)
    return _classify_other(content)


def _classify_mz(content: bytes) -> Classification:
    try:
        pe = pefile.PE(data=content, fast_load=True)
    except pefile.PEFormatError:
        return Classification(SampleKind.UNSUPPORTED, "MS-DOS program (no PE header)")
    try:
        bits = "PE32+" if pe.OPTIONAL_HEADER.Magic == 0x20B else "PE32"
        role = "DLL" if pe.FILE_HEADER.Characteristics & 0x2000 else "program"
    finally:
        pe.close()
    return Classification(SampleKind.BINARY, f"{bits} {role}")


def _classify_container(content: bytes) -> Classification:
    if _office_encrypted(content):
        return Classification(SampleKind.ENCRYPTED, "password-protected Office file")
    if content.startswith(ZIP_MAGIC):
        zipped = _classify_zip(content)
        if zipped is not None:
            return zipped
    macros = _macro_container(content)
    if macros is not None:
        return Classification(SampleKind.MACRO, f"{macros} document with macros")
    return Classification(SampleKind.DATA, "document without macros")


def _office_encrypted(content: bytes) -> bool:
    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(content)).is_encrypted())
    except Exception:  # not an Office format msoffcrypto knows: not Office-encrypted
        return False


def _classify_zip(content: bytes) -> Classification | None:
    """Encrypted or plain archives; None for an Office/OpenDocument package."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()[:MAX_ZIP_MEMBERS]
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError):
        # NotImplementedError: a 'version needed to extract' that zipfile lacks
        return Classification(SampleKind.DATA, "damaged archive")
    if any(member.flag_bits & 0x1 for member in members):
        return Classification(SampleKind.ENCRYPTED, "archive with password-protected members")
    names = {member.filename for member in members}
    if any(name.endswith("vbaProject.bin") or "/macrosheets/" in name for name in names):
        return Classification(SampleKind.MACRO, "OpenXML document with macros")
    if "[Content_Types].xml" in names or "mimetype" in names:
        return None
    return Classification(SampleKind.UNSUPPORTED, "archive")


def _macro_container(content: bytes) -> str | None:
    """The container type when it carries VBA or Excel 4 macros, else None."""
    try:
        parser = VBA_Parser("sample", data=content)
    except Exception:  # oletools raises many types on malformed input
        return None
    try:
        if parser.type not in _MACRO_CONTAINERS:
            return None
        return parser.type if _has_macros(parser) else None
    finally:
        parser.close()


def _has_macros(parser: VBA_Parser) -> bool:
    try:
        if parser.detect_vba_macros():
            return True
        return bool(parser.detect_xlm_macros())
    except Exception:
        return False


def _classify_other(content: bytes) -> Classification:
    head = content[:64].lstrip()
    if head.startswith(b"{\\rtf"):
        return Classification(SampleKind.DATA, "RTF document")
    if head.startswith((b"<?xml", b"<", b"\xef\xbb\xbf<")) or b"ID;P" in content[:8]:
        macros = _macro_container(content)
        if macros is not None:
            return Classification(SampleKind.MACRO, f"{macros} document with macros")
        return Classification(SampleKind.DATA, "markup or spreadsheet text")
    return Classification(SampleKind.DATA, "data without executable content")

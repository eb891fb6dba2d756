"""Office documents with VBA projects: writing them deterministically and reading them back.

OOXML kinds (``docm``, ``dotm``, ``xlsm``) are ZIP packages with ``vbaProject.bin``; OLE kinds
(``doc``, ``xls``) are compound files with the project under ``Macros/`` or
``_VBA_PROJECT_CUR/``. The OLE documents carry just enough of a Word/Excel stream for tools to
recognise them (a Word FIB identifier, an Excel BOF record); the body text follows as plain
text. Same inputs, same bytes: ZIP entries have fixed times and order; the compound-file
writer uses no timestamps.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import olefile

from dis_core.formats import ovba
from dis_core.formats.cfb import write_cfb

KINDS = ("docm", "dotm", "xlsm", "doc", "xls")
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MAIN_TYPES = {
    "docm": "application/vnd.ms-word.document.macroEnabled.main+xml",
    "dotm": "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
}
OLE_VBA_ROOT = {"doc": "Macros/", "xls": "_VBA_PROJECT_CUR/"}


class DocumentError(ValueError):
    """Not an Office document this package can read or rewrite."""


@dataclass
class OfficeDocument:
    kind: str
    modules: list[tuple[str, str]]
    body_text: str
    project_id: str | None  # None when the document has no VBA project

    @property
    def application(self) -> str:
        return "excel" if self.kind in ("xlsm", "xls") else "word"


def write_document(
    kind: str, modules: list[tuple[str, str]], *, body_text: str, seed: int
) -> bytes:
    """A document of ``kind`` holding ``modules`` ((name, source) pairs) and ``body_text``."""
    return render(OfficeDocument(kind, list(modules), body_text, ovba.project_id(seed)))


def render(document: OfficeDocument) -> bytes:
    if document.kind not in KINDS:
        raise DocumentError(
            f"unknown document kind {document.kind!r}; expected one of {', '.join(KINDS)}"
        )
    _check_names(document.modules)
    if document.kind in OLE_VBA_ROOT:
        return _render_ole(document)
    return _render_ooxml(document)


def _check_names(modules: list[tuple[str, str]]) -> None:
    seen = set()
    for name, _source in modules:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", name) or name.lower() in seen:
            raise DocumentError(f"bad or duplicate module name {name!r}")
        seen.add(name.lower())


def _project_id(document: OfficeDocument) -> str:
    if document.project_id:
        return document.project_id
    digest = hashlib.sha256(document.kind.encode() + document.body_text.encode()).digest()
    return ovba.project_id(int.from_bytes(digest[:8], "little"))


def vba_project_bin(modules: list[tuple[str, str]], project_id: str) -> bytes:
    return write_cfb(_project_streams(modules, project_id))


def _project_streams(
    modules: list[tuple[str, str]], project_id: str, prefix: str = ""
) -> dict[str, bytes]:
    streams = ovba.project_streams(modules, 0, prefix)
    streams[f"{prefix}PROJECT"] = ovba.project_stream(modules, project_id)
    return streams


# ----------------------------------------------------------------------------- OOXML


def _render_ooxml(document: OfficeDocument) -> bytes:
    word = document.application == "word"
    main = "word/document.xml" if word else "xl/workbook.xml"
    parts: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", _content_types(document.kind, main, bool(document.modules)))
    ]
    parts.append(("_rels/.rels", _rels([("rId1", f"{R_NS}/officeDocument", main)])))
    if word:
        parts.append(("word/document.xml", _word_body(document.body_text)))
        if document.modules:
            parts.append(
                ("word/_rels/document.xml.rels", _rels([("rId1", VBA_REL, "vbaProject.bin")]))
            )
            parts.append(
                ("word/vbaProject.bin", vba_project_bin(document.modules, _project_id(document)))
            )
    else:
        parts.append(("xl/workbook.xml", _workbook()))
        relations = [("rId1", f"{R_NS}/worksheet", "worksheets/sheet1.xml")]
        if document.modules:
            relations.append(("rId2", VBA_REL, "vbaProject.bin"))
        parts.append(("xl/_rels/workbook.xml.rels", _rels(relations)))
        parts.append(("xl/worksheets/sheet1.xml", _sheet(document.body_text)))
        if document.modules:
            parts.append(
                ("xl/vbaProject.bin", vba_project_bin(document.modules, _project_id(document)))
            )
    return _zip(parts)


def _zip(parts: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data)
    return buffer.getvalue()


def _xml(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + text).encode()


def _content_types(kind: str, main: str, with_vba: bool) -> bytes:
    overrides = f'<Override PartName="/{main}" ContentType="{MAIN_TYPES[kind]}"/>'
    if kind == "xlsm":
        overrides += '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    vba = (
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        if with_vba
        else ""
    )
    return _xml(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{vba}{overrides}</Types>'
    )


def _rels(relations: list[tuple[str, str, str]]) -> bytes:
    items = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'
        for rid, kind, target in relations
    )
    return _xml(f'<Relationships xmlns="{PKG_REL}">{items}</Relationships>')


def _word_body(body_text: str) -> bytes:
    paragraphs = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
        for line in body_text.split("\n")
    )
    return _xml(f'<w:document xmlns:w="{W_NS}"><w:body>{paragraphs}</w:body></w:document>')


def _workbook() -> bytes:
    return _xml(
        f'<workbook xmlns="{S_NS}" xmlns:r="{R_NS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _sheet(body_text: str) -> bytes:
    cell = f'<c r="A1" t="inlineStr"><is><t xml:space="preserve">{escape(body_text)}</t></is></c>'
    return _xml(
        f'<worksheet xmlns="{S_NS}"><sheetData><row r="1">{cell}</row></sheetData></worksheet>'
    )


# ----------------------------------------------------------------------------- OLE

WORD_HEADER = struct.pack("<HH", 0xA5EC, 0x00C1).ljust(0x40, b"\0")
EXCEL_BOF = struct.pack("<HHHHII", 0x0809, 16, 0x0600, 0x0005, 0, 0)


def _render_ole(document: OfficeDocument) -> bytes:
    body = document.body_text.encode("cp1252", errors="replace")
    if document.kind == "doc":
        streams = {"WordDocument": WORD_HEADER + body}
    else:
        streams = {"Workbook": EXCEL_BOF + body}
    if document.modules:
        streams.update(
            _project_streams(document.modules, _project_id(document), OLE_VBA_ROOT[document.kind])
        )
    return write_cfb(streams)


# ----------------------------------------------------------------------------- reading


def parse_document(data: bytes) -> OfficeDocument:
    """Kind, modules, body text and project id of a document (DocumentError when not one)."""
    if data[:4] == b"PK\x03\x04":
        return _parse_ooxml(data)
    if data[:8] == bytes.fromhex("D0CF11E0A1B11AE1"):
        return _parse_ole(data)
    raise DocumentError("not an OOXML package or OLE compound file")


def _parse_ooxml(data: bytes) -> OfficeDocument:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            types = archive.read("[Content_Types].xml").decode("utf-8", errors="replace")
            if "word/document.xml" in names:
                kind = "dotm" if "template" in types.lower() else "docm"
                body = _texts(archive.read("word/document.xml"), f"{{{W_NS}}}p", f"{{{W_NS}}}t")
                vba_name = "word/vbaProject.bin"
            elif "xl/workbook.xml" in names:
                kind = "xlsm"
                sheet = "xl/worksheets/sheet1.xml"
                body = (
                    _texts(archive.read(sheet), f"{{{S_NS}}}c", f"{{{S_NS}}}t")
                    if sheet in names
                    else ""
                )
                vba_name = "xl/vbaProject.bin"
            else:
                raise DocumentError("a ZIP package that is neither Word nor Excel")
            vba = archive.read(vba_name) if vba_name in names else None
    except (
        zipfile.BadZipFile,
        KeyError,
        ElementTree.ParseError,
        EOFError,
        NotImplementedError,  # an extract version or compression method zipfile lacks
        zlib.error,  # damaged deflate data in a member
    ) as exc:
        raise DocumentError(f"damaged OOXML package: {exc}") from None
    if vba is None:
        return OfficeDocument(kind, [], body, None)
    modules, project = read_project(olefile.OleFileIO(io.BytesIO(vba)), "")
    return OfficeDocument(kind, modules, body, project)


def _texts(xml: bytes, block_tag: str, text_tag: str) -> str:
    root = ElementTree.fromstring(xml)
    blocks = ["".join(t.text or "" for t in block.iter(text_tag)) for block in root.iter(block_tag)]
    return "\n".join(blocks)


def _parse_ole(data: bytes) -> OfficeDocument:
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except OSError as exc:
        raise DocumentError(f"damaged compound file: {exc}") from None
    if ole.exists("WordDocument"):
        kind, stream, skip = "doc", "WordDocument", len(WORD_HEADER)
    elif ole.exists("Workbook"):
        kind, stream, skip = "xls", "Workbook", len(EXCEL_BOF)
    else:
        raise DocumentError("a compound file that is neither a Word nor an Excel document")
    body = ole.openstream(stream).read()[skip:].decode("cp1252", errors="replace")
    prefix = OLE_VBA_ROOT[kind]
    if not ole.exists(prefix + "VBA/dir"):
        return OfficeDocument(kind, [], body, None)
    modules, project = read_project(ole, prefix)
    return OfficeDocument(kind, modules, body, project)


def read_project(ole: olefile.OleFileIO, prefix: str) -> tuple[list[tuple[str, str]], str | None]:
    """(modules, project id) of the VBA project stored under ``prefix`` in a compound file."""
    try:
        directory = ovba.decompress(ole.openstream(prefix + "VBA/dir").read())
        modules = []
        for name, stream, offset in dir_modules(directory):
            stored = ole.openstream(f"{prefix}VBA/{stream}").read()
            source = ovba.source_of(ovba.decompress(stored[offset:]))
            if source or name not in ovba.DOCUMENT_MODULES:
                modules.append((name, source))
        project = (
            ole.openstream(prefix + "PROJECT").read().decode("cp1252", errors="replace")
            if ole.exists(prefix + "PROJECT")
            else ""
        )
    except (OSError, ovba.OVBAError, struct.error) as exc:
        raise DocumentError(f"damaged VBA project: {exc}") from None
    found = re.search(r'ID="(\{[0-9A-Fa-f-]+\})"', project)
    return modules, found.group(1) if found else None


def dir_modules(directory: bytes) -> list[tuple[str, str, int]]:
    """(module name, stream name, source offset) for each module in a decompressed dir stream."""
    modules: list[tuple[str, str, int]] = []
    at = 0
    name = stream = ""
    offset = 0
    while at + 6 <= len(directory):
        ident, size = struct.unpack_from("<HI", directory, at)
        at += 6
        if ident == 0x0009:  # PROJECTVERSION: its size field is reserved, 6 data bytes follow
            at += 6
            continue
        value = directory[at : at + size]
        at += size
        if ident == 0x0019:
            name = stream = value.decode("cp1252", errors="replace")
        elif ident == 0x001A:
            stream = value.decode("cp1252", errors="replace")
        elif ident == 0x0031:
            offset = struct.unpack("<I", value)[0]
        elif ident == 0x002B:
            modules.append((name, stream, offset))
        elif ident == 0x0010:
            break
    return modules


def read_modules(doc: bytes) -> list[tuple[str, str]]:
    """(module name, source) of every module of a document (source without attribute lines)."""
    return parse_document(doc).modules


def remove_modules(doc: bytes, drop: Callable[[str, str], bool]) -> bytes:
    """The document rewritten without the modules for which ``drop(name, source)`` is true."""
    document = parse_document(doc)
    kept = [(name, source) for name, source in document.modules if not drop(name, source)]
    return render(
        OfficeDocument(
            document.kind, kept, document.body_text, document.project_id if kept else None
        )
    )

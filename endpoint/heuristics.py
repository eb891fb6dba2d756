"""The endpoint's content heuristic: what looks like a simulated virus before any signature.

Two rules, both decided from the bytes alone (never the file name):

* a PE file whose entry point is a bare return instruction (``C3`` or ``C2 imm16``) and that
  carries a SimVM program (a carrier: magic ``SimVM\\x1a\\x01\\x00``, length, code; found
  by ``simworld.emulator.find_program``, damaged programs included): a
  real program does not return before doing anything, and a program for the SimVM
  interpreter hidden behind such an entry point is how every simulated binary virus looks;
* an Office document (OLE or OOXML) with VBA macros that declare an auto-run entry point
  (AutoOpen, Document_Open, Workbook_Open, ...), the way macro viruses get control.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pefile

from simworld.emulator import find_program

RET_NEAR = 0xC3
RET_NEAR_IMM16 = 0xC2
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
AUTO_RUN = re.compile(
    r"^\s*(?:(?:public|private)\s+)?(?:sub|function)\s+"
    r"(autoopen|autoexec|autonew|autoclose|autoexit|auto_open|auto_close|"
    r"document_open|document_close|document_new|workbook_open|workbook_activate|"
    r"workbook_beforeclose)\b",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Suspicion:
    """Why the heuristic flagged a file; ``rule`` is a stable short name."""

    rule: str
    detail: str


def assess(data: bytes) -> Suspicion | None:
    """The first rule that flags ``data``, or None when the content looks ordinary."""
    if data[:2] == b"MZ":
        return _assess_pe(data)
    if data[:8] == OLE_MAGIC or data[:4] == ZIP_MAGIC:
        return _assess_office(data)
    return None


def entry_point_offset(data: bytes) -> int | None:
    """File offset of the PE entry point, or None when it is not a parsable PE."""
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError:
        return None
    try:
        offset = pe.get_offset_from_rva(pe.OPTIONAL_HEADER.AddressOfEntryPoint)
    except (pefile.PEFormatError, AttributeError):
        return None
    finally:
        pe.close()
    return offset if offset is not None and 0 <= offset < len(data) else None


def _assess_pe(data: bytes) -> Suspicion | None:
    offset = entry_point_offset(data)
    if offset is None or data[offset] not in (RET_NEAR, RET_NEAR_IMM16):
        return None
    if find_program(data) is None:
        return None
    return Suspicion(
        "pe-ret-simvm", f"entry point at 0x{offset:x} returns at once; a SimVM program follows"
    )


def _macro_sources(data: bytes) -> list[tuple[str, str]]:
    from dis_core.definitions.vba import extract_vba

    return extract_vba(data) or []


def _assess_office(data: bytes) -> Suspicion | None:
    for module, source in _macro_sources(data):
        found = AUTO_RUN.search(source)
        if found:
            return Suspicion(
                "office-autorun-macro", f"module {module} declares auto-run {found.group(1)}"
            )
    return None

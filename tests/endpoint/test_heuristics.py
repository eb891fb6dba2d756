"""The content heuristic on simulated samples, clean goats and real documents."""

from __future__ import annotations

import pytest

from dis_core.formats.documents import write_document
from endpoint.heuristics import assess, entry_point_offset
from simworld import binaries, goats
from simworld.macros import CLEAN, MACRO_FAMILIES
from simworld.programs import PROGRAMS
from tests.support.corpus import SHARED_CORPUS

INFECTING = ["appender_ep", "prepender", "section_adder", "cavity", "polymorphic", "overwriter",
             "date_trigger", "size_trigger", "resident"]  # fmt: skip
CORPUS = SHARED_CORPUS


@pytest.mark.parametrize("family", INFECTING)
def test_every_infected_host_is_suspicious(family: str) -> None:
    suspicion = assess(binaries.infected_host(family, seed=3))
    assert suspicion is not None and suspicion.rule == "pe-ret-simvm"


@pytest.mark.parametrize("name", ["worm", "trojan"])
def test_non_infecting_programs_are_suspicious(name: str) -> None:
    assert PROGRAMS[name]
    assert assess(binaries.program_sample(name, seed=5)) is not None


def test_damaged_program_is_still_suspicious() -> None:
    sample = binaries.infected_host("appender_ep", seed=4)
    assert assess(binaries.damaged(sample, seed=4)) is not None


def test_clean_goats_are_not_suspicious() -> None:
    programs = goats.binary_goats(seed=9)
    assert programs
    for goat in programs:
        assert entry_point_offset(goat.data) is not None
        assert assess(goat.data) is None, goat.path


def test_entry_point_must_return_at_once() -> None:
    sample = bytearray(binaries.infected_host("appender_ep", seed=2))
    entry = entry_point_offset(bytes(sample))
    assert entry is not None
    sample[entry] = 0x90  # a NOP: the program would run on; not the simulated-virus shape
    assert assess(bytes(sample)) is None


@pytest.mark.parametrize(
    "relative",
    ["oleform/oleform-PR314.docm", "olevba/sample_with_vba.ppt", "oleobj/embedded-simple-2007.xlsm",
     "basic/text", "ooxml/harmless-clean.xml"],
)  # fmt: skip
def test_real_documents_without_auto_run_macros_are_not_suspicious(relative: str) -> None:
    assert assess((CORPUS / "oletools-test-data" / relative).read_bytes()) is None


def test_garbage_that_starts_like_a_pe_is_not_suspicious() -> None:
    assert assess(b"MZ" + bytes(30)) is None
    assert assess(b"MZ" + b"\xff" * 4096) is None


@pytest.mark.parametrize("family", sorted(MACRO_FAMILIES))
@pytest.mark.parametrize("container", ["ooxml", "ole"])
def test_documents_with_auto_run_macros_are_suspicious(family: str, container: str) -> None:
    kind, module, source = MACRO_FAMILIES[family]
    if container == "ole":
        kind = "xls" if kind == "xlsm" else "doc"
    document = write_document(kind, [(module, source)], body_text="quarterly figures", seed=4)
    suspicion = assess(document)
    assert suspicion is not None and suspicion.rule == "office-autorun-macro"


def test_document_with_an_ordinary_macro_is_not_suspicious() -> None:
    document = write_document("docm", [("WordCount", CLEAN)], body_text="a memo", seed=4)
    assert assess(document) is None

from __future__ import annotations

import io
import zipfile

import olefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dis_core.formats import ovba
from dis_core.formats.cfb import write_cfb
from dis_core.formats.documents import (
    DocumentError,
    parse_document,
    read_modules,
    remove_modules,
    write_document,
)
from tests.support.corpus import SHARED_CORPUS

from .conftest import extract_macros, quiet_olevba

MODULES = [
    ("SimOne", 'Sub AutoOpen()\n    MsgBox "one"\nEnd Sub\n'),
    ("Helper", "Function Twice(x)\n    Twice = x * 2\nEnd Function\n"),
]


@given(st.binary(max_size=12000))
@settings(max_examples=60, deadline=None)
def test_ovba_compression_roundtrips(data: bytes) -> None:
    try:
        packed = ovba.compress(data)
    except ovba.OVBAError:
        return  # an incompressible short final chunk cannot be stored (MS-OVBA)
    assert ovba.decompress(packed) == data


def test_ovba_compression_shrinks_source_and_matches_oletools() -> None:
    decompress_stream = quiet_olevba().decompress_stream
    source = ("Sub Test()\r\n    x = x + 1\r\nEnd Sub\r\n" * 300).encode()
    packed = ovba.compress(source)
    assert len(packed) < len(source) // 4
    assert decompress_stream(bytearray(packed)) == source


def test_compound_files_read_back_with_olefile() -> None:
    streams = {f"S{i}": bytes([i]) * (i * 700) for i in range(1, 12)}
    streams["Store/Inner/Deep"] = b"deep" * 3000
    data = write_cfb(streams)
    ole = olefile.OleFileIO(io.BytesIO(data))
    for path, content in streams.items():
        assert ole.openstream(path).read() == content
    assert write_cfb(streams) == data


@pytest.mark.parametrize("kind", ["docm", "dotm", "xlsm", "doc", "xls"])
def test_documents_carry_a_vba_project_olevba_extracts(kind: str) -> None:
    data = write_document(kind, MODULES, body_text="Body text", seed=9)
    extracted = extract_macros(f"sample.{kind}", data)
    assert set(extracted) == {"SimOne.bas", "Helper.bas"}
    assert 'MsgBox "one"' in extracted["SimOne.bas"]
    assert read_modules(data) == MODULES
    parsed = parse_document(data)
    assert parsed.kind == kind and parsed.body_text == "Body text"


def test_ooxml_packages_are_well_formed() -> None:
    data = write_document("docm", MODULES, body_text="a & b < c", seed=1)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert "word/vbaProject.bin" in archive.namelist()
    assert parse_document(data).body_text == "a & b < c"


def test_writer_is_deterministic_and_seeded() -> None:
    assert write_document("docm", MODULES, body_text="x", seed=1) == write_document(
        "docm", MODULES, body_text="x", seed=1
    )
    assert write_document("docm", MODULES, body_text="x", seed=1) != write_document(
        "docm", MODULES, body_text="x", seed=2
    )


def test_remove_modules_gives_back_the_clean_document() -> None:
    clean = write_document("docm", MODULES[1:], body_text="x", seed=3)
    infected = write_document("docm", MODULES, body_text="x", seed=3)
    assert remove_modules(infected, lambda name, source: "AutoOpen" in source) == clean
    bare = write_document("xlsm", [], body_text="y", seed=3)
    assert (
        remove_modules(write_document("xlsm", MODULES, body_text="y", seed=3), lambda n, s: True)
        == bare
    )


@pytest.mark.parametrize(
    "data",
    [b"", b"plain text", b"PK\x03\x04broken", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(100)],
)
def test_non_documents_are_refused(data: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_document(data)


def test_bad_module_names_are_refused() -> None:
    with pytest.raises(DocumentError):
        write_document("docm", [("bad name", "x")], body_text="", seed=1)
    with pytest.raises(DocumentError):
        write_document("pdf", [], body_text="", seed=1)


def test_corpus_documents_with_macros_can_be_read() -> None:
    corpus = SHARED_CORPUS
    data = (corpus / "oletools-test-data" / "msodde" / "harmless-clean.docm").read_bytes()
    parsed = parse_document(data)
    assert parsed.kind == "docm"

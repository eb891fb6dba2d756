"""Classification from content: the real corpus, real programs, and the simulated world."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from backoffice.analysis.classifier import classify
from backoffice.analysis.goodware import python_package_dirs
from backoffice.store.models import SampleKind
from dis_core.formats.documents import write_document
from simworld import binaries, datafiles
from simworld.macros import MACRO_FAMILIES

from .conftest import shared_corpus

K = SampleKind
ROOT = shared_corpus() / "oletools-test-data"
# What each corpus folder must come to (its README): documents with macros go on to the
# macro engines (where nothing replicates), the rest never reaches an engine.
FOLDER_KINDS: dict[str, set[SampleKind]] = {
    "basic": {K.DATA, K.ENCRYPTED},
    "encrypted": {K.ENCRYPTED},
    "excel4-macros": {K.MACRO},
    "msodde": {K.DATA, K.ENCRYPTED},  # the .zip files are password-protected archives
    "oleform": {K.MACRO},
    "oleobj": {K.DATA},
    "olevba": {K.MACRO},
    "ooxml": {K.DATA, K.ENCRYPTED},
    "rtfobj": {K.DATA, K.ENCRYPTED},
    "other": {K.DATA},
}
EXACT = {
    "basic/empty": K.DATA, "basic/text": K.DATA, "basic/encrypted.docx": K.ENCRYPTED,
    "olevba/sample_with_vba.ppt": K.MACRO, "msodde/harmless-clean.docx": K.DATA,
    "msodde/dde-test-from-office2003.doc.zip": K.ENCRYPTED, "other/presentation.xps": K.DATA,
    "excel4-macros/excel4_sample_macro.xlsm": K.MACRO, "rtfobj/issue_251.rtf": K.DATA,
}  # fmt: skip


def _corpus_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.is_file() and p.suffix != ".md")


def test_the_corpus_is_there() -> None:
    assert len(_corpus_files()) >= 60


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_files_are_classified_as_their_folder_says(path: Path) -> None:
    folder = path.relative_to(ROOT).parts[0]
    found = classify(path.read_bytes())
    assert found.kind in FOLDER_KINDS[folder], found
    relative = path.relative_to(ROOT).as_posix()
    if relative in EXACT:
        assert found.kind is EXACT[relative]


def _python_pe_files() -> list[Path]:
    found = [p for d in python_package_dirs() for p in d.rglob("*.exe")]
    return sorted(p for p in found if p.read_bytes()[:2] == b"MZ")[:40]


def test_pe_files_inside_python_packages_are_programs() -> None:
    files = _python_pe_files()
    assert len(files) >= 4
    for path in files:
        found = classify(path.read_bytes())
        assert found.kind is K.BINARY, (path, found)
        assert found.detail.startswith("PE32")


def test_foreign_programs_and_archives_are_unsupported() -> None:
    assert classify(Path("/usr/bin/env").read_bytes()).kind is K.UNSUPPORTED
    assert classify(b"#!/bin/sh\necho hi\n").kind is K.UNSUPPORTED
    assert classify(b"MZ" + bytes(100)).kind is K.UNSUPPORTED  # MS-DOS, no PE header
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    assert classify(buffer.getvalue()).kind is K.UNSUPPORTED


def test_simulated_world_files() -> None:
    assert classify(binaries.infected_host("appender_ep", 3)).kind is K.BINARY
    for kind, module, source in MACRO_FAMILIES.values():
        assert (
            classify(write_document(kind, [(module, source)], body_text="x", seed=1)).kind
            is K.MACRO
        )
    assert classify(write_document("docm", [], body_text="no macros", seed=1)).kind is K.DATA
    assert classify(datafiles.png_image(1)).kind is K.DATA
    assert (
        classify(datafiles.encrypted_zip([("a.exe", b"MZ")], datafiles.ARCHIVE_PASSWORD, 1)).kind
        is K.ENCRYPTED
    )


@pytest.mark.parametrize(
    "junk",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40),
        b"PK\x03\x04broken",
        b"MZ\x90\x00" + b"\xff" * 300,
        b"{\\rtf1 unfinished",
    ],
)
def test_hostile_or_truncated_input_never_raises(junk: bytes) -> None:
    assert classify(junk).kind in set(K)

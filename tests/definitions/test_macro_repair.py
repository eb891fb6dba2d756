"""Macro detection and repair on documents written by the simulated Office."""

from __future__ import annotations

import pytest

from dis_core.definitions import RepairError, Scanner, SigningKey, extract_vba
from dis_core.formats.documents import read_modules, write_document

from .helpers import full_set, loaded, macro_signature

CLEAN = ("Report", 'Sub Totals()\r\n  Range("A1").Value = 42\r\nEnd Sub\r\n')
VIRAL = (
    "Spreader",
    'Sub AutoOpen()\r\n  \' copy me\r\n  SimOffice.CopyModule   "Spreader", NormalTemplate\r\nEnd Sub\r\n',
)


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    key = SigningKey.generate()
    signature = macro_signature(1, 'simoffice.copymodule \\"Spreader\\", normaltemplate')
    return Scanner(loaded(key, full_set(key, 2, [signature])))


@pytest.mark.parametrize("kind", ["docm", "xlsm", "dotm", "doc", "xls"])
def test_macro_virus_is_found_and_removed(scanner: Scanner, kind: str) -> None:
    infected = write_document(kind, [CLEAN, VIRAL], body_text="quarterly figures", seed=5)
    found = scanner.scan_bytes(infected)
    assert [(d.signature_id, d.kind, d.repairable) for d in found] == [("S000001", "macro", True)]
    repaired = scanner.repair(infected, found[0])
    assert scanner.scan_bytes(repaired) == []
    assert read_modules(repaired) == read_modules(
        write_document(kind, [CLEAN], body_text="quarterly figures", seed=5)
    )
    assert [name for name, _ in extract_vba(repaired) or []] == ["Report"]
    assert scanner.repair(infected, found[0]) == repaired  # the writer is deterministic


def test_clean_document_is_not_detected_nor_repaired(scanner: Scanner) -> None:
    clean = write_document("docm", [CLEAN], body_text="x", seed=1)
    assert scanner.scan_bytes(clean) == []
    detection = scanner.scan_bytes(write_document("docm", [VIRAL], body_text="x", seed=1))[0]
    with pytest.raises(RepairError, match="does not match"):
        scanner.repair(clean, detection)


def test_only_module_removed_leaves_a_document_without_macros(scanner: Scanner) -> None:
    infected = write_document("docm", [VIRAL], body_text="just text", seed=2)
    repaired = scanner.repair(infected, scanner.scan_bytes(infected)[0])
    assert extract_vba(repaired) is None
    assert read_modules(repaired) == []

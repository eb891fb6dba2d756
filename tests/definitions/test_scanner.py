"""Scanning and repairing with both engines: binary, hash, macro and EICAR."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dis_core.config import Config, load_config
from dis_core.definitions import (
    EICAR,
    RepairError,
    Scanner,
    SigningKey,
    eicar_signature,
    normalize_vba,
)
from dis_core.definitions.engines import EngineError
from tests.support.corpus import SHARED_CORPUS

from .helpers import (
    APPENDER_RECIPE,
    HOST,
    MARKER,
    binary_signature,
    full_set,
    hash_signature,
    infect,
    loaded,
    macro_signature,
)

CORPUS = SHARED_CORPUS
DOCM = CORPUS / "oletools-test-data" / "oleform" / "oleform-PR314.docm"
PPT = CORPUS / "oletools-test-data" / "olevba" / "sample_with_vba.ppt"
ENGINES = ["yara", "yara-x"]
SECRET = b"a file whose sha256 is in the set"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def definitions(key: SigningKey):  # noqa: ANN201
    appender = binary_signature(10, text=MARKER, repair=APPENDER_RECIPE)
    sigs = [
        eicar_signature(), appender, binary_signature(11),
        hash_signature(12, hashlib.sha256(SECRET).hexdigest()),
        macro_signature(13, "private sub userform_click()"),
    ]  # fmt: skip
    return loaded(key, full_set(key, 6, sigs))


@pytest.mark.parametrize("engine", ENGINES)
def test_detects_binary_hash_and_eicar(definitions, engine: str) -> None:  # noqa: ANN001
    scanner = Scanner(definitions, engine)
    infected = infect(HOST)
    found = scanner.scan_bytes(infected)
    assert [(d.signature_id, d.virus_name, d.sequence, d.kind, d.repairable) for d in found] == [
        ("S000010", "Sim.Test.10", 6, "binary", True)
    ]
    assert found[0].offset == len(HOST)
    assert scanner.scan_bytes(HOST) == []
    assert [d.signature_id for d in scanner.scan_bytes(SECRET)] == ["S000012"]
    assert scanner.scan_bytes(SECRET + b"!") == []
    eicar = scanner.scan_bytes(EICAR + b"\r\n")
    assert [(d.virus_name, d.category, d.repairable) for d in eicar] == [
        ("EICAR-Test-File", "test", False)
    ]
    assert scanner.scan_bytes(b"prefix" + EICAR) == []  # the test file must start with the string


@pytest.mark.parametrize("engine", ENGINES)
def test_repairs_and_verifies(definitions, engine: str) -> None:  # noqa: ANN001
    scanner = Scanner(definitions, engine)
    infected = infect(HOST)
    detection = scanner.scan_bytes(infected)[0]
    assert scanner.repair(infected, detection) == HOST
    with pytest.raises(RepairError, match="does not match"):
        scanner.repair(HOST, detection)
    eicar = scanner.scan_bytes(EICAR)[0]
    with pytest.raises(RepairError, match="no repair"):
        scanner.repair(EICAR, eicar)


def test_repair_that_leaves_the_virus_is_refused(key: SigningKey) -> None:
    useless = {
        "version": 1,
        "anchor": "$a",
        "ops": [{"op": "fill", "at": 0, "length": 2, "byte": 0}],
    }
    sig = binary_signature(20, text=MARKER, repair=useless)
    scanner = Scanner(loaded(key, full_set(key, 2, [sig])))
    infected = infect(HOST)
    with pytest.raises(RepairError, match="still matches"):
        scanner.repair(infected, scanner.scan_bytes(infected)[0])


def test_repair_bounds_are_checked(key: SigningKey) -> None:
    reads_too_far = {
        "version": 1,
        "anchor": "$a",
        "ops": [{"op": "copy", "from": {"size": 0}, "to": 0, "length": 4}],
    }
    scanner = Scanner(
        loaded(key, full_set(key, 2, [binary_signature(21, text=MARKER, repair=reads_too_far)]))
    )
    infected = infect(HOST)
    with pytest.raises(RepairError, match="outside the input"):
        scanner.repair(infected, scanner.scan_bytes(infected)[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_macro_rules_match_normalized_vba(definitions, engine: str) -> None:  # noqa: ANN001
    scanner = Scanner(definitions, engine)
    found = scanner.scan_bytes(DOCM.read_bytes())
    assert [(d.signature_id, d.kind, d.offset) for d in found] == [("S000013", "macro", None)]
    assert scanner.scan_bytes(PPT.read_bytes()) == []


def test_macro_rules_do_not_match_raw_bytes(definitions) -> None:  # noqa: ANN001
    scanner = Scanner(definitions)
    assert scanner.scan_bytes(b"Private Sub UserForm_Click()\r\nEnd Sub") == []


def test_scan_file(tmp_path: Path, definitions) -> None:  # noqa: ANN001
    path = tmp_path / "infected.exe"
    path.write_bytes(infect(HOST))
    assert [d.signature_id for d in Scanner(definitions).scan_file(path)] == ["S000010"]


def test_a_rule_that_does_not_compile_is_named(key: SigningKey) -> None:
    good = binary_signature(1)
    broken = binary_signature(2).__class__(
        **(binary_signature(2).to_dict() | {"rule": "rule sig_x { condition: nosuch }"})
    )
    definitions = loaded(key, full_set(key, 2, [good, broken]))
    for engine in ENGINES:
        with pytest.raises(EngineError) as caught:
            Scanner(definitions, engine)
        assert caught.value.signature_id == "S000002"


def test_normalize_vba() -> None:
    source = (
        'Attribute VB_Name = "Mod1"\r\n'
        "Sub   AutoOpen()  ' runs on open\r\n"
        "   MsgBox  \"Keep  CASE 'here'\" , _\r\n"
        "     vbOK\r\n"
        "Rem a comment\r\n"
        "\r\n"
        "End Sub\r\n"
    )
    expected = "sub autoopen()\nmsgbox \"Keep  CASE 'here'\" , vbok\nend sub"
    assert normalize_vba(source) == expected
    shouted = source.replace("\r\n", "\n").upper().replace("KEEP  CASE 'HERE'", "Keep  CASE 'here'")
    assert normalize_vba(shouted) == expected


def test_extract_vba_from_real_documents() -> None:
    from dis_core.definitions import extract_vba

    modules = extract_vba(DOCM.read_bytes())
    assert modules is not None
    assert [name for name, _ in modules] == [
        "ThisDocument",
        "UserFormTEST1",
        "UserFormTest2",
        "NewMacros",
    ]
    assert normalize_vba(dict(modules)["NewMacros"]) == "sub a()\nend sub"
    assert extract_vba(PPT.read_bytes()) is not None
    clean = CORPUS / "oletools-test-data" / "msodde" / "harmless-clean.docx"
    assert extract_vba(clean.read_bytes()) is None
    assert extract_vba(b"MZ" + bytes(100)) is None


def test_rule_leaning_on_another_rule_cannot_repair(key: SigningKey) -> None:
    base = binary_signature(30, text=MARKER)
    leaning = binary_signature(31, repair={"version": 1, "ops": [{"op": "truncate", "length": 1}]})
    leaning = leaning.__class__(
        **(leaning.to_dict() | {"rule": "rule sig_S000031\n{\n  condition:\n    sig_S000030\n}\n"})
    )
    scanner = Scanner(loaded(key, full_set(key, 2, [base, leaning])))
    infected = infect(HOST)
    found = {d.signature_id: d for d in scanner.scan_bytes(infected)}
    assert set(found) == {"S000030", "S000031"}
    with pytest.raises(RepairError, match="does not compile on its own"):
        scanner.repair(infected, found["S000031"])


def test_yara_x_is_the_default_engine_and_yara_python_stays_selectable(definitions) -> None:  # noqa: ANN001
    assert Config().definition_policy.engine == "yara-x"
    assert Scanner(definitions).engine == "yara-x"
    chosen = load_config(None, overrides={"definition_policy": {"engine": "yara"}})
    assert Scanner(definitions, chosen.definition_policy.engine).engine == "yara"

"""The fixture generator: deterministic, complete, inert, and the committed corpus is current."""

from __future__ import annotations

import hashlib
import io
import json
import wave
import zipfile
from pathlib import Path

import msoffcrypto
import pefile
import pytest
from click.testing import CliRunner

from dis_core.formats import pe
from launcher.main import main
from simworld.bytecode import MAGIC
from simworld.datafiles import ARCHIVE_PASSWORD, EICAR
from simworld.emulator import find_program
from simworld.generator import (
    FAMILIES,
    GeneratorError,
    generate_samples,
    python_package_pe_files,
)

from .conftest import extract_macros

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def samples() -> list:
    return generate_samples(21, variants=2)


def test_generation_is_deterministic_for_a_seed(samples: list) -> None:
    again = generate_samples(21, variants=2)
    assert [(s.file, s.data) for s in samples] == [(s.file, s.data) for s in again]
    other = generate_samples(22, variants=2)
    assert [s.data for s in samples if s.family == "appender_ep"] != [
        s.data for s in other if s.family == "appender_ep"
    ]


def test_every_family_is_present_with_expected_outcomes(samples: list) -> None:
    assert {s.family for s in samples} == set(FAMILIES)
    for sample in samples:
        assert set(sample.expected) == {
            "state",
            "status",
            "virus_family",
            "repairable",
            "settled_by",
            "protocol_error",
        }
        if sample.expected["state"] in ("uninfected", "uninfectable", "nodetect", "encrypted"):
            assert sample.expected["status"] == "unneeded"
        else:
            assert sample.expected["status"] == "installed"


def test_every_generated_pe_is_clean_and_inert(samples: list) -> None:
    magics = set()
    for sample in samples:
        if sample.kind != "binary" or sample.family == "clean_pe":
            continue
        parsed = pefile.PE(data=sample.data)
        assert parsed.get_warnings() == [], sample.file
        entry = parsed.get_offset_from_rva(parsed.OPTIONAL_HEADER.AddressOfEntryPoint)
        assert sample.data[entry] == pe.RET, sample.file  # returns at once on a real CPU
        assert sample.data[entry + 1 : entry + 1 + len(MAGIC)] == MAGIC, (
            sample.file
        )  # then only data
        assert find_program(sample.data) is not None
        magics.add(parsed.OPTIONAL_HEADER.Magic)
    assert magics == {0x10B, 0x20B}  # PE32 and PE32+


def test_every_generated_document_has_macros_olevba_extracts(samples: list) -> None:
    suffixes = set()
    for sample in samples:
        if sample.kind == "macro":
            assert extract_macros(sample.file, sample.data), sample.file
            suffixes.add(sample.file.rsplit(".", 1)[1])
    assert suffixes == {"docm", "xlsm", "doc", "xls"}


def test_data_encrypted_eicar_and_clean_pe_samples(samples: list) -> None:
    by_family: dict[str, list] = {}
    for sample in samples:
        by_family.setdefault(sample.family, []).append(sample)
    png, wav = by_family["data"]
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    with wave.open(io.BytesIO(wav.data)) as sound:
        assert sound.getnframes() > 1000
    archive, document = by_family["encrypted"]
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        name = zipped.namelist()[0]
        with pytest.raises(RuntimeError):
            zipped.read(name)
        assert zipped.read(name, pwd=ARCHIVE_PASSWORD.encode())[:2] == b"MZ"
    assert msoffcrypto.OfficeFile(io.BytesIO(document.data)).is_encrypted()
    assert by_family["eicar"][0].data.startswith(EICAR)
    assert all(s.data[:2] == b"MZ" and find_program(s.data) is None for s in by_family["clean_pe"])
    assert python_package_pe_files()


def test_unknown_family_and_bad_variants_are_refused() -> None:
    with pytest.raises(GeneratorError):
        generate_samples(1, ["nope"])
    with pytest.raises(GeneratorError):
        generate_samples(1, variants=0)


def test_cli_writes_samples_and_manifest(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "fixtures",
            "generate",
            "--out",
            str(tmp_path),
            "--seed",
            "5",
            "--families",
            "appender_ep,macro_excel",
            "--variants",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "manifest.json").read_text())
    assert document["seed"] == 5 and document["generator"] == "dis fixtures generate"
    assert [e["family"] for e in document["samples"]] == [
        "appender_ep",
        "appender_ep",
        "macro_excel",
        "macro_excel",
    ]
    for entry in document["samples"]:
        assert (
            hashlib.sha256((tmp_path / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        )
    bad = runner.invoke(
        main, ["fixtures", "generate", "--out", str(tmp_path), "--seed", "5", "--families", "bogus"]
    )
    assert bad.exit_code != 0 and "unknown families" in bad.output


def test_committed_fixtures_match_their_manifest_and_the_generator() -> None:
    document = json.loads((FIXTURES / "manifest.json").read_text())
    families = sorted({e["family"] for e in document["samples"]})
    assert set(families) == set(FAMILIES) - {"clean_pe"}
    for entry in document["samples"]:
        assert (
            hashlib.sha256((FIXTURES / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        ), entry["file"]
    variants = max(int(e["file"].rsplit("-", 1)[1].split(".")[0]) for e in document["samples"])
    regenerated = generate_samples(
        document["seed"], [f for f in FAMILIES if f != "clean_pe"], variants
    )
    assert [(s.file, hashlib.sha256(s.data).hexdigest()) for s in regenerated] == [
        (e["file"], e["sha256"]) for e in document["samples"]
    ]

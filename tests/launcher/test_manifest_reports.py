"""Manifests, outcome comparison and replay reports."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from launcher.manifest import ManifestError, compare, family_consistency, load_manifest
from launcher.reports import Outcome, write_html, write_junit


def _corpus(tmp_path: Path, rows: list[dict]) -> Path:
    for row in rows:
        (tmp_path / row["file"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / row["file"]).write_bytes(b"x")
    (tmp_path / "manifest.json").write_text(json.dumps({"seed": 1, "samples": rows}))
    return tmp_path


def _row(file: str, family: str, state: str | None, status: str) -> dict:
    expected = {"state": state, "status": status, "virus_family": family, "repairable": True}
    return {"file": file, "sha256": "0" * 64, "family": family, "expected": expected}


def test_manifest_loads_and_compares(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, [_row("b/a.exe", "appender_ep", "infected", "installed")])
    [row] = load_manifest(corpus)
    assert compare(row, {"status": "installed", "state": "infected"}) == []
    problems = compare(row, {"status": "unneeded", "state": "uninfected"})
    assert len(problems) == 2 and "status 'unneeded'" in problems[0]


def test_manifest_errors_are_one_readable_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest.json"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"samples": [_row("missing.exe", "x", None, "unneeded")]})
    )
    with pytest.raises(ManifestError, match="not in the corpus"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(tmp_path)


def test_family_consistency_flags_split_and_shared_names(tmp_path: Path) -> None:
    corpus = _corpus(
        tmp_path,
        [
            _row("a1", "appender", "infected", "installed"),
            _row("a2", "appender", "infected", "installed"),
            _row("p1", "prepender", "infected", "installed"),
        ],
    )
    a1, a2, p1 = load_manifest(corpus)
    ok = family_consistency(
        [(a1, {"virus": "Sim.A"}), (a2, {"virus": "Sim.A"}), (p1, {"virus": "Sim.P"})]
    )
    assert ok == {}
    split = family_consistency([(a1, {"virus": "Sim.A"}), (a2, {"virus": "Sim.B"})])
    assert "several virus names" in split["appender"][0]
    shared = family_consistency([(a1, {"virus": "Sim.A"}), (p1, {"virus": "Sim.A"})])
    assert any("also used" in p for p in shared["prepender"])


def test_reports_hold_every_outcome(tmp_path: Path) -> None:
    outcomes = [
        Outcome("a.exe", "appender", {"status": "installed"}, {"status": "installed"}, 1.5),
        Outcome(
            "<b>.doc",
            "macro",
            {"status": "installed"},
            {"status": "error"},
            2.0,
            ["status 'error'"],
        ),
    ]
    write_junit(outcomes, tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.find("testcase/failure").get("message") == "status 'error'"
    write_html(outcomes, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "1 of 2 fixtures matched" in page and "&lt;b&gt;.doc" in page and "<b>.doc" not in page

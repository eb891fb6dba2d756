"""dis defs build|verify|show|diff|rules|install and dis scan, with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dis_core.definitions import EICAR
from launcher.main import main

from .helpers import APPENDER_RECIPE, HOST, MARKER, binary_signature, infect


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), *args])
    return result.exit_code, result.output


def _signature_file(tmp_path: Path, name: str, signatures: list) -> Path:  # noqa: ANN001
    path = tmp_path / name
    entries = [s.to_dict() for s in signatures]
    path.write_text(json.dumps(entries))
    return path


def _build(tmp_path: Path, sequence: int, signatures: list, *extra: str) -> Path:  # noqa: ANN001
    out = tmp_path / f"set{sequence}.def"
    source = _signature_file(tmp_path, f"sigs{sequence}.json", signatures)
    code, output = _run(
        tmp_path,
        "defs",
        "build",
        "--signatures",
        str(source),
        "--sequence",
        str(sequence),
        "--out",
        str(out),
        *extra,
    )
    assert code == 0, output
    return out


def test_build_verify_show_diff(tmp_path: Path) -> None:
    one = _build(tmp_path, 1, [binary_signature(1), binary_signature(2)])
    two = _build(
        tmp_path, 2, [binary_signature(2), binary_signature(3)], "--certified", "--publish"
    )
    assert (tmp_path / "data" / "backoffice" / "keys" / "signing.key").exists()
    assert (tmp_path / "data" / "backoffice" / "published" / "sets").is_dir()
    code, output = _run(tmp_path, "defs", "verify", str(two))
    assert code == 0 and "sequence 2, full, certified, 2 signatures" in output
    code, output = _run(tmp_path, "defs", "show", str(one), "--json")
    assert code == 0 and [s["id"] for s in json.loads(output)["signatures"]] == [
        "S000001",
        "S000002",
    ]
    code, output = _run(tmp_path, "defs", "show", str(one))
    assert code == 0 and "Sim.Test.1" in output
    code, output = _run(tmp_path, "defs", "diff", str(one), str(two))
    assert code == 0 and output.splitlines() == ["- S000001 Sim.Test.1", "+ S000003 Sim.Test.3"]
    rules = tmp_path / "rules.yar"
    assert _run(tmp_path, "defs", "rules", str(two), "--out", str(rules))[0] == 0
    assert "rule sig_S000003" in rules.read_text()


def test_verify_refuses_tampering_and_bad_input(tmp_path: Path) -> None:
    one = _build(tmp_path, 1, [binary_signature(1)])
    damaged = bytearray(one.read_bytes())
    damaged[len(damaged) // 2] ^= 4
    one.write_bytes(bytes(damaged))
    code, output = _run(tmp_path, "defs", "verify", str(one))
    assert code == 2 and "unpackage" in output
    assert _run(tmp_path, "defs", "verify", str(tmp_path / "missing.def"))[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "S1"}]')
    code, output = _run(
        tmp_path, "defs", "build", "--signatures", str(bad), "--out", str(tmp_path / "x.def")
    )
    assert code == 2 and "bad signature entry" in output
    assert _run(tmp_path, "defs", "build", "--out", str(tmp_path / "x.def"))[0] == 2


def test_scan_exit_codes_and_repair(tmp_path: Path) -> None:
    package = _build(
        tmp_path,
        1,
        [
            binary_signature(1, text=MARKER, repair=APPENDER_RECIPE),
            binary_signature(2, text=b"EICAR-STANDARD"),
        ],
    )
    files = tmp_path / "files"
    files.mkdir()
    (files / "clean.exe").write_bytes(HOST)
    code, output = _run(tmp_path, "scan", str(files), "--defs", str(package))
    assert code == 0 and "clean.exe: OK" in output
    (files / "infected.exe").write_bytes(infect(HOST))
    code, output = _run(tmp_path, "scan", str(files), "--defs", str(package))
    assert code == 1 and "FOUND Sim.Test.1 (S000001, sequence 1, binary, repairable)" in output
    out = tmp_path / "repaired"
    code, output = _run(
        tmp_path,
        "scan",
        str(files / "infected.exe"),
        "--defs",
        str(package),
        "--repair",
        str(out),
        "--engine",
        "yara-x",
    )
    assert code == 1 and "REPAIRED" in output
    assert (out / "infected.exe").read_bytes() == HOST
    (files / "test.com").write_bytes(EICAR)
    code, output = _run(
        tmp_path, "scan", str(files / "test.com"), "--defs", str(package), "--repair", str(out)
    )
    assert code == 1 and "NOT REPAIRED (no repair for Sim.Test.2)" in output
    code, output = _run(tmp_path, "scan", str(files / "nothing-here"), "--defs", str(package))
    assert code == 2 and "ERROR" in output


def test_scan_with_installed_definitions(tmp_path: Path) -> None:
    package = _build(tmp_path, 1, [binary_signature(1, text=MARKER)])
    assert _run(tmp_path, "scan", str(package))[0] == 2  # nothing installed yet
    code, output = _run(tmp_path, "defs", "install", str(package))
    assert code == 0 and "active: sequence 1" in output
    target = tmp_path / "infected.exe"
    target.write_bytes(infect(HOST))
    assert _run(tmp_path, "scan", str(target))[0] == 1
    damaged = bytearray(package.read_bytes())
    damaged[-3] ^= 1
    package.write_bytes(bytes(damaged))
    code, output = _run(tmp_path, "defs", "install", str(package))
    assert code == 2 and "unable to install definitions" in output


def test_incremental_and_apply_rebuild_the_full_set(tmp_path: Path) -> None:
    one = _build(tmp_path, 1, [binary_signature(1), binary_signature(2)])
    three = _build(tmp_path, 3, [binary_signature(2), binary_signature(3, 3)], "--certified")
    increment, rebuilt = tmp_path / "1-3.inc", tmp_path / "rebuilt.def"
    code, output = _run(
        tmp_path, "defs", "incremental", str(one), str(three), "--out", str(increment)
    )
    assert code == 0 and "incremental from 1" in output
    code, output = _run(tmp_path, "defs", "apply", str(one), str(increment), "--out", str(rebuilt))
    assert code == 0 and rebuilt.read_bytes() == three.read_bytes()
    code, output = _run(
        tmp_path, "defs", "apply", str(three), str(increment), "--out", str(rebuilt)
    )
    assert code == 2 and "for base 1" in output
    assert (
        _run(tmp_path, "defs", "incremental", str(three), str(one), "--out", str(increment))[0] == 2
    )

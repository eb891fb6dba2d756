"""The whole loop through the launcher's commands, as users run them (real processes, TLS).

These are the slowest tests of the suite: each starts gateway, back office, Quarantine
Server web and agent, and simulated endpoints, then waits for real analyses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from launcher.settings import free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def dis(
    *args: str, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=REPO,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_ends_green(tmp_path: Path) -> None:
    run = dis("demo", "--data-dir", str(tmp_path / "demo"), "--timeout", "600")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "11 of 11 samples reached their expected end" in run.stdout


def test_replay_of_a_fresh_corpus_with_reports(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    families = "appender_ep,macro_poly,worm,eicar,known,data,fp_bait"
    generated = dis(
        "fixtures", "generate", "--out", str(corpus), "--seed", "4242", "--families", families
    )
    assert generated.returncode == 0, generated.stderr
    junit, html = tmp_path / "r.xml", tmp_path / "r.html"
    run = dis(
        "replay",
        str(corpus),
        "--data-dir",
        str(tmp_path / "replay"),
        "--junit",
        str(junit),
        "--html",
        str(html),
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests", "0")) == 7
    assert "7 of 7 fixtures matched" in html.read_text()


def test_replay_reports_a_mismatch_with_a_non_zero_exit(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert (
        dis(
            "fixtures", "generate", "--out", str(corpus), "--seed", "7", "--families", "eicar"
        ).returncode
        == 0
    )
    manifest = corpus / "manifest.json"
    manifest.write_text(
        manifest.read_text().replace('"status": "installed"', '"status": "unneeded"')
    )
    run = dis("replay", str(corpus), "--data-dir", str(tmp_path / "replay"))
    assert run.returncode == 1
    assert "MISMATCH" in run.stdout and "expected 'unneeded'" in run.stdout


def test_gateway_outage_scenario_raises_the_event_and_recovers(tmp_path: Path) -> None:
    run = dis(
        "scenario",
        "gateway-outage",
        "--data-dir",
        str(tmp_path / "scenario"),
        "--clock-speed",
        "60",
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "event seen: gateway_unreachable" in run.stdout
    assert "samples reached their expected end" in run.stdout


def test_corrupt_definitions_scenario_refuses_the_damaged_set_and_recovers(tmp_path: Path) -> None:
    run = dis("scenario", "corrupt-definitions", "--data-dir", str(tmp_path / "scenario"))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "event seen: sample_install_failed" in run.stdout
    assert "2 of 2 samples reached their expected end" in run.stdout


def test_replay_with_listen_ports_from_the_environment_reaches_the_end(tmp_path: Path) -> None:
    """The ports a user exports win over the replay's own, and every address follows them."""
    corpus = tmp_path / "corpus"
    made = dis("fixtures", "generate", "--out", str(corpus), "--seed", "5", "--families", "eicar")
    assert made.returncode == 0, made.stderr
    ports = {
        "DIS_GENERAL__LISTEN_PORT": str(free_port()),
        "DIS_GATEWAY__LISTEN_PORT": str(free_port()),
        "DIS_BACKOFFICE__DESK_PORT": str(free_port()),
    }
    run = dis(
        "replay", str(corpus), "--data-dir", str(tmp_path / "r"), "--timeout", "300", env=ports
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 of 1 samples reached their expected end" in run.stdout

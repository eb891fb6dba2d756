"""``dis backoffice``: import, run-once, status, errors, and a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from backoffice.service import BackOffice
from backoffice.store.models import BuildRecord
from dis_core.config import load_config
from dis_core.db import unit_of_work
from launcher.main import main
from simworld import binaries

SMALL = {"DIS_BACKOFFICE__GOODWARE_MB": "2", "DIS_BACKOFFICE__NGRAM_BUCKET_BITS": "18"}


def test_import_run_once_and_status(tmp_path: Path) -> None:
    sample = tmp_path / "sample.exe"
    sample.write_bytes(binaries.infected_host("appender_ep", 5))
    runner = CliRunner(env=SMALL)
    data = ["--data-dir", str(tmp_path / "data")]
    imported = runner.invoke(main, [*data, "backoffice", "import", str(sample), "--cookie", "c1"])
    assert imported.exit_code == 0, imported.output
    assert imported.output.strip() == "c1"
    ran = runner.invoke(main, [*data, "backoffice", "run-once", "c1"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("c1: infected") and "incrUnitTesting" in ran.output
    shown = runner.invoke(main, [*data, "backoffice", "status", "c1"])
    assert shown.exit_code == 0 and "binaryScoring" in shown.output


def test_unknown_cookie_is_one_readable_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "backoffice", "status", "nope"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no sample with cookie nope"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_service_runs_the_desk_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    env = dict(os.environ, **SMALL, DIS_BACKOFFICE__DESK_TOKEN="t0ken")
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher", "--data-dir", str(tmp_path), "backoffice", "--desk-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("expert desk: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].split(" ", 1)[0]
        assert "t0ken" not in line  # the token never goes to the output (a log file)
        assert requests.get(url, params={"token": "t0ken"}, timeout=5).status_code == 200
        assert requests.get(url, timeout=5).status_code == 403
        assert "running" in process.stdout.readline()
        time.sleep(0.3)
        process.send_signal(stop_signal)
        rest = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "back office stopped" in rest


def test_certified_build_publishes_a_tested_set_and_records_it(tmp_path: Path) -> None:
    runner = CliRunner(env=SMALL)
    data = ["--data-dir", str(tmp_path)]
    first = runner.invoke(main, [*data, "backoffice", "certified-build"])
    again = runner.invoke(main, [*data, "backoffice", "certified-build"])
    assert first.exit_code == 0 and first.output.strip() == "certified set 2 published", (
        first.output
    )
    assert again.output.strip() == "certified set 3 published"
    office = BackOffice(
        load_config(environ=SMALL, overrides={"general": {"data_dir": str(tmp_path)}})
    )
    with unit_of_work(office.services.store.sessions) as session:
        records = [
            (r.sequence, r.outcome)
            for r in session.scalars(select(BuildRecord).order_by(BuildRecord.id))
        ]
    assert records == [(2, "published"), (3, "published")]

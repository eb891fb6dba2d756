"""`dis endpoint` commands and many computers in one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dis_core.tls import http_session
from endpoint.fleet import Fleet, fleet_identities
from launcher.main import main
from simworld import binaries

from .conftest import ENGINE, HOST, INFECTED, endpoint_config
from .fake_intake import FakeIntake


def _invoke(data_dir: Path, intake: FakeIntake, *args: str) -> tuple[int, str]:
    env = {"DIS_ENDPOINT__SERVER_URL": intake.url, "DIS_DEFINITION_POLICY__ENGINE": ENGINE}
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "endpoint", *args], env=env)
    return result.exit_code, result.output


def test_forward_command_sends_suspicious_files_and_needs_force_for_clean_ones(
    data_dir, packages, intake, tmp_path
) -> None:
    sample = tmp_path / "patient.exe"
    sample.write_bytes(binaries.infected_host("appender_ep", seed=1))
    letter = tmp_path / "letter.txt"
    letter.write_bytes(b"dear colleague\n")
    code, output = _invoke(
        data_dir, intake, "forward", str(sample), str(letter), "--computer", "ws-cli"
    )
    assert code == 0, output
    assert "forwarded, sample 1" in output and "letter.txt: clean for ws-cli" in output
    assert sample.exists()  # the given file is copied onto the computer, never moved
    code, output = _invoke(
        data_dir, intake, "forward", str(letter), "--computer", "ws-cli", "--force"
    )
    assert code == 0 and "forwarded, sample 2" in output
    held = intake.state.samples
    assert [s.attributes["X-Scan-Result"] for s in held] == ["suspicious", "suspicious"]
    assert held[0].attributes["X-Platform-Computer"] == "ws-cli"


def test_forward_command_fails_readably_when_the_server_is_down(
    data_dir, packages, intake, tmp_path
) -> None:
    sample = tmp_path / "p.exe"
    sample.write_bytes(binaries.infected_host("prepender", seed=1))
    intake.stop()
    code, output = _invoke(data_dir, intake, "forward", str(sample), "--computer", "ws-down")
    assert code == 1 and "not forwarded yet, retried later" in output


def test_install_status_and_restore_commands(data_dir, packages, intake, tmp_path) -> None:
    package = tmp_path / "set2.def"
    package.write_bytes(packages.new)
    infected = tmp_path / "tool.exe"
    infected.write_bytes(INFECTED)
    clean = tmp_path / "memo.txt"
    clean.write_bytes(b"memo\n")
    _invoke(data_dir, intake, "forward", str(infected), str(clean), "--computer", "ws-7", "--force")
    code, output = _invoke(data_dir, intake, "status", "--computer", "ws-7")
    assert code == 0 and output.count("suspicious") == 2 and "definitions 0" in output
    code, output = _invoke(data_dir, intake, "install", str(package), "--computer", "ws-7")
    assert code == 0 and "definitions 2 active; 1 item(s)" in output, output
    assert (data_dir / "endpoints/ws-7/watch/inbox/tool.exe").read_bytes() == HOST
    memo_line = next(
        line for line in _invoke(data_dir, intake, "status")[1].splitlines() if "memo.txt" in line
    )
    code, output = _invoke(data_dir, intake, "restore", memo_line.split()[0], "--computer", "ws-7")
    assert (
        code == 0 and (data_dir / "endpoints/ws-7/watch/inbox/memo.txt").read_bytes() == b"memo\n"
    )
    code, output = _invoke(data_dir, intake, "restore", memo_line.split()[0], "--computer", "ws-7")
    assert code != 0 and "already restored" in output


def test_install_command_refuses_a_tampered_package(data_dir, packages, intake, tmp_path) -> None:
    package = tmp_path / "bad.def"
    package.write_bytes(packages.new[:-3] + b"xyz")
    code, output = _invoke(data_dir, intake, "install", str(package), "--computer", "ws-8")
    assert code == 1 and "not installed" in output


def test_a_fleet_runs_many_computers_each_with_its_own_listener(
    data_dir, packages, intake, clock
) -> None:
    config = endpoint_config(data_dir, intake.url, scan_interval_s=1)
    fleet = Fleet(config, fleet_identities(12), clock)
    ports = fleet.start(0)
    try:
        assert len(set(ports.values())) == 12
        assert intake.ask_sequence("127.0.0.1", ports["ws-007"]) == {
            "computer": "ws-007",
            "sequence": 0,
        }
        for endpoint in fleet.endpoints[:3]:
            target = endpoint.folders.watch / "found.exe"
            target.write_bytes(binaries.infected_host("cavity", seed=2))
        deadline = time.monotonic() + 20
        while len(intake.state.samples) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        computers = sorted(s.attributes["X-Platform-Computer"] for s in intake.state.samples)
        assert computers == ["ws-001", "ws-002", "ws-003"]
        assert {s.attributes["X-Platform-Port"] for s in intake.state.samples} == {
            ports["ws-001"],
            ports["ws-002"],
            ports["ws-003"],
        }
    finally:
        fleet.stop()
    assert all(not (e.folders.listener).exists() for e in fleet.endpoints)


@pytest.mark.timeout(60)
def test_run_command_starts_listeners_and_stops_cleanly_on_sigterm(
    data_dir, packages, intake
) -> None:
    env = {**os.environ, "DIS_DATA_DIR": str(data_dir), "DIS_ENDPOINT__SERVER_URL": intake.url,
           "DIS_DEFINITION_POLICY__ENGINE": ENGINE}  # fmt: skip
    dis = Path(sys.executable).with_name("dis")
    process = subprocess.Popen([str(dis), "endpoint", "run", "--count", "2", "--any-port"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        ports = [int(line.rsplit(":", 1)[1].rstrip(")\n")) for line in lines]
        with http_session(data_dir / "certs" / "ca.pem") as session:
            reply = session.get(f"https://127.0.0.1:{ports[1]}/defcast/v1/sequence", timeout=10)
        assert reply.json() == {"computer": "ws-002", "sequence": 0}
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors

"""``dis up`` as a user starts it: other ports than the defaults, a file named outside ASCII."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from launcher.settings import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "binary"
NAME = "日本語-wörm.exe"


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline and not any(marker in line for line in lines):
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
    return lines


def _samples(database: Path) -> list[tuple[str, str]]:
    if not database.exists():
        return []
    with closing(sqlite3.connect(database)) as db:
        return list(db.execute("SELECT file_name, status FROM samples"))


def _metrics(url: str, ca: Path) -> dict[str, list[Sample]]:
    """Every sample of a part's /metrics, parsed by Prometheus's own text parser, by family."""
    reply = requests.get(f"{url}/metrics", verify=str(ca), timeout=30)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(reply.text)}


def _check_operations(parts: dict[str, str], ca: Path) -> None:
    """Liveness, readiness and metrics of each part, asked without credentials."""
    for part, url in parts.items():
        for probe in ("livez", "readyz"):
            reply = requests.get(f"{url}/{probe}", verify=str(ca), timeout=30)
            assert (reply.status_code, reply.json()["part"]) == (200, part), reply.text
    server = _metrics(parts["quarantine-server"], ca)
    assert sum(s.value for s in server["dis_quarantine_samples"]) == 1
    assert "dis_quarantine_definitions_sequence" in server
    assert {s.labels["service"] for s in server["dis_quarantine_heartbeat_age_seconds"]}
    assert "dis_gateway_submissions" in _metrics(parts["gateway"], ca)
    office = _metrics(parts["backoffice"], ca)
    assert office["dis_backoffice_published_sequence"][0].value >= 1  # the baseline set
    assert "dis_backoffice_stage_seconds" in office


def test_up_on_other_ports_sends_a_non_ascii_named_file_through_the_loop(tmp_path: Path) -> None:
    server_port, gateway_port, desk_port = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        DIS_GENERAL__LISTEN_PORT=str(server_port),
        DIS_GATEWAY__LISTEN_PORT=str(gateway_port),
        DIS_BACKOFFICE__DESK_PORT=str(desk_port),
        DIS_BACKOFFICE__GOODWARE_MB="2",
        COLUMNS="200",
    )
    data = tmp_path / "data"
    command = [sys.executable, "-m", "launcher", "--data-dir", str(data), "up", "--endpoints", "1"]
    process = subprocess.Popen(
        [*command, "--clock-speed", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        shown = "\n".join(_read_until(process, "press Ctrl-C", 180))
        assert f"https://127.0.0.1:{server_port}/" in shown, shown
        assert f"submits to https://127.0.0.1:{gateway_port}" in shown, shown
        assert f"forward to https://127.0.0.1:{server_port}" in shown, shown
        assert ":8033" not in shown and ":8443" not in shown
        shutil.copy(FIXTURES / "appender_ep-0001.exe", data / "endpoints/ws-001/watch" / NAME)
        deadline, found = time.monotonic() + 180, []
        while time.monotonic() < deadline and not found:
            found = _samples(data / "quarantine_server.sqlite3")
            time.sleep(1)
        assert [Path(name).name for name, _ in found] == [NAME]
        parts = {
            "quarantine-server": f"https://127.0.0.1:{server_port}",
            "gateway": f"https://127.0.0.1:{gateway_port}",
            "backoffice": f"http://127.0.0.1:{desk_port}",
        }
        _check_operations(parts, data / "certs" / "ca.pem")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)  # reads the rest and closes the pipe

"""The real processes: `dis quarantine-server web` (gunicorn, TLS) and `dis quarantine-server
agent` (APScheduler), a crash of the web process mid-intake, and the single-agent lock."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from qs_helpers import forward

from dis_core.certs import CertPaths, generate
from dis_core.config import load_config
from dis_core.definitions import load_or_create_signing_key
from dis_core.tls import http_session
from quarantine_server.models import Sample
from quarantine_server.services import build_services
from tests.support.fake_gateway import FakeGateway, Vendor
from tests.support.samples import infected
from tests.support.servers import serve

DIS = [str(Path(sys.executable).parent / "dis")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIS_")}
    env.update({"DIS_DATA_DIR": str(data), **extra})
    return env


def start_web(data: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = data / f"web-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*DIS, "quarantine-server", "web", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=sink,
            stderr=sink,
            start_new_session=True,
        )
    http = http_session(data / "certs" / "ca.pem")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            http.get(f"https://127.0.0.1:{port}/api/v1/health", timeout=2)
            return process
        except requests.ConnectionError:
            time.sleep(0.2)
    kill_group(process)
    raise AssertionError(f"web did not start: {log.read_text()[-2000:]}")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    generate(folder / "certs")
    load_or_create_signing_key(folder / "backoffice" / "keys")
    yield folder


def test_kill_9_during_intake_loses_no_acknowledged_sample(data: Path) -> None:
    port = free_port()
    env = environment(data)
    web = start_web(data, port, env)
    acknowledged: dict[int, str] = {}
    stop = threading.Event()

    def send(worker: int) -> None:
        http = http_session(data / "certs" / "ca.pem")
        number = 0
        while not stop.is_set():
            number += 1
            content = os.urandom(300_000) + f"{worker}-{number}".encode()
            try:
                reply = forward(
                    http, f"https://127.0.0.1:{port}", content, sample_id=f"{worker}-{number}"
                )
            except requests.RequestException:
                return
            if reply.status_code in (200, 201):
                acknowledged[reply.json()["id"]] = hashlib.sha256(content).hexdigest()

    senders = [threading.Thread(target=send, args=(i,)) for i in range(3)]
    for thread in senders:
        thread.start()
    deadline = time.monotonic() + 60  # a loaded machine acknowledges slowly: wait for a few
    while len(acknowledged) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # more forwards in flight when the kill comes
    kill_group(web)  # SIGKILL: no cleanup runs, requests in flight die mid-way
    stop.set()
    for thread in senders:
        thread.join(30)
    assert len(acknowledged) >= 3
    config = load_config(None, environ={}, overrides={"general": {"data_dir": str(data)}})
    services = build_services(config)
    with services.work() as session:
        for sample_id, checksum in acknowledged.items():
            sample = session.get(Sample, sample_id)
            assert sample is not None and sample.sample_checksum == checksum
            assert hashlib.sha256(services.vault.read(sample.stored_name)).hexdigest() == checksum
        rows = {s.stored_name for s in session.query(Sample)}
    for name in services.vault.stored_files():  # every visible file is whole and decrypts
        services.vault.read(name)
    restarted = start_web(data, port, env)  # the start-up sweep drops unacknowledged files
    try:
        assert set(services.vault.stored_files()) == rows
        assert list(services.vault.incoming.iterdir()) == []
    finally:
        kill_group(restarted)


def test_web_and_agent_processes_against_a_tls_gateway(data: Path, tmp_path: Path) -> None:
    vendor = Vendor(
        tmp_path / "published", load_or_create_signing_key(data / "backoffice" / "keys")
    )
    gateway = FakeGateway(vendor)
    gateway_server = serve(gateway.app(), CertPaths(data / "certs"))
    port = free_port()
    env = environment(
        data,
        DIS_WEB_COMMUNICATION__GATEWAY_URL=gateway_server.url,
        DIS_SAMPLE_POLICY__QUEUE_CHECK_INTERVAL_S="1",
        DIS_SAMPLE_POLICY__STATUS_QUERY_INTERVAL_S="1",
        DIS_QS_PASSWORD="process-password",
    )
    created = subprocess.run(
        [*DIS, "quarantine-server", "create-user", "boss", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    web = start_web(data, port, env)
    agent = subprocess.Popen(
        [*DIS, "quarantine-server", "agent"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)
        second = subprocess.run(
            [*DIS, "quarantine-server", "agent"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1 and "another Quarantine Agent is running" in second.stderr
        http = http_session(data / "certs" / "ca.pem")
        sample_id = forward(http, f"https://127.0.0.1:{port}", infected("PROC")).json()["id"]
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != "unneeded":
            time.sleep(0.5)
            status = http.get(
                f"https://127.0.0.1:{port}/api/v1/samples/{sample_id}",
                auth=("boss", "process-password"),
                timeout=10,
            ).json()["status"]
        assert status == "unneeded"  # the fake gateway's default script ends uninfected
        beats = http.get(
            f"https://127.0.0.1:{port}/api/v1/health", auth=("boss", "process-password"), timeout=10
        ).json()["heartbeats"]
        assert {"agent", "scanner"} <= set(beats)
    finally:
        kill_group(agent)
        kill_group(web)
        gateway_server.stop()

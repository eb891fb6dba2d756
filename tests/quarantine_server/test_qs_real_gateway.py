"""The agent against the real gateway process (`dis gateway`, gunicorn, TLS): certified
definitions download, submission with a tracking cookie, status polling, an unknown cookie."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_config
from qs_helpers import forward

from dis_core.certs import generate
from dis_core.clock import ManualClock
from dis_core.definitions import DefinitionRepository, build_full, load_or_create_signing_key
from dis_core.tls import http_session
from quarantine_server.agent import Agent
from quarantine_server.models import Sample
from quarantine_server.services import Services, build_services
from quarantine_server.web.app import create_app
from tests.support.samples import WHEN, infected, marker_signature
from tests.support.servers import Running, serve

DIS = str(Path(sys.executable).with_name("dis"))


@dataclass
class Loop:
    data: Path
    services: Services
    web: Running
    gateway: subprocess.Popen[bytes]
    gateway_url: str


def _start_gateway(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIS_")}
    env["DIS_GATEWAY__ADMIN_TOKEN"] = "qs-test-admin-token"
    with (data / "gateway.log").open("wb") as log:
        process = subprocess.Popen(
            [DIS, "--data-dir", str(data), "gateway", "--port", "0", "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    listen = data / "gateway" / "listen.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError((data / "gateway.log").read_text()[-3000:])
        if listen.exists():
            return process, f"https://127.0.0.1:{json.loads(listen.read_text())['port']}"
        time.sleep(0.1)
    raise AssertionError("gateway did not start")


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    data = tmp_path / "data"
    certs = generate(data / "certs")
    key = load_or_create_signing_key(data / "backoffice" / "keys")
    repo = DefinitionRepository(data / "backoffice" / "published", key.verify_key())
    sequence = repo.next_sequence()
    repo.publish(
        build_full(
            sequence,
            [marker_signature("REAL", sequence)],
            certified=True,
            produced=WHEN,
            key=key,
            published=WHEN,
            certified_at=WHEN,
        )
    )
    gateway, url = _start_gateway(data)
    config = make_config(data, web_communication={"gateway_url": url, "timeout_s": 10})
    services = build_services(config, ManualClock())
    web = serve(create_app(services=services), certs)
    try:
        yield Loop(data, services, web, gateway, url)
    finally:
        web.stop()
        os.killpg(gateway.pid, signal.SIGTERM)
        gateway.wait(15)
        services.db.engine.dispose()


def _sample(loop: Loop, sample_id: int) -> Sample:
    with loop.services.work() as session:
        sample = session.get(Sample, sample_id)
        assert sample is not None
        session.expunge(sample)
        return sample


def test_agent_with_the_real_gateway(loop: Loop) -> None:
    http = http_session(loop.data / "certs" / "ca.pem")
    agent = Agent(loop.services)
    assert agent.certified_pass() == 1  # the certified set came from the gateway over TLS
    known = forward(http, loop.web.url, infected("REAL"), sample_id="k").json()["id"]
    novel = forward(http, loop.web.url, b"MZ" + os.urandom(4096), sample_id="n").json()["id"]
    agent.scan_pass()
    assert _sample(loop, known).status == "distribute"
    assert agent.submit_pass() == 1
    submitted = _sample(loop, novel)
    # nothing runs the back office here, so the analysis waits in the back office's queue
    assert (submitted.status, submitted.state) == ("submitted", "imported") and submitted.cookie
    agent.poll_pass()
    assert _sample(loop, novel).state == "imported"
    with loop.services.work() as session:
        sample = session.get(Sample, novel)
        assert sample is not None
        sample.cookie = "no-such-cookie"
    agent.poll_pass()
    crumbled = _sample(loop, novel)
    assert crumbled.status == "error"
    with loop.services.work() as session:
        errors = [e.error for e in session.get(Sample, novel).errors]  # type: ignore[union-attr]
    assert errors == ["crumbled"]

"""The endpoint against the real Quarantine Server (intake, agent scanner pass, Defcast push,
confirmation), both on loopback TLS in one data directory."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dis_core.certs import CertPaths
from dis_core.clock import ManualClock
from dis_core.config import Config, load_config
from dis_core.definitions import InstalledDefinitions, VerifyKey
from dis_core.vocabulary.kinds import ConfirmationOutcome
from endpoint.fleet import fleet_identities
from endpoint.identity import Identity
from endpoint.item import ForwardStatus
from endpoint.machine import Endpoint
from quarantine_server.agent import Agent
from quarantine_server.models import Sample
from quarantine_server.services import Services, build_services
from quarantine_server.web.app import create_app
from tests.support.servers import Running, serve

from .conftest import ALICE, BOB, ENGINE, HOST, INFECTED, Packages, endpoint_config


@dataclass
class QuarantineServer:
    config: Config
    services: Services
    clock: ManualClock
    port: int
    _running: Running | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        app = create_app(services=self.services)
        self._running = serve(app, CertPaths(self.config.certs_dir), self.port)
        self.port = self._running.port  # a restart comes back on the same port

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def agent(self) -> Agent:
        return Agent(self.services)

    def samples(self) -> list[Sample]:
        with self.services.work() as session:
            found = list(session.query(Sample).order_by(Sample.id))
            session.expunge_all()
            return found

    def install(self, package: bytes) -> None:
        key = VerifyKey.load(self.services.verify_key_path())
        InstalledDefinitions(
            self.services.definitions_root(self.config), key, engine=ENGINE
        ).install(package)


def _qs_config(data_dir: Path) -> Config:
    overrides = {
        "general": {"data_dir": str(data_dir), "quarantine_max_mb": 50},
        "definition_policy": {"engine": ENGINE},
        "web_communication": {"timeout_s": 10},
    }
    return load_config(None, environ={}, overrides=overrides)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def qs(data_dir: Path, packages: Packages) -> Iterator[QuarantineServer]:
    config = _qs_config(data_dir)
    clock = ManualClock()
    server = QuarantineServer(config, build_services(config, clock), clock, 0)
    server.install(packages.new)  # the server already knows how to cure the test virus
    server.start()
    yield server
    server.stop()
    server.services.db.engine.dispose()


def _endpoint(
    data_dir: Path, url: str, clock: ManualClock, packages: Packages, who: Identity = ALICE
) -> Endpoint:
    endpoint = Endpoint(endpoint_config(data_dir, url, defcast_host="127.0.0.1"), who, clock)
    endpoint.install_definitions(packages.old)
    return endpoint


def _drop(endpoint: Endpoint, relative: str, data: bytes) -> Path:
    path = endpoint.folders.watch / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_sample_is_settled_by_the_server_pushed_and_repaired_in_place(
    data_dir, packages, qs, clock
) -> None:
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    port = endpoint.start_defcast(0)
    try:
        path = _drop(endpoint, "downloads/game.exe", INFECTED)
        assert len(endpoint.scan_once().quarantined) == 1 and not path.exists()
        forwarded = endpoint.forward_pending().forwarded
        assert len(forwarded) == 1 and forwarded[0].server_status == "quarantined"
        [sample] = qs.samples()
        assert (sample.computer, sample.user, sample.platform_port) == ("ws-alice", "alice", port)

        qs.agent().scan_pass()
        assert qs.samples()[0].status == "distribute"
        qs.agent().defcast_pass()
        endpoint.wait_idle()

        assert path.read_bytes() == HOST
        assert endpoint.active_sequence() == 2
        assert endpoint.items()[0].outcome == ConfirmationOutcome.REPAIRED
        assert qs.samples()[0].status == "installed"
        assert not list(endpoint.folders.outbox.glob("*.json"))
    finally:
        endpoint.stop()


def test_forward_retried_once_the_server_is_up(data_dir, packages, clock) -> None:
    port = _free_port()
    endpoint = _endpoint(data_dir, f"https://127.0.0.1:{port}", clock, packages)
    _drop(endpoint, "x/setup.exe", INFECTED)
    endpoint.scan_once()
    assert len(endpoint.forward_pending().retry_later) == 1
    config = _qs_config(data_dir)
    server = QuarantineServer(config, build_services(config, ManualClock()), ManualClock(), port)
    server.start()
    try:
        assert endpoint.forward_pending().forwarded == []  # not due yet
        clock.advance(61)
        assert len(endpoint.forward_pending().forwarded) == 1
        assert endpoint.items()[0].forward_status == ForwardStatus.FORWARDED
        [sample] = server.samples()
        assert sample.status == "quarantined" and sample.computer == "ws-alice"
    finally:
        endpoint.stop()
        server.stop()
        server.services.db.engine.dispose()


def test_confirmation_sent_after_an_outage_marks_the_sample_installed(
    data_dir, packages, qs, clock
) -> None:
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    endpoint.start_defcast(0)
    try:
        _drop(endpoint, "y.exe", INFECTED)
        endpoint.scan_once()
        endpoint.forward_pending()
        qs.agent().scan_pass()
        qs.stop()  # the intake goes down; the agent still pushes (it is another process)
        qs.agent().defcast_pass()
        endpoint.wait_idle()
        assert qs.samples()[0].status == "distributed"
        assert len(endpoint.outbox.pending()) == 1
        qs.start()  # same port
        assert endpoint.forward_pending().confirmations_sent == 0  # not due yet
        clock.advance(61)
        assert endpoint.forward_pending().confirmations_sent == 1
        assert qs.samples()[0].status == "installed"
        assert not endpoint.outbox.pending()
    finally:
        endpoint.stop()


def test_two_computers_are_told_apart_by_the_server(data_dir, packages, qs, clock) -> None:
    alice = _endpoint(data_dir, qs.url, clock, packages, ALICE)
    bob = _endpoint(data_dir, qs.url, clock, packages, BOB)
    try:
        for endpoint in (alice, bob):
            endpoint.start_defcast(0)
            _drop(endpoint, "common/tool.exe", INFECTED)
            endpoint.scan_once()
            endpoint.forward_pending()
        samples = qs.samples()
        assert sorted((s.computer, s.user) for s in samples) == [
            ("ws-alice", "alice"),
            ("ws-bob", "bob"),
        ]
        assert samples[0].sample_checksum == samples[1].sample_checksum
        assert samples[0].platform_port != samples[1].platform_port
        qs.agent().scan_pass()
        qs.agent().defcast_pass()
        alice.wait_idle()
        bob.wait_idle()
        assert [s.status for s in qs.samples()] == ["installed", "installed"]
        for endpoint in (alice, bob):
            assert (endpoint.folders.watch / "common/tool.exe").read_bytes() == HOST
    finally:
        alice.stop()
        bob.stop()


def test_two_dozen_computers_complete_the_loop(data_dir, packages, qs, clock) -> None:
    endpoints = [_endpoint(data_dir, qs.url, clock, packages, who) for who in fleet_identities(24)]
    try:
        for endpoint in endpoints:
            endpoint.start_defcast(0)
            _drop(endpoint, "app.exe", INFECTED)
            endpoint.scan_once()
            endpoint.forward_pending()
        qs.agent().scan_pass()
        qs.agent().defcast_pass()
        for endpoint in endpoints:
            endpoint.wait_idle()
        samples = qs.samples()
        assert len({s.computer for s in samples}) == 24
        assert {s.status for s in samples} == {"installed"}
        assert all((e.folders.watch / "app.exe").read_bytes() == HOST for e in endpoints)
    finally:
        for endpoint in endpoints:
            endpoint.stop()


def test_computer_without_listener_pulls_the_set_and_confirms(
    data_dir, packages, qs, clock
) -> None:
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    try:
        path = _drop(endpoint, "tools/calc.exe", INFECTED)
        endpoint.scan_once()
        endpoint.forward_pending()
        assert qs.samples()[0].platform_port is None
        qs.agent().scan_pass()
        qs.agent().defcast_pass()  # nowhere to push: the server only records that
        assert qs.samples()[0].status == "distribute"
        assert endpoint.pull_definitions() is True
        assert path.read_bytes() == HOST
        assert qs.samples()[0].status == "installed"
        assert endpoint.pull_definitions() is False  # nothing newer
    finally:
        endpoint.stop()


def test_an_endpoint_restarted_on_a_new_port_still_gets_its_cures(
    data_dir, packages, qs, clock
) -> None:
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    first_port = endpoint.start_defcast(0)
    path = _drop(endpoint, "downloads/first.exe", INFECTED)
    endpoint.scan_once()
    endpoint.forward_pending()
    endpoint.stop()  # restarted: the same computer, its listener on another port
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    second_port = endpoint.start_defcast(_free_port())
    assert second_port != first_port
    try:
        qs.agent().scan_pass()
        qs.agent().defcast_pass()  # pushes to the first port: nobody listens there any more
        assert qs.samples()[0].status == "distribute"
        endpoint.tick()  # a forwarded item waits for its cure: the endpoint pulls the set itself
        endpoint.wait_idle()
        assert path.read_bytes() == HOST and qs.samples()[0].status == "installed"
    finally:
        endpoint.stop()


def test_a_forward_from_the_new_port_moves_every_sample_of_that_computer(
    data_dir, packages, qs, clock
) -> None:
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    endpoint.start_defcast(0)
    _drop(endpoint, "downloads/first.exe", INFECTED)
    endpoint.scan_once()
    endpoint.forward_pending()
    endpoint.stop()
    endpoint = _endpoint(data_dir, qs.url, clock, packages)
    port = endpoint.start_defcast(_free_port())
    try:
        _drop(endpoint, "downloads/second.exe", INFECTED + b"2")
        endpoint.scan_once()
        endpoint.forward_pending()
        assert [s.platform_port for s in qs.samples()] == [port, port]
        qs.agent().scan_pass()
        qs.agent().defcast_pass()
        endpoint.wait_idle()
        assert [s.status for s in qs.samples()] == ["installed", "installed"]
    finally:
        endpoint.stop()

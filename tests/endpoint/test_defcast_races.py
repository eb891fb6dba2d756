"""Definitions that reach an endpoint before one of its items was ever forwarded (issue 20,
causes A and B), driven step by step: a real Endpoint object, the real Quarantine Server app
on loopback TLS, its agent's jobs called one by one, and the fake vendor gateway.

B: the set detects the file but cannot repair it. The endpoint decides 'not repaired' before
the item has a server id, so it cannot report it then; it must report it once the forward
gives it one. The server, finding the computer already on the set, must not record the
delivery without asking the endpoint, and the sample must end in a final status.

A: the set repairs the file before its first forward. The item is settled on the endpoint and
never forwarded; its record and the journal say so, with the set's sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from dis_core.certs import CertPaths
from dis_core.clock import ManualClock
from dis_core.config import load_config
from dis_core.definitions import build_full
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary.kinds import ConfirmationOutcome
from endpoint.item import ForwardStatus
from endpoint.machine import Endpoint
from endpoint.outbox import OLDER_SET, not_applied
from quarantine_server.models import Sample
from quarantine_server.services import build_services
from tests.support.fake_gateway import FakeGateway, Script, Vendor
from tests.support.servers import Running, serve

from .conftest import (
    ALICE,
    ENGINE,
    HOST,
    INFECTED,
    PRODUCED,
    Packages,
    endpoint_config,
    flag_signature,
    virus_signature,
)
from .test_with_quarantine_server import QuarantineServer

VIRUS = "Sim.TestAppender.A"


@pytest.fixture
def unrepairable(packages: Packages) -> bytes:
    """Set 2 that detects the test virus but has no repair for it."""
    virus = replace(virus_signature(), repair=None)
    return build_full(
        2, [flag_signature(), virus], certified=False, produced=PRODUCED, key=packages.key
    )


@pytest.fixture
def gateway_url(data_dir: Path, packages: Packages, tmp_path: Path) -> Iterator[str]:
    """The fake gateway; its vendor says of the test virus: not repairable, set 2 detects it."""
    fake = FakeGateway(Vendor(tmp_path / "published", packages.key))
    fake.scripts[sha256_hex(INFECTED)] = Script(
        ["norepair"], sequence=2, virus=VIRUS, repairable=False
    )
    running: Running = serve(fake.app(), CertPaths(data_dir / "certs"))
    yield running.url
    running.stop()


def _server(data_dir: Path, gateway_url: str, package: bytes) -> QuarantineServer:
    overrides = {
        "general": {"data_dir": str(data_dir), "quarantine_max_mb": 50},
        "definition_policy": {"engine": ENGINE},
        "web_communication": {"timeout_s": 10, "gateway_url": gateway_url},
    }
    config = load_config(None, environ={}, overrides=overrides)
    clock = ManualClock()
    server = QuarantineServer(config, build_services(config, clock), clock, 0)
    server.install(package)
    server.start()
    return server


@pytest.fixture
def qs_b(data_dir: Path, gateway_url: str, unrepairable: bytes) -> Iterator[QuarantineServer]:
    server = _server(data_dir, gateway_url, unrepairable)
    yield server
    server.stop()
    server.services.db.engine.dispose()


def _endpoint(data_dir: Path, url: str, clock: ManualClock, packages: Packages) -> Endpoint:
    endpoint = Endpoint(endpoint_config(data_dir, url, defcast_host="127.0.0.1"), ALICE, clock)
    endpoint.install_definitions(packages.old)
    endpoint.start_defcast(0)
    return endpoint


def _quarantine(endpoint: Endpoint, name: str) -> Path:
    """A file the old set only flags: quarantined on suspicion, not forwarded yet."""
    path = endpoint.folders.watch / name
    path.write_bytes(INFECTED)
    assert len(endpoint.scan_once().quarantined) == 1
    return path


def _history(server: QuarantineServer) -> list[str]:
    """The only sample's status moves, as 'status: reason' lines."""
    with server.services.work() as session:
        sample = session.scalars(select(Sample)).one()
        return [f"{h.after}: {h.reason}" for h in sample.history if h.field == "status"]


def test_not_repaired_before_the_first_forward_is_reported_and_the_sample_ends_installed(
    data_dir, packages, qs_b, unrepairable, clock
) -> None:
    endpoint = _endpoint(data_dir, qs_b.url, clock, packages)
    try:
        _quarantine(endpoint, "tool.exe")
        # a push for an earlier sample brings set 2 before this item's first forward; the
        # repair pass that follows it decides 'not repaired', then the item is forwarded
        assert endpoint.receive_definitions(unrepairable).installed
        endpoint.wait_idle()
        [item] = endpoint.items()
        assert (item.outcome, item.outcome_sequence) == (ConfirmationOutcome.NOT_REPAIRED, 2)
        assert item.forward_status == ForwardStatus.FORWARDED and item.server_id

        [pending] = endpoint.outbox.pending()  # the report, once the forward gave an id
        assert pending.confirmation["results"] == [
            {"sample_id": item.server_id, "outcome": "not_repaired"}
        ]
        agent = qs_b.agent()
        for _ in range(2):  # scan, submit, poll (norepair, set 2), rescan, Defcast
            agent.run_once()
        # the push of set 2 (which the endpoint already runs) makes it send the report the
        # server answered 'not yet' at once, not a retry interval later
        endpoint.wait_idle()

        [sample] = qs_b.samples()
        assert sample.status == "installed", _history(qs_b)
        assert sample.repaired is False
        assert any("confirmed sequence 2: not_repaired" in line for line in _history(qs_b))
        assert not endpoint.outbox.pending()
    finally:
        endpoint.stop()


@pytest.fixture
def qs_a(data_dir: Path, gateway_url: str, packages: Packages) -> Iterator[QuarantineServer]:
    server = _server(data_dir, gateway_url, packages.new)
    yield server
    server.stop()
    server.services.db.engine.dispose()


def test_repaired_before_the_first_forward_is_settled_here_and_never_forwarded(
    data_dir, packages, qs_a, clock
) -> None:
    endpoint = _endpoint(data_dir, qs_a.url, clock, packages)
    try:
        path = _quarantine(endpoint, "game.exe")
        assert endpoint.receive_definitions(packages.new).installed  # set 2 repairs it
        endpoint.wait_idle()
        clock.advance(61)
        endpoint.forward_pending()

        [item] = endpoint.items()
        assert path.read_bytes() == HOST
        assert item.forward_status == ForwardStatus.NOT_NEEDED and not item.server_id
        assert item.settled_locally_by == 2
        assert qs_a.samples() == []  # the server never heard of it, and need not
        [line] = [e for e in endpoint.journal.entries() if e["event"] == "repaired"]
        assert (line["item"], line["sequence"], line["forward_status"]) == (
            item.id,
            2,
            "not_needed",
        )
        assert not any(e["event"] == "forward" for e in endpoint.journal.entries())
        assert not endpoint.outbox.pending()
    finally:
        endpoint.stop()


def test_a_forwarded_item_is_not_settled_locally(data_dir, packages, qs_a, clock) -> None:
    endpoint = _endpoint(data_dir, qs_a.url, clock, packages)
    try:
        _quarantine(endpoint, "game.exe")
        endpoint.forward_pending()
        assert endpoint.receive_definitions(packages.new).installed
        endpoint.wait_idle()
        [item] = endpoint.items()
        assert item.outcome == ConfirmationOutcome.REPAIRED and item.server_id
        assert item.settled_locally_by is None
        assert qs_a.samples()[0].status == "installed"
    finally:
        endpoint.stop()


def test_the_outbox_gives_up_on_not_repaired_for_an_older_set_than_the_cure() -> None:
    results = [{"sample_id": "7", "outcome": "not_repaired"}, {"sample_id": "8", "outcome": "x"}]
    answer = {
        "results": [
            {"sample_id": 7, "applied": False, "reason": f"sequence 1 {OLDER_SET} (2)"},
            {"sample_id": 8, "applied": False, "reason": "status needed: not known yet"},
        ]
    }
    assert not_applied(results, answer) == [results[1]]

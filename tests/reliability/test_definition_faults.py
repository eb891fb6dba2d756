"""Damaged or wrongly signed definition sets, and clock jumps, in one Quarantine Server process
(its agent's jobs run step by step on a ManualClock against the fake gateway on loopback TLS).

A set that does not verify is never installed: the active set stays, the sample waiting for it
records the error and raises ``sample_install_failed``; once the gateway serves a good copy
and the sample is restarted it goes on. Clock jumps raise each 'too long' event once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from dis_core.certs import generate
from dis_core.clock import ManualClock
from dis_core.definitions import load_or_create_signing_key
from dis_core.protocol.packing import sha256_hex
from quarantine_server.agent import Agent
from quarantine_server.definitions import open_definitions
from tests.support.fake_gateway import FakeGateway, Script, Vendor
from tests.support.samples import forward_headers, host_program, infected
from tests.support.servers import serve

from .helpers import QuarantineApp, quarantine_app

CURE = "REL"  # the marker of the test virus that set NEEDED detects
NEEDED = 2


@dataclass
class Rig:
    qs: QuarantineApp
    gateway: FakeGateway
    agent: Agent

    @property
    def clock(self) -> ManualClock:
        return self.qs.clock

    def forward(self, tag: str) -> int:
        """Forward a sample that the gateway will say needs set NEEDED."""
        content = infected(CURE, host_program(tag))
        self.gateway.scripts[sha256_hex(content)] = Script(
            ["infected"], sequence=NEEDED, virus=f"Sim.Test.{CURE}"
        )
        headers, body = forward_headers(content, sample_id=tag)
        reply = self.qs.client().post("/intake/v1/samples", headers=headers, data=body)
        assert reply.status_code == 201, reply.data
        return int(reply.get_json()["id"])

    def status(self, sample_id: int) -> str:
        return str(
            self.qs.client()
            .get(f"/api/v1/samples/{sample_id}", headers=self.qs.bearer)
            .get_json()["status"]
        )

    def events(self) -> list[str]:
        reply = self.qs.client().get("/api/v1/events?per_page=500", headers=self.qs.bearer)
        return [str(item["event"]) for item in reply.get_json()["items"]]

    def active(self) -> int:
        return open_definitions(self.qs.services, self.qs.config).active_sequence

    def cycle(self, rounds: int = 3, step_s: float = 60) -> None:
        for _ in range(rounds):
            self.agent.run_once()
            self.clock.advance(step_s)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    data = tmp_path / "data"
    certs = generate(data / "certs")
    vendor = Vendor(
        tmp_path / "published", load_or_create_signing_key(data / "backoffice" / "keys")
    )
    vendor.publish(certified=True)  # set 1: nothing in it, installed from the start
    vendor.publish(CURE)  # set 2 = NEEDED: the cure
    gateway = FakeGateway(vendor)
    running = serve(gateway.app(), certs)
    qs = quarantine_app(data, web_communication={"gateway_url": running.url, "timeout_s": 5})
    open_definitions(qs.services, qs.config).install(vendor.package(1))
    yield Rig(qs, gateway, Agent(qs.services))
    running.stop()
    qs.close()


def test_the_good_path_installs_the_needed_set(rig: Rig) -> None:
    sample_id = rig.forward("good")
    rig.cycle()
    assert rig.active() == 2
    assert rig.status(sample_id) in {"distribute", "not installed", "unneeded", "installed"}


@pytest.mark.parametrize("damage", ["corrupt", "foreign"])
def test_a_bad_set_is_refused_reported_and_the_sample_recovers(rig: Rig, damage: str) -> None:
    served_badly: set[int] = getattr(rig.gateway, damage)  # FakeGateway.corrupt or .foreign
    served_badly.update({1, NEEDED})  # every set the gateway has
    sample_id = rig.forward(damage)
    rig.cycle()
    assert rig.active() == 1  # the damaged or foreign set never became active
    assert "sample_install_failed" in rig.events()
    assert rig.status(sample_id) == "error"
    served_badly.clear()
    reply = rig.qs.client().post(f"/api/v1/samples/{sample_id}/restart", headers=rig.qs.bearer)
    assert reply.status_code in (200, 202, 204), reply.data
    rig.cycle(4)
    assert rig.active() == 2
    assert rig.status(sample_id) in {"distribute", "not installed", "unneeded", "installed"}


def _gateway_url(rig: Rig, url: str) -> None:
    reply = rig.qs.client().patch(
        "/api/v1/properties/web_communication", headers=rig.qs.bearer, json={"gateway_url": url}
    )
    assert reply.status_code == 200, reply.data


def test_clock_jumps_raise_each_threshold_once_and_break_nothing(rig: Rig) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"https://127.0.0.1:{closed.getsockname()[1]}"
    good = rig.qs.config.web_communication.gateway_url
    _gateway_url(rig, dead)
    sample_id = rig.forward("jump")
    rig.cycle(2)
    assert rig.status(sample_id) == "released"
    for _ in range(3):  # three jumps of ten days each, every job twice after each jump
        rig.clock.advance(timedelta(days=10).total_seconds())
        rig.cycle(2, step_s=1)
    events = rig.events()
    assert events.count("sample_too_long_released") == 1, events
    assert 1 <= events.count("gateway_unreachable") <= 4, events  # once per quiet hour, not a flood
    assert rig.status(sample_id) == "released"  # waiting, not failed
    _gateway_url(rig, good)
    rig.cycle(4)
    assert rig.active() == 2
    assert rig.status(sample_id) in {"distribute", "not installed", "unneeded", "installed"}
    assert rig.events().count("sample_too_long_released") == 1


def test_clock_jumps_raise_no_heartbeat_false_alarms(rig: Rig) -> None:
    rig.forward("alarm")
    rig.cycle(2)
    for _ in range(3):
        rig.clock.advance(timedelta(days=10).total_seconds())
        rig.cycle(2, step_s=1)
    events = rig.events()
    assert "scanner_unreachable" not in events and "agent_stopped" not in events, events

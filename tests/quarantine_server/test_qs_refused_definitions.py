"""An installed definition set that stops verifying (a byte flipped in its stored package, or
the package replaced by one a stranger signed) is refused: the previous set is active again,
scanning goes on with it, the definitions endpoint keeps answering, and the event is
'unable to install definitions' (issue 19, item 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Server
from qs_helpers import forward

from dis_core.definitions import SigningKey, build_full, read_package
from quarantine_server.definitions import open_definitions
from tests.support.samples import WHEN, infected


def _active_package(server: Server) -> Path:
    root = server.services.definitions_root(server.config)
    return root / os.readlink(root / "active") / "package.def"


def _flip_a_byte(package: bytes, server: Server) -> bytes:
    damaged = bytearray(package)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def _signed_by_a_stranger(package: bytes, server: Server) -> bytes:
    genuine = read_package(package, server.vendor.key.verify_key())
    return build_full(
        genuine.sequence,
        genuine.signatures,
        certified=genuine.certified,
        produced=WHEN,
        key=SigningKey.generate(),
    )


def _two_sets_installed(server: Server) -> None:
    agent = server.agent()
    server.vendor.publish("ONE", certified=True)
    assert agent.certified_pass() == 1
    server.vendor.publish("TWO", certified=True)
    assert agent.certified_pass() == 2


@pytest.mark.parametrize("tamper", [_flip_a_byte, _signed_by_a_stranger])
def test_a_tampered_active_set_is_refused_and_the_previous_one_scans(
    server: Server, tamper
) -> None:
    _two_sets_installed(server)
    stored = _active_package(server)
    stored.chmod(0o600)
    stored.write_bytes(tamper(stored.read_bytes(), server))

    reply = server.http.get(f"{server.url}/intake/v1/definitions/active", timeout=10)
    assert reply.status_code == 200 and reply.headers["X-Signatures-Sequence"] == "1"
    known = forward(server.http, server.url, infected("ONE"), sample_id="a").json()["id"]
    novel = forward(server.http, server.url, infected("TWO"), sample_id="b").json()["id"]
    assert server.agent().scan_pass() == 2
    assert server.sample(known)["status"] == "distribute"  # set 1 cures it
    assert server.sample(novel)["status"] == "released"  # set 1 does not know it: to the vendor
    assert server.api("GET", "/definitions").json()["active"]["sequence"] == 1

    [event] = server.events("sample_install_failed")
    assert "refused" in event["message"] and "set 1 is active again" in event["message"]
    root = server.services.definitions_root(server.config)
    assert [p.name for p in (root / "refused").iterdir()] != []
    assert open_definitions(server.services, server.config).active_sequence == 1
    assert len(server.events("sample_install_failed")) == 1  # said once, not per look


def test_a_refused_set_is_fetched_again_from_the_gateway(server: Server) -> None:
    _two_sets_installed(server)
    stored = _active_package(server)
    stored.chmod(0o600)
    stored.write_bytes(_flip_a_byte(stored.read_bytes(), server))
    assert server.agent().certified_pass() == 2  # the vendor's genuine set 2 comes back
    reply = server.http.get(f"{server.url}/intake/v1/definitions/active", timeout=10)
    assert reply.status_code == 200 and reply.headers["X-Signatures-Sequence"] == "2"


def test_with_no_good_set_left_nothing_is_active_and_samples_still_move(server: Server) -> None:
    agent = server.agent()
    server.vendor.publish("ONE", certified=True)
    assert agent.certified_pass() == 1
    stored = _active_package(server)
    stored.chmod(0o600)
    stored.write_bytes(_flip_a_byte(stored.read_bytes(), server))
    sample = forward(server.http, server.url, infected("ONE")).json()["id"]
    reply = server.http.get(f"{server.url}/intake/v1/definitions/active", timeout=10)
    assert reply.status_code == 404 and reply.json()["error"] == "unavailable"
    assert agent.scan_pass() == 1
    assert server.sample(sample)["status"] == "released"  # unscanned here: the vendor decides
    assert "no set is active" in server.events("sample_install_failed")[0]["message"]


@pytest.mark.parametrize("damage", ["corrupt", "foreign"])
def test_a_bad_certified_set_from_the_gateway_is_reported_though_no_sample_waits(
    server: Server, damage: str
) -> None:
    agent = server.agent()
    server.vendor.publish("ONE", certified=True)
    assert agent.certified_pass() == 1
    server.vendor.publish("TWO", certified=True)
    getattr(server.gateway, damage).add(2)  # FakeGateway.corrupt or .foreign
    server.gateway.corrupt_increments = True
    assert agent.certified_pass() == 1  # refused: set 1 stays
    assert agent.certified_pass() == 1
    [event] = server.events("sample_install_failed")
    assert "set 2" in event["message"]
    sample = forward(server.http, server.url, infected("ONE")).json()["id"]
    assert agent.scan_pass() == 1 and server.sample(sample)["status"] == "distribute"

"""Fault injection through the admin endpoint and through configuration (Flask test client)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from flask.testing import FlaskClient

from dis_core.clock import ManualClock
from gateway_sim.app import create_app
from tests.support.fake_gateway import Vendor
from tests.support.samples import host_program, infected, marker_signature

from .conftest import ADMIN, make_config
from .helpers import FakeLink, packed

FAULTS = "/gateway/admin/v1/faults"
URL = "/gateway/v1/samples"


def put(client: FlaskClient, **values: object) -> dict:  # type: ignore[type-arg]
    reply = client.put(FAULTS, json=values, headers=ADMIN)
    assert reply.status_code == 200, reply.json
    assert reply.json is not None
    return dict(reply.json["faults"])


def test_admin_needs_the_bearer_token(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}):
        reply = client.get(FAULTS, headers=headers)
        assert (
            reply.status_code == 401
            and reply.json is not None
            and reply.json["error"] == "unauthorized"
        )
    assert client.get(FAULTS, headers=ADMIN).status_code == 200


def test_generated_admin_token_is_private(
    tmp_path: Path, clock: ManualClock, link: FakeLink
) -> None:
    application = create_app(make_config(tmp_path / "d"), clock=clock, link=link)
    try:
        token_file = tmp_path / "d" / "gateway" / "admin.token"
        token = token_file.read_text().strip()
        assert len(token) >= 32 and stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        reply = application.test_client().get(FAULTS, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200
    finally:
        application.extensions["gateway"].dispose()


def test_set_show_and_reset_faults(client: FlaskClient) -> None:
    assert put(client, decline_all=True, delay_s=0)["decline_all"] is True
    assert client.get(FAULTS, headers=ADMIN).json["faults"]["decline_all"] is True  # type: ignore[index]
    reset = client.delete(FAULTS, headers=ADMIN).json
    assert reset is not None and reset["faults"]["decline_all"] is False


def test_bad_fault_values_are_refused(client: FlaskClient) -> None:
    for body in (
        {"explode": True},
        {"decline_all": "yes"},
        {"delay_s": -1},
        {"hold_definitions_above": 1.5},
        [1],
    ):
        reply = client.put(FAULTS, json=body, headers=ADMIN)
        assert (
            reply.status_code == 400
            and reply.json is not None
            and reply.json["error"] == "malformed"
        ), body


def test_decline_everything(client: FlaskClient, link: FakeLink) -> None:
    put(client, decline_all=True)
    headers, body = packed(host_program("decline-all"))
    reply = client.post(URL, headers=headers, data=body)
    assert reply.status_code == 403 and reply.headers["X-Error"] == "declined"
    assert "fault injection" in reply.json["message"]  # type: ignore[index]
    assert link.imports == []


def test_decline_everything_beats_known_results(client: FlaskClient, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    put(client, decline_all=True)
    headers, body = packed(infected("APPENDED", host_program("decline-known")))
    assert client.post(URL, headers=headers, data=body).headers["X-Analysis-State"] == "declined"


def test_internal_errors(client: FlaskClient, link: FakeLink) -> None:
    put(client, internal_errors=True)
    headers, body = packed(host_program("internal-fault"))
    reply = client.post(URL, headers=headers, data=body)
    assert reply.status_code == 500 and reply.headers["X-Error"] == "internal"
    assert reply.headers["X-Analysis-State"] == "abort"
    status = client.get(f"/gateway/v1/samples/{reply.headers['X-Analysis-Cookie']}")
    assert status.status_code == 500 and status.headers["X-Error"] == "internal"
    assert client.get("/gateway/v1/definitions/newest").headers["X-Error"] == "internal"
    assert link.imports == []


def test_delay(client: FlaskClient) -> None:
    put(client, delay_s=0.3)
    started = time.monotonic()
    client.get("/gateway/v1/samples/gw-none")
    assert time.monotonic() - started >= 0.3
    put(client, delay_s=0)
    started = time.monotonic()
    client.get("/gateway/v1/samples/gw-none")
    assert time.monotonic() - started < 0.3


def test_drop_transfers_records_lost(client: FlaskClient, link: FakeLink) -> None:
    put(client, drop_transfers=True)
    headers, body = packed(host_program("dropped", 4000))
    reply = client.post(URL, headers=headers, data=body)
    assert reply.headers["X-Error"] == "lost"
    status = client.get(f"/gateway/v1/samples/{reply.headers['X-Analysis-Cookie']}")
    assert status.headers["X-Analysis-State"] == "error" and status.headers["X-Error"] == "lost"
    assert link.imports == []


def test_drop_transfers_cuts_downloads_in_half(client: FlaskClient, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    whole = client.get("/gateway/v1/definitions/1").data
    put(client, drop_transfers=True)
    cut = client.get("/gateway/v1/definitions/1")
    assert cut.headers["Content-Length"] == str(len(whole))
    assert cut.data == whole[: len(whole) // 2]


def test_refuse_connections_without_a_socket_answers_503(client: FlaskClient) -> None:
    put(client, refuse_connections=True)
    reply = client.get("/gateway/v1/samples/gw-none")
    assert reply.status_code == 503 and reply.headers["Connection"] == "close"
    assert client.get(FAULTS, headers=ADMIN).status_code == 200  # the admin side still answers


def test_faults_from_configuration(tmp_path: Path, clock: ManualClock, link: FakeLink) -> None:
    application = create_app(
        make_config(tmp_path / "d", admin_token="t", fault_decline_all=True), clock=clock, link=link
    )
    try:
        client = application.test_client()
        headers, body = packed(host_program("configured"))
        assert client.post(URL, headers=headers, data=body).status_code == 403
        admin = {"Authorization": "Bearer t"}
        client.put(FAULTS, json={"decline_all": False}, headers=admin)
        headers, body = packed(host_program("configured-2"))
        assert client.post(URL, headers=headers, data=body).status_code == 202
        assert client.delete(FAULTS, headers=admin).json["faults"]["decline_all"] is True  # type: ignore[index]
    finally:
        application.extensions["gateway"].dispose()


def test_corrupt_next_definitions_damages_one_full_download(
    client: FlaskClient, publisher: Vendor
) -> None:
    import hashlib

    import pytest

    from dis_core.definitions import DefinitionError, read_package

    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    whole = client.get("/gateway/v1/definitions/1").data
    assert put(client, corrupt_next_definitions=True)["corrupt_next_definitions"] is True
    assert client.head("/gateway/v1/definitions/1").status_code == 200  # HEAD does not use it up
    damaged = client.get("/gateway/v1/definitions/1")
    assert damaged.data != whole and len(damaged.data) == len(whole)
    assert damaged.headers["X-Signatures-Checksum"] == hashlib.sha256(damaged.data).hexdigest()
    with pytest.raises(DefinitionError):
        read_package(damaged.data, publisher.key.verify_key())
    assert client.get("/gateway/v1/definitions/1").data == whole  # one shot only
    assert client.get(FAULTS, headers=ADMIN).json["faults"]["corrupt_next_definitions"] is False  # type: ignore[index]

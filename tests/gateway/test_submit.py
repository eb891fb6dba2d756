"""Submission through the Flask test client: states, cookie, tracking, back office hand-off."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from dis_core.clock import ManualClock
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary import SampleState
from gateway_sim.models import Submission
from tests.support.samples import host_program

from .conftest import ADMIN
from .helpers import FakeLink, packed


def post(client: FlaskClient, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    return client.post("/gateway/v1/samples", headers=headers, data=body)


def test_novel_sample_goes_to_the_back_office(client: FlaskClient, link: FakeLink) -> None:
    content = host_program("novel")
    headers, body = packed(content)
    reply = post(client, headers, body)
    assert reply.status_code == 202
    cookie = reply.headers["X-Analysis-Cookie"]
    assert reply.headers["X-Analysis-State"] == "imported"
    assert reply.headers["X-Analysis-Filter"] == "backoffice"
    assert reply.json is not None and reply.json["cookie"] == cookie
    assert [(c, s, data) for c, s, data, _ in link.imports] == [
        (cookie, sha256_hex(content), content)
    ]
    assert link.imports[0][3]["X-Customer-Name"] == "Example Corp"


def test_history_shows_the_transit_states(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    headers, body = packed(host_program("history"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    with app.extensions["gateway"].sessions() as session:
        submission = session.scalars(select(Submission).where(Submission.cookie == cookie)).one()
        states = [h.after for h in submission.history]
        assert states == ["receiving", "accepted", "importing", "imported"]
        assert submission.customer_name == "Example Corp"
        assert submission.customer_account == "ACME-1"
        assert submission.contact_name == "Pat Admin"
        assert submission.contact_telephone == "+1 555 0100"
        assert submission.contact_email == "pat@example.invalid"
        assert submission.quarantine_server == "qserver-test"
        assert submission.attributes["X-Sample-Priority"] == "500"
        assert submission.content_kind == "program"
        assert submission.settled_by == "backoffice"


def test_status_by_cookie_follows_the_back_office(
    client: FlaskClient, link: FakeLink, clock: ManualClock
) -> None:
    headers, body = packed(host_program("follow"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    assert client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "imported"
    link.finish(
        cookie,
        SampleState.INFECTED,
        clock.now(),
        virus_name="Sim.Appender.B",
        sequence=7,
        repairable=True,
        signature_id="S7",
    )
    reply = client.get(f"/gateway/v1/samples/{cookie}")
    assert reply.status_code == 200
    assert reply.headers["X-Analysis-State"] == "infected"
    assert reply.headers["X-Signatures-Sequence"] == "7"
    assert reply.headers["X-Analysis-Virus-Name"] == "Sim.Appender.B"
    assert reply.headers["X-Analysis-Repairable"] == "yes"
    assert reply.headers["X-Date-Analyzed"].startswith("2026-01-01T")
    assert reply.json is not None and reply.json["sequence"] == 7


def test_status_by_sample_checksum(client: FlaskClient) -> None:
    content = host_program("by-checksum")
    headers, body = packed(content)
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    reply = client.get(f"/gateway/v1/samples?checksum={sha256_hex(content)}")
    assert reply.status_code == 200
    assert reply.headers["X-Analysis-Cookie"] == cookie


def test_status_while_the_back_office_has_not_moved_keeps_the_state(
    client: FlaskClient, link: FakeLink
) -> None:
    headers, body = packed(host_program("quiet"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    link.statuses.clear()  # the back office forgot nothing, it just reports nothing new
    assert client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "imported"


def test_admin_lists_submissions_with_history(client: FlaskClient) -> None:
    headers, body = packed(host_program("listed"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    listing = client.get(f"/gateway/admin/v1/submissions?cookie={cookie}", headers=ADMIN).json
    assert listing is not None
    (row,) = listing["submissions"]
    assert row["customer"]["account"] == "ACME-1"
    assert [h["after"] for h in row["history"]] == [
        "receiving",
        "accepted",
        "importing",
        "imported",
    ]


def test_back_office_errors_reach_the_status_reply(
    client: FlaskClient, link: FakeLink, clock: ManualClock
) -> None:
    headers, body = packed(host_program("bo-error"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    link.finish(
        cookie, SampleState.ERROR, clock.now(), error="internal", error_detail="emulator crashed"
    )
    reply = client.get(f"/gateway/v1/samples/{cookie}")
    assert reply.status_code == 200
    assert reply.headers["X-Analysis-State"] == "error"
    assert reply.headers["X-Error"] == "internal"
    assert reply.headers["X-Error-Detail"] == "emulator crashed"
    assert "X-Date-Analyzed" in reply.headers


def test_a_signature_that_misfired_later_is_reported(
    client: FlaskClient, link: FakeLink, clock: ManualClock
) -> None:
    headers, body = packed(host_program("misfire"))
    cookie = post(client, headers, body).headers["X-Analysis-Cookie"]
    link.finish(cookie, SampleState.INFECTED, clock.now(), sequence=4, virus_name="Sim.Wrong")
    assert client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "infected"
    link.finish(cookie, SampleState.MISFIRED, clock.now(), sequence=5)
    reply = client.get(f"/gateway/v1/samples/{cookie}")
    assert reply.headers["X-Analysis-State"] == "misfired"
    assert reply.headers["X-Signatures-Sequence"] == "5"

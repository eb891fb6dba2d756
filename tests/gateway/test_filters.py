"""Each filter path, in order: known result, piggyback, certified set, newest set, known-clean, policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dis_core.clock import ManualClock
from dis_core.config import Config
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary import SampleState
from gateway_sim.app import create_app
from tests.support.fake_gateway import Vendor
from tests.support.samples import host_program, infected, marker_signature

from .conftest import make_config
from .helpers import FakeLink, packed

URL = "/gateway/v1/samples"


def submit(client: FlaskClient, content: bytes, **extra: object):  # type: ignore[no-untyped-def]
    headers, body = packed(content, **extra)
    return client.post(URL, headers=headers, data=body)


@pytest.fixture
def custom_app(tmp_path: Path, clock: ManualClock, link: FakeLink):  # type: ignore[no-untyped-def]
    made: list[Flask] = []

    def build(**gateway: object) -> FlaskClient:
        application = create_app(
            make_config(tmp_path / f"custom{len(made)}", **gateway), clock=clock, link=link
        )
        made.append(application)
        return application.test_client()

    yield build
    for application in made:
        application.extensions["gateway"].dispose()


def test_duplicate_in_progress_piggybacks_on_the_same_cookie(
    client: FlaskClient, link: FakeLink
) -> None:
    content = host_program("dup")
    first = submit(client, content)
    second = submit(client, content)
    assert second.status_code == 202
    assert second.headers["X-Analysis-Cookie"] == first.headers["X-Analysis-Cookie"]
    assert second.headers["X-Analysis-Filter"] == "piggyback"
    assert second.headers["X-Analysis-State"] == "imported"
    assert len(link.imports) == 1  # no second analysis


def test_followers_see_the_final_result(
    client: FlaskClient, link: FakeLink, clock: ManualClock, app: Flask
) -> None:
    content = host_program("follower")
    cookie = submit(client, content).headers["X-Analysis-Cookie"]
    submit(client, content)
    link.finish(cookie, SampleState.UNINFECTED, clock.now())
    assert client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "uninfected"
    from sqlalchemy import select

    from gateway_sim.models import Submission

    with app.extensions["gateway"].sessions() as session:
        states = session.scalars(select(Submission.state).where(Submission.cookie == cookie)).all()
    assert states == ["uninfected", "uninfected"]


def test_known_final_result_is_answered_at_once(
    client: FlaskClient, link: FakeLink, clock: ManualClock
) -> None:
    content = host_program("known")
    cookie = submit(client, content).headers["X-Analysis-Cookie"]
    link.finish(
        cookie,
        SampleState.INFECTED,
        clock.now(),
        virus_name="Sim.Known",
        sequence=3,
        repairable=True,
    )
    client.get(f"/gateway/v1/samples/{cookie}")
    again = submit(client, content)
    assert again.headers["X-Analysis-Cookie"] == cookie
    assert again.headers["X-Analysis-Filter"] == "known-result"
    assert again.headers["X-Analysis-State"] == "infected"
    assert again.headers["X-Signatures-Sequence"] == "3"
    assert again.headers["X-Analysis-Virus-Name"] == "Sim.Known"
    assert "X-Date-Analyzed" in again.headers
    assert len(link.imports) == 1


def test_certified_definitions_detect_and_repair(
    client: FlaskClient, publisher: Vendor, link: FakeLink
) -> None:
    certified = publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=False)
    reply = submit(client, infected("APPENDED", host_program("certified")))
    assert reply.status_code == 202
    assert reply.headers["X-Analysis-Filter"] == "certified-definitions"
    assert reply.headers["X-Analysis-State"] == "infected"
    assert reply.headers["X-Signatures-Sequence"] == str(certified)
    assert reply.headers["X-Analysis-Virus-Name"] == "Sim.Test.APPENDED"
    assert reply.headers["X-Analysis-Repairable"] == "yes"
    assert link.imports == []


def test_newest_definitions_when_the_certified_set_misses(
    client: FlaskClient, publisher: Vendor, link: FakeLink
) -> None:
    publisher.publish_set([marker_signature("UNRELATED", 1, repairable=False)], certified=True)
    newest = publisher.publish_set([marker_signature("APPENDED", 2)], certified=False)
    reply = submit(client, infected("APPENDED", host_program("newest")))
    assert reply.headers["X-Analysis-Filter"] == "newest-definitions"
    assert reply.headers["X-Signatures-Sequence"] == str(newest)
    assert link.imports == []


def test_detection_without_repair_still_goes_to_the_back_office(
    client: FlaskClient, publisher: Vendor, link: FakeLink
) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1, repairable=False)], certified=True)
    reply = submit(client, infected("APPENDED", host_program("detect-only")))
    assert reply.headers["X-Analysis-Filter"] == "backoffice"
    assert len(link.imports) == 1


def test_clean_sample_passes_the_definitions(
    client: FlaskClient, publisher: Vendor, link: FakeLink
) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    assert submit(client, host_program("clean")).headers["X-Analysis-Filter"] == "backoffice"


def test_known_clean_list(custom_app, tmp_path: Path, link: FakeLink) -> None:  # type: ignore[no-untyped-def]
    content = host_program("known-clean")
    listing = tmp_path / "clean.txt"
    listing.write_text(f"# vendor's goodware\n{sha256_hex(content).upper()}\nnot-a-hash\n")
    client = custom_app(known_clean_file=str(listing))
    reply = submit(client, content)
    assert reply.headers["X-Analysis-Filter"] == "known-clean"
    assert reply.headers["X-Analysis-State"] == "uninfected"
    assert link.imports == []
    assert submit(client, host_program("other")).headers["X-Analysis-Filter"] == "backoffice"


def test_declined_unknown_customer(custom_app, link: FakeLink) -> None:  # type: ignore[no-untyped-def]
    client = custom_app(known_customers=["ACME-2"])
    reply = submit(client, host_program("stranger"))
    assert reply.status_code == 403 and reply.headers["X-Error"] == "declined"
    assert reply.headers["X-Analysis-State"] == "declined"
    assert reply.headers["X-Analysis-Filter"] == "policy"
    assert "not known" in reply.json["message"]
    assert link.imports == []
    assert (
        submit(client, host_program("friend"), **{"X-Customer-Account": "ACME-2"}).status_code
        == 202
    )


def test_declined_content_kind(custom_app) -> None:  # type: ignore[no-untyped-def]
    client = custom_app(declined_types=["text"])
    reply = submit(client, b"just some notes, nothing executable\n")
    assert reply.status_code == 403 and "kind 'text'" in reply.json["message"]
    assert submit(client, host_program("program")).status_code == 202


def test_declined_over_the_daily_quota(custom_app, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    client = custom_app(customer_quota_per_day=2)
    assert submit(client, host_program("q1")).status_code == 202
    assert submit(client, host_program("q2")).status_code == 202
    third = submit(client, host_program("q3"))
    assert third.status_code == 403 and "daily quota" in third.json["message"]
    other_customer = submit(client, host_program("q4"), **{"X-Customer-Account": "ACME-9"})
    assert other_customer.status_code == 202
    clock.advance(24 * 3600)
    assert submit(client, host_program("q5")).status_code == 202


def test_a_declined_result_is_not_reused(custom_app, link: FakeLink) -> None:  # type: ignore[no-untyped-def]
    client = custom_app(known_customers=["ACME-2"])
    content = host_program("declined-once")
    assert submit(client, content).status_code == 403
    reply = submit(client, content, **{"X-Customer-Account": "ACME-2"})
    assert reply.status_code == 202 and reply.headers["X-Analysis-Filter"] == "backoffice"


def test_first_hit_wins_known_result_before_definitions(
    client: FlaskClient, publisher: Vendor, link: FakeLink, clock: ManualClock, config: Config
) -> None:
    content = infected("APPENDED", host_program("order"))
    cookie = submit(client, content).headers[
        "X-Analysis-Cookie"
    ]  # nothing published yet: back office
    link.finish(cookie, SampleState.NOREPAIR, clock.now(), virus_name="Sim.Order")
    client.get(f"/gateway/v1/samples/{cookie}")
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    again = submit(client, content)
    assert again.headers["X-Analysis-Filter"] == "known-result"
    assert again.headers["X-Analysis-State"] == "norepair"

"""Every protocol error the gateway produces on submission and status, each from its real cause."""

from __future__ import annotations

import io
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dis_core.protocol.packing import sha256_hex
from gateway_sim.models import Submission
from tests.support.samples import host_program

from .conftest import make_config
from .helpers import FakeLink, packed

URL = "/gateway/v1/samples"


def recorded(app: Flask, cookie: str) -> Submission:
    with app.extensions["gateway"].sessions() as session:
        submission = session.scalars(select(Submission).where(Submission.cookie == cookie)).one()
        _ = (submission.history, submission.errors)
        return submission


def assert_refused(reply, error: str, status: int) -> str:  # type: ignore[no-untyped-def]
    assert reply.status_code == status, reply.json
    assert reply.headers["X-Error"] == error
    assert reply.json["error"] == error and reply.json["message"]
    return str(reply.headers.get("X-Analysis-Cookie", ""))


@pytest.mark.parametrize(
    ("mutate", "error", "status"),
    [
        (lambda h, b: ({k: v for k, v in h.items() if k != "X-Customer-Name"}, b), "missing", 400),
        (lambda h, b: ({**h, "X-Sample-Size": "lots"}, b), "malformed", 400),
        (lambda h, b: ({**h, "X-Sample-Type": "boot"}, b), "type", 415),
        (lambda h, b: (h, b + b"!"), "overrun", 400),
        (lambda h, b: (h, b[:-1]), "underrun", 400),
        (lambda h, b: (h, bytes([b[0] ^ 1]) + b[1:]), "content", 422),
        (lambda h, b: ({**h, "X-Sample-Checksum": sha256_hex(b"another file")}, b), "sample", 422),
    ],
    ids=["missing", "malformed", "type", "overrun", "underrun", "content", "sample"],
)
def test_submission_errors(
    client: FlaskClient, app: Flask, link: FakeLink, mutate, error: str, status: int
) -> None:  # type: ignore[no-untyped-def]
    headers, body = mutate(*packed(host_program("errors")))
    cookie = assert_refused(client.post(URL, headers=headers, data=body), error, status)
    submission = recorded(app, cookie)
    assert submission.state == "error" and submission.error == error
    assert [h.after for h in submission.history] == ["receiving", "error"]
    assert [e.error for e in submission.errors] == [error]
    assert submission.date_analyzed is not None
    assert link.imports == []
    status_reply = client.get(f"/gateway/v1/samples/{cookie}")
    assert status_reply.status_code == 200 and status_reply.headers["X-Error"] == error


def test_unpackage_when_the_body_does_not_inflate(client: FlaskClient, app: Flask) -> None:
    content = host_program("unpack")
    headers, _ = packed(content)
    garbage = b"this is not zlib data at all" * 3
    headers.update(
        {
            "X-Content-Scrambling": "none",
            "X-Content-Checksum": sha256_hex(garbage),
            "X-Content-Length": str(len(garbage)),
        }
    )
    headers.pop("X-Content-Scrambling-Key", None)
    cookie = assert_refused(client.post(URL, headers=headers, data=garbage), "unpackage", 422)
    assert recorded(app, cookie).error == "unpackage"


def test_unpackage_when_the_body_inflates_past_the_declared_size(client: FlaskClient) -> None:
    content = host_program("bomb")
    headers, _ = packed(content)
    bomb = zlib.compress(b"\x00" * 100_000)
    headers.update(
        {
            "X-Content-Scrambling": "none",
            "X-Content-Checksum": sha256_hex(bomb),
            "X-Content-Length": str(len(bomb)),
        }
    )
    headers.pop("X-Content-Scrambling-Key", None)
    assert_refused(client.post(URL, headers=headers, data=bomb), "unpackage", 422)


def test_lost_when_the_body_ends_before_content_length(client: FlaskClient, app: Flask) -> None:
    headers, body = packed(host_program("lost", 5000))
    half = io.BytesIO(body[: len(body) // 2])
    reply = client.post(
        URL,
        headers=headers,
        input_stream=half,
        environ_overrides={"CONTENT_LENGTH": str(len(body))},
    )
    cookie = assert_refused(reply, "lost", 400)
    submission = recorded(app, cookie)
    assert submission.state == "error" and submission.error == "lost"
    assert "broke after" in (submission.error_detail or "")


def test_declined_when_the_sample_is_larger_than_allowed(tmp_path, clock, link) -> None:  # type: ignore[no-untyped-def]
    from gateway_sim.app import create_app

    application = create_app(
        make_config(tmp_path / "small", max_sample_mb=1), clock=clock, link=link
    )
    try:
        content = bytes(range(256)) * 5000  # 1.28 MB, compresses well: the declared size decides
        headers, body = packed(content)
        reply = application.test_client().post(URL, headers=headers, data=body)
        cookie = assert_refused(reply, "declined", 403)
        assert reply.headers["X-Analysis-State"] == "declined"
        assert recorded(application, cookie).state == "declined"
        assert link.imports == []
    finally:
        application.extensions["gateway"].dispose()


def test_internal_when_the_back_office_fails(
    client: FlaskClient, app: Flask, link: FakeLink
) -> None:
    link.fail_import = True
    headers, body = packed(host_program("internal"))
    cookie = assert_refused(client.post(URL, headers=headers, data=body), "internal", 500)
    submission = recorded(app, cookie)
    assert submission.state == "abort" and submission.error == "internal"
    assert [h.after for h in submission.history] == ["receiving", "accepted", "importing", "abort"]
    assert "locked" in (submission.error_detail or "")


def test_a_failed_transfer_is_not_reused_as_a_result(client: FlaskClient, link: FakeLink) -> None:
    headers, body = packed(host_program("retry"))
    assert client.post(URL, headers=headers, data=body[:-1]).status_code == 400
    reply = client.post(URL, headers=headers, data=body)
    assert reply.status_code == 202 and reply.headers["X-Analysis-Filter"] == "backoffice"
    assert len(link.imports) == 1


def test_crumbled_for_an_unknown_cookie(client: FlaskClient) -> None:
    assert_refused(client.get("/gateway/v1/samples/gw-never-given"), "crumbled", 404)


def test_crumbled_for_an_unknown_checksum(client: FlaskClient) -> None:
    assert_refused(client.get(f"/gateway/v1/samples?checksum={sha256_hex(b'x')}"), "crumbled", 404)


def test_status_by_checksum_needs_a_valid_checksum(client: FlaskClient) -> None:
    assert_refused(client.get("/gateway/v1/samples"), "missing", 400)
    assert_refused(client.get("/gateway/v1/samples?checksum=abc"), "malformed", 400)


def test_unknown_path_answers_json(client: FlaskClient) -> None:
    reply = client.get("/gateway/v1/nothing-here")
    assert (
        reply.status_code == 404 and reply.json is not None and reply.json["error"] == "not found"
    )

"""Hostile submissions to the gateway (its app with the real back-office link, Flask's test
client): mutated attributes and bodies, a zlib bomb, oversized attributes. Every answer is the
documented JSON error or an accepted submission; nothing raises."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.link import BackOfficeLink
from dis_core.clock import ManualClock
from dis_core.config import load_config
from dis_core.protocol import pack_sample
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary import SampleError
from gateway_sim.app import create_app

from .helpers import WHEN, unique_content

ERRORS = {e.value for e in SampleError}


def submit_message(content: bytes) -> tuple[dict[str, str], bytes]:
    return pack_sample(content, {
        "X-Sample-Type": "file", "X-Date-Submitted": WHEN, "X-Customer-Name": "Reliability Ltd",
        "X-Customer-Contact-Name": "Tess Ter", "X-Customer-Contact-Email": "tess@example.invalid",
    })  # fmt: skip


HEADERS, BODY = submit_message(unique_content("gateway-fuzz"))
NAMES = sorted(HEADERS)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    data = tmp_path_factory.mktemp("gateway-hostile") / "data"
    config = load_config(
        None,
        environ={},
        overrides={"general": {"data_dir": str(data)}, "gateway": {"admin_token": "t" * 32}},
    )
    app = create_app(config, clock=ManualClock(WHEN), link=BackOfficeLink(config))
    yield app
    app.extensions["gateway"].dispose()


def _check(reply) -> None:  # noqa: ANN001 - a test response
    assert reply.status_code in (200, 202) or 400 <= reply.status_code < 500, (
        reply.status_code,
        reply.data[:300],
    )
    if reply.status_code >= 400:
        assert reply.get_json()["error"] in ERRORS


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.dictionaries(
        st.sampled_from(NAMES),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=70),
        max_size=5,
    ),
    st.binary(max_size=200),
)
def test_gateway_answers_mutated_submissions_with_documented_errors(
    gateway: Flask, changes: dict[str, str], body: bytes
) -> None:
    _check(
        gateway.test_client().post(
            "/gateway/v1/samples", headers={**HEADERS, **changes}, data=body or BODY
        )
    )


def test_gateway_refuses_a_zlib_bomb(gateway: Flask) -> None:
    bomb = zlib.compress(bytes(64 * 2**20), 9)
    headers = {
        **HEADERS,
        "X-Sample-Size": "1000",
        "X-Content-Scrambling": "none",
        "X-Content-Length": str(len(bomb)),
        "X-Content-Checksum": sha256_hex(bomb),
    }
    headers.pop("X-Content-Scrambling-Key", None)
    reply = gateway.test_client().post("/gateway/v1/samples", headers=headers, data=bomb)
    assert reply.status_code == 422 and reply.get_json()["error"] == "unpackage"


def test_gateway_refuses_oversized_attributes_and_keeps_working(gateway: Flask) -> None:
    client = gateway.test_client()
    reply = client.post(
        "/gateway/v1/samples", headers={**HEADERS, "X-Customer-Name": "N" * 100_000}, data=BODY
    )
    assert reply.status_code == 400 and reply.get_json()["error"] == "malformed"
    headers, body = submit_message(unique_content("gateway-after"))
    assert client.post("/gateway/v1/samples", headers=headers, data=body).status_code == 202


@pytest.mark.parametrize(
    "path",
    [
        "/gateway/v1/samples/..%2F..%2Fetc%2Fpasswd",
        "/gateway/v1/samples/%3Cscript%3E",
        "/gateway/v1/definitions/..%2F..%2Fkeys",
        "/gateway/v1/definitions/-1",
        "/gateway/v1/definitions/99999999999999999999999",
        "/gateway/v1/definitions/1/to/..%2Fx",
    ],
)
def test_gateway_lookups_with_hostile_references_are_clean_errors(
    gateway: Flask, path: str
) -> None:
    reply = gateway.test_client().get(path)
    assert 400 <= reply.status_code < 500, (path, reply.status_code)
    assert reply.mimetype == "application/json" and reply.get_json()["error"]  # JSON, never HTML

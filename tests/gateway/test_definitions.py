"""Definition downloads: by number, newest, certified, HEAD, incremental, and their errors."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient

from dis_core.definitions import apply_incremental, read_package
from tests.support.fake_gateway import Vendor
from tests.support.samples import marker_signature

from .conftest import ADMIN

BASE = "/gateway/v1/definitions"


def three_sets(publisher: Vendor) -> tuple[int, int, int]:
    first = publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    second = publisher.publish_set(
        [marker_signature("APPENDED", 1), marker_signature("TWO", 2, repairable=False)],
        certified=False,
    )
    third = publisher.publish_set(
        [
            marker_signature("APPENDED", 1),
            marker_signature("TWO", 2, repairable=False),
            marker_signature("THREE", 3, repairable=False),
        ],
        certified=False,
    )
    return first, second, third


def test_get_by_number_newest_and_certified(client: FlaskClient, publisher: Vendor) -> None:
    first, _, third = three_sets(publisher)
    for ref, expected, certified in (
        (str(third), third, "no"),
        ("newest", third, "no"),
        ("certified", first, "yes"),
    ):
        reply = client.get(f"{BASE}/{ref}")
        assert reply.status_code == 200
        assert reply.headers["X-Signatures-Sequence"] == str(expected)
        assert reply.headers["X-Signatures-Kind"] == "full"
        assert reply.headers["X-Signatures-Certified"] == certified
        assert reply.headers["X-Signatures-Checksum"] == hashlib.sha256(reply.data).hexdigest()
        assert read_package(reply.data, publisher.key.verify_key()).sequence == expected


def test_head_gives_the_headers_without_the_body(client: FlaskClient, publisher: Vendor) -> None:
    three_sets(publisher)
    full = client.get(f"{BASE}/newest")
    head = client.head(f"{BASE}/newest")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(full.data))
    for name in ("X-Signatures-Sequence", "X-Signatures-Checksum", "X-Signatures-Certified"):
        assert head.headers[name] == full.headers[name]


def test_incremental_turns_n_into_m(client: FlaskClient, publisher: Vendor) -> None:
    first, _, third = three_sets(publisher)
    key = publisher.key.verify_key()
    reply = client.get(f"{BASE}/{first}/to/{third}")
    assert reply.status_code == 200
    assert reply.headers["X-Signatures-Kind"] == "incremental"
    assert reply.headers["X-Signatures-Base"] == str(first)
    assert reply.headers["X-Signatures-Sequence"] == str(third)
    base = read_package(client.get(f"{BASE}/{first}").data, key)
    result = apply_incremental(base, read_package(reply.data, key))
    assert result.sequence == third
    assert sorted(s.id for s in result.signatures) == ["T001APPENDED", "T002TWO", "T003THREE"]
    assert client.head(f"{BASE}/{first}/to/newest").headers["X-Signatures-Sequence"] == str(third)


def test_unavailable_before_anything_is_published(client: FlaskClient) -> None:
    for path in (f"{BASE}/newest", f"{BASE}/certified", f"{BASE}/4"):
        reply = client.get(path)
        assert reply.status_code == 404 and reply.headers["X-Error"] == "unavailable"


def test_unavailable_for_a_sequence_not_yet_published(
    client: FlaskClient, publisher: Vendor
) -> None:
    three_sets(publisher)
    reply = client.get(f"{BASE}/99")
    assert reply.status_code == 404 and reply.headers["X-Error"] == "unavailable"
    assert client.head(f"{BASE}/99").headers["X-Error"] == "unavailable"


def test_superseded_by_newer_certified(client: FlaskClient, publisher: Vendor) -> None:
    first, _, _ = three_sets(publisher)
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    reply = client.get(f"{BASE}/{first}")
    assert reply.status_code == 410 and reply.headers["X-Error"] == "superseded"
    assert reply.json is not None and reply.json["error"] == "superseded"


def test_abandoned_sequence(client: FlaskClient, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    lost = publisher.repo.next_sequence()
    publisher.repo.abandon(lost, "full unit test failed")
    reply = client.get(f"{BASE}/{lost}")
    assert reply.status_code == 410 and reply.headers["X-Error"] == "abandoned"


def test_unpublished_sequence(client: FlaskClient, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    failed = publisher.repo.next_sequence()
    publisher.repo.mark_unpublished(failed, "disk full")
    reply = client.get(f"{BASE}/{failed}")
    assert reply.status_code == 409 and reply.headers["X-Error"] == "unpublished"


def test_malformed_references(client: FlaskClient, publisher: Vendor) -> None:
    three_sets(publisher)
    for path in (f"{BASE}/latest", f"{BASE}/-1", f"{BASE}/0", f"{BASE}/3/to/2", f"{BASE}/x/to/3"):
        reply = client.get(path)
        assert reply.status_code == 400 and reply.headers["X-Error"] == "malformed", path


def test_hold_definitions_fault(client: FlaskClient, publisher: Vendor) -> None:
    first = publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    hold = client.put("/gateway/admin/v1/faults", json={"hold_definitions": True}, headers=ADMIN)
    assert hold.json is not None and hold.json["faults"]["hold_definitions_above"] == first
    second = publisher.publish_set([marker_signature("APPENDED", 1)], certified=False)
    assert client.get(f"{BASE}/newest").headers["X-Signatures-Sequence"] == str(first)
    assert client.get(f"{BASE}/certified").headers["X-Signatures-Sequence"] == str(first)
    held = client.get(f"{BASE}/{second}")
    assert held.status_code == 404 and held.headers["X-Error"] == "unavailable"
    client.put("/gateway/admin/v1/faults", json={"hold_definitions": False}, headers=ADMIN)
    assert client.get(f"{BASE}/newest").headers["X-Signatures-Sequence"] == str(second)


def test_hold_at_zero_serves_nothing(client: FlaskClient, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    client.put("/gateway/admin/v1/faults", json={"hold_definitions_above": 0}, headers=ADMIN)
    assert client.get(f"{BASE}/newest").headers["X-Error"] == "unavailable"
    assert client.get(f"{BASE}/1").headers["X-Error"] == "unavailable"

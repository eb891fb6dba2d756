"""Faults in the running loop (real processes): a gateway that is down, slow, or cuts transfers,
a quarantine folder that is full, and a process that is stopped and started again. Each one
produces its documented alert event (or General Errors line), nothing is lost, and once the
fault ends every sample reaches an end status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import unique_content
from .loop import END_STATUSES, RunningLoop, start_loop

TIMEOUT_S = 2.0  # the Quarantine Server's gateway timeout in this module (real seconds)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLoop]:
    running = start_loop(
        tmp_path_factory.mktemp("faults") / "data", web_communication={"timeout_s": TIMEOUT_S}
    )
    yield running
    running.stop()


def _forward_batch(loop: RunningLoop, tag: str, count: int = 3) -> list[int]:
    ids = []
    with loop.http() as http:
        for number in range(count):
            reply = loop.forward(
                http, unique_content(f"{tag}-{number}"), f"{tag}-{number}", computer=f"FAULT-{tag}"
            )
            assert reply.status_code == 201, reply.text
            ids.append(int(reply.json()["id"]))
    return ids


def _statuses(loop: RunningLoop, ids: list[int]) -> dict[int, str]:
    return {item["id"]: item["status"] for item in loop.samples() if item["id"] in ids}


def _general_errors(loop: RunningLoop) -> list[dict[str, Any]]:
    reply = loop.api("GET", "/general-errors")
    reply.raise_for_status()
    return list(reply.json()["items"])


def _ended(loop: RunningLoop, ids: list[int]) -> bool:
    found = _statuses(loop, ids)
    return len(found) == len(ids) and set(found.values()) <= END_STATUSES


def _settle(loop: RunningLoop, ids: list[int], expected: str = "unneeded") -> None:
    loop.wait_until(lambda: _ended(loop, ids), 90, f"samples {ids} to end")
    assert set(_statuses(loop, ids).values()) == {expected}, _statuses(loop, ids)


def _during_fault(
    loop: RunningLoop, faults: dict[str, Any], tag: str, errors_before: int
) -> list[int]:
    loop.gateway_admin("PATCH", "/faults", faults)
    try:
        ids = _forward_batch(loop, tag)
        loop.wait_until(
            lambda: len(_general_errors(loop)) > errors_before,
            60,
            f"a gateway error line during {faults}",
        )
        assert not _ended(loop, ids)  # nothing pretends to be finished while the gateway fails
        assert "error" not in _statuses(loop, ids).values()
    finally:
        loop.gateway_admin("DELETE", "/faults")
    return ids


def test_gateway_outage_raises_gateway_unreachable_and_recovers(faulty: RunningLoop) -> None:
    ids = _during_fault(
        faulty, {"refuse_connections": True}, "outage", len(_general_errors(faulty))
    )
    assert "gateway_unreachable" in faulty.event_kinds()
    _settle(faulty, ids)


def test_slow_gateway_times_out_and_recovers(faulty: RunningLoop) -> None:
    before = len(_general_errors(faulty))
    ids = _during_fault(faulty, {"delay_s": TIMEOUT_S * 3}, "slow", before)
    assert any(
        "time" in line["message"].lower()
        for line in _general_errors(faulty)[: len(_general_errors(faulty)) - before]
        or _general_errors(faulty)
    )
    _settle(faulty, ids)


def test_dropped_transfers_are_sent_again_and_recover(faulty: RunningLoop) -> None:
    ids = _during_fault(faulty, {"drop_transfers": True}, "dropped", len(_general_errors(faulty)))
    _settle(faulty, ids)


def test_internal_errors_at_the_gateway_do_not_lose_samples(faulty: RunningLoop) -> None:
    faulty.gateway_admin("PATCH", "/faults", {"internal_errors": True})
    try:
        ids = _forward_batch(faulty, "internal")
        faulty.wait_until(
            lambda: set(_statuses(faulty, ids).values()) - {"quarantined"} != set(),
            60,
            "a submission attempt",
        )
    finally:
        faulty.gateway_admin("DELETE", "/faults")
    faulty.wait_until(lambda: _ended(faulty, ids), 90, "the samples to end")
    found = set(_statuses(faulty, ids).values())
    assert found <= {"unneeded", "error", "attention"}, (
        found
    )  # an abort is a recorded end, never a loss


def test_full_quarantine_refuses_with_507_raises_quota_low_and_recovers(
    faulty: RunningLoop,
) -> None:
    """The quota is the folder's maximum size (a property): shrink it to 1 MB, fill it, grow it."""
    assert (
        faulty.api("PATCH", "/properties/general", json={"quarantine_max_mb": 1}).status_code == 200
    )
    try:
        refused = None
        with faulty.http() as http:
            for number in range(8):
                reply = faulty.forward(
                    http,
                    unique_content(f"full-{number}", 300_000),
                    f"full-{number}",
                    computer="FAULT-full",
                )
                if reply.status_code != 201:
                    refused = reply
                    break
        assert (
            refused is not None
            and refused.status_code == 507
            and refused.json()["error"] == "declined"
        ), refused
        faulty.wait_until(lambda: "quota_low" in faulty.event_kinds(), 30, "quota_low")
    finally:
        assert (
            faulty.api("PATCH", "/properties/general", json={"quarantine_max_mb": 500}).status_code
            == 200
        )
    ids = _forward_batch(faulty, "full")
    _settle(faulty, ids)

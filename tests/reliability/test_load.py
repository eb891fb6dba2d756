"""Load (CI form): 10 endpoints forward 20 samples each at once to one Quarantine Server, with
resends mixed in; every acknowledged sample is in the database and the quarantine folder
exactly once with the right bytes, and in the full loop every one of them reaches an end
status. The long form (20 x 100) is bench/soak_load.py."""

from __future__ import annotations

from .loadgen import audit, run_load
from .loop import RunningLoop

ENDPOINTS, SAMPLES = 10, 20


def test_concurrent_forwarding_loses_and_duplicates_nothing(loop: RunningLoop) -> None:
    result = run_load(loop, ENDPOINTS, SAMPLES, resend_every=5)
    assert result.refused == []
    assert (
        len(result.acknowledged) == ENDPOINTS * SAMPLES
        and result.resends == ENDPOINTS * SAMPLES // 5
    )
    found = audit(loop, result)
    assert found.rows == ENDPOINTS * SAMPLES
    assert found.clean, found
    print(
        f"\nload: {len(result.acknowledged)} samples from {ENDPOINTS} endpoints in {result.seconds:.1f}s ({result.rate:.1f}/s)"
    )
    loop.wait_until(
        lambda: loop.all_ended(ENDPOINTS * SAMPLES), 240, "every sample to reach an end status"
    )
    statuses = {item["status"] for item in loop.samples()}
    assert statuses == {"unneeded"}, statuses
    assert audit(loop, result).clean  # the loop itself lost or doubled nothing either

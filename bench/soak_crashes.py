"""Soak (long form of tests/reliability/test_crashes.py): several rounds of kill -9 of every
process of the loop (Quarantine Server web and agent, gateway, back office) at random moments
while endpoints forward samples; then the audit and the wait for end statuses.

    .venv/bin/python bench/soak_crashes.py --rounds 5 --endpoints 10 --samples 30 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.crashes import crash_while_forwarding  # noqa: E402
from tests.reliability.loadgen import audit  # noqa: E402
from tests.reliability.loop import start_loop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dis-crash-") as folder:
        loop = start_loop(Path(folder) / "data")
        try:
            result, kills = crash_while_forwarding(
                loop, args.endpoints, args.samples, seed=args.seed, rounds=args.rounds
            )
            print(f"kills: {kills}")
            print(
                f"forwarded: {len(result.acknowledged)} acknowledged, {len(result.refused)} refused, {result.seconds:.1f}s"
            )
            started = time.monotonic()
            while time.monotonic() - started < args.timeout and not loop.all_ended(
                len(result.acknowledged)
            ):
                time.sleep(2)
            statuses = Counter(item["status"] for item in loop.samples())
            print(
                f"after {time.monotonic() - started:.0f}s: {dict(statuses)}; stuck: {loop.not_ended()[:10]}"
            )
            _restart_errors(loop, len(result.acknowledged), args.timeout)
            found = audit(loop, result)
            print(f"in the end: {dict(Counter(item['status'] for item in loop.samples()))}")
            print(
                f"audit: rows {found.rows}, duplicates {len(found.duplicates)}, missing {len(found.missing)}, "
                f"mismatches {len(found.checksum_mismatches)}, orphan files {len(found.orphan_files)}"
            )
            ok = (
                not result.refused
                and not (found.duplicates or found.missing or found.checksum_mismatches)
                and loop.all_ended(len(result.acknowledged))
            )
            print("RESULT:", "ok" if ok else "FAILED")
            return 0 if ok else 1
        finally:
            loop.stop()


def _restart_errors(loop, expected: int, timeout: float) -> None:  # noqa: ANN001 - a RunningLoop
    """Samples that ended in error (e.g. a hand-off the killed gateway lost): show why, restart."""
    failed = [item["id"] for item in loop.samples() if item["status"] == "error"]
    for sample_id in failed:
        errors = loop.api("GET", f"/samples/{sample_id}").json().get("errors", [])
        print(f"sample {sample_id} ended in error: {errors[:2]}; restarting it")
        loop.api("POST", f"/samples/{sample_id}/restart")
    started = time.monotonic()
    while failed and time.monotonic() - started < timeout and not loop.all_ended(expected):
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())

"""Soak (long form of tests/reliability/test_load.py): N endpoints x M samples forwarded at once
to one Quarantine Server in the full loop (real processes), then an audit of the database and
the quarantine folder and a wait until every acknowledged sample reached an end status.

    .venv/bin/python bench/soak_load.py --endpoints 20 --samples 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.loadgen import audit, run_load  # noqa: E402
from tests.reliability.loop import start_loop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--samples", type=int, default=100, help="samples per endpoint")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for end statuses"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dis-soak-") as folder:
        loop = start_loop(Path(folder) / "data")
        try:
            return _soak(loop, args)
        finally:
            loop.stop()


def _soak(loop, args: argparse.Namespace) -> int:  # noqa: ANN001 - a RunningLoop
    expected = args.endpoints * args.samples
    result = run_load(loop, args.endpoints, args.samples)
    print(
        f"forwarded: {len(result.acknowledged)}/{expected} acknowledged, {result.resends} resends, "
        f"{len(result.refused)} refused, {result.seconds:.1f}s, {result.rate:.1f} samples/s"
    )
    found = audit(loop, result)
    print(
        f"audit after intake: rows {found.rows}, vault files {found.vault_files}, duplicates {len(found.duplicates)}, "
        f"missing {len(found.missing)}, checksum mismatches {len(found.checksum_mismatches)}, orphans {len(found.orphan_files)}"
    )
    started = time.monotonic()
    deadline = started + args.timeout
    while time.monotonic() < deadline and not loop.all_ended(expected):
        time.sleep(2)
    statuses = Counter(item["status"] for item in loop.samples())
    print(f"full loop: {dict(statuses)} after {time.monotonic() - started:.1f}s more")
    final = audit(loop, result)
    ok = (
        found.clean
        and final.clean
        and not result.refused
        and len(result.acknowledged) == expected
        and loop.all_ended(expected)
    )
    print("RESULT:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

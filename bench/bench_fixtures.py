"""Time to generate 1,000 simulated samples (all families in turn, clean_pe included).

Run: .venv/bin/python bench/bench_fixtures.py [--count 1000] [--seed 1]
Prints the wall time, samples per second and the slowest families.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from simworld.generator import FAMILIES, build_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    per_family: dict[str, float] = defaultdict(float)
    total_bytes = 0
    start = time.perf_counter()
    for index in range(args.count):
        family = FAMILIES[index % len(FAMILIES)]
        variant = index // len(FAMILIES)
        began = time.perf_counter()
        sample = build_sample(family, args.seed, variant)
        per_family[family] += time.perf_counter() - began
        total_bytes += len(sample.data)
    elapsed = time.perf_counter() - start
    print(
        f"generated {args.count} samples ({total_bytes / 2**20:.1f} MiB) in {elapsed:.2f} s: {args.count / elapsed:.0f} samples/s"
    )
    for family, seconds in sorted(per_family.items(), key=lambda item: -item[1])[:5]:
        print(f"  {family:18s} {seconds:.2f} s")


if __name__ == "__main__":
    main()

"""Build and apply time of an incremental definition set as the full set grows.

    .venv/bin/python bench/bench_defs.py [--sizes 1000,10000,100000] [--changes 100]

For each size N: a signed full set of N binary signatures (base), and a target with
``changes`` signatures removed and ``changes`` added. Reported: building the full target,
reading (verifying) it, building the increment (as the gateway does: from two published sets,
no key), and applying it on a host: read + apply_incremental + rebuild and re-verify the
vendor's full package (what InstalledDefinitions does before its load test). The load test
(compiling every rule) is measured separately with yara-python.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dis_core.definitions import (
    Scanner,
    Signature,
    SigningKey,
    apply_incremental,
    build_full,
    build_incremental,
    full_package,
    read_package,
)
from dis_core.definitions.package import check_full_package


def signature(number: int, added_in: int) -> Signature:
    pattern = (
        " ".join(f"{(number * 7 + i * 13) % 256:02X}" for i in range(12))
        + f" {number % 256:02X} {number // 256 % 256:02X} {number // 65536:02X}"
    )
    rule = f"rule sig_S{number:07d}\n{{\n  strings:\n    $a = {{ {pattern} }}\n  condition:\n    $a\n}}\n"
    repair = {"version": 1, "anchor": "$a", "ops": [{"op": "truncate", "length": {"match": 0}}]}
    return Signature(
        f"S{number:07d}", f"Bench.Sig.{number}", "binary", rule, repair, added_in, family="bench"
    )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(
    size: int, changes: int, compile_up_to: int, key: SigningKey, produced: datetime
) -> str:
    base_sigs = [signature(n, 1) for n in range(1, size + 1)]
    target_sigs = base_sigs[changes:] + [
        signature(n, 2) for n in range(size + 1, size + changes + 1)
    ]
    base_package = build_full(1, base_sigs, certified=True, produced=produced, key=key)
    build_s, target_package = timed(
        lambda: build_full(2, target_sigs, certified=False, produced=produced, key=key)
    )
    read_s, target = timed(lambda: read_package(target_package, key.verify_key()))
    base = read_package(base_package, key.verify_key())
    incr_s, increment = timed(lambda: build_incremental(base, target))

    def apply() -> bytes:
        applied = apply_incremental(base, read_package(increment, key.verify_key()))
        package = full_package(applied)
        check_full_package(package, key.verify_key())
        return package

    apply_s, rebuilt = timed(apply)
    assert rebuilt == target_package, "the applied increment must give the full set byte for byte"
    compile_s = timed(lambda: Scanner(target))[0] if size <= compile_up_to else float("nan")
    return (
        f"| {size:,} | {len(target_package) / 2**20:.1f} | {build_s:.2f} | {read_s:.2f} | {incr_s:.2f} | "
        f"{len(increment) / 1024:.0f} | {apply_s:.2f} | {compile_s:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument(
        "--compile-up-to", type=int, default=10000, help="Load-test (compile) sets up to this size."
    )
    args = parser.parse_args()
    key = SigningKey.generate()
    produced = datetime.now(UTC)
    print(f"{produced:%Y-%m-%d}; changes per increment: -{args.changes} +{args.changes}")
    print(
        "| full set | full MB | build full s | read full s | build incr s | incr KB | apply incr s | compile s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(measure(size, args.changes, args.compile_up_to, key, produced), flush=True)


if __name__ == "__main__":
    main()

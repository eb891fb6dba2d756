"""Scan throughput (MB/s) of dis_core.definitions.Scanner with yara-python and YARA-X, beside
the stand-alone ``yara`` tool, over real ELF files with 1,000 and 10,000 binary signatures.

    .venv/bin/python bench/bench_scan.py [--megabytes 200] [--counts 1000,10000]

Signatures are random 16-byte hex patterns (like generated virus signatures: 12-24 invariant
bytes), except a few control signatures cut from the scanned files, so every scanner must report
the same (non-zero) number of detections; the ELF files are read into memory first, so the library numbers measure scanning, not
disk. The yara tool runs single-threaded (-p 1) on the same files (page cache warm) and the
same rules written by write_rule_file; its time includes its own rule compilation, which is
also reported separately (a scan of one empty file) and subtracted. Each figure is the best of
``--repeat`` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from dis_core.definitions import (
    Scanner,
    Signature,
    SigningKey,
    build_full,
    read_package,
    write_rule_file,
)

ELF = b"\x7fELF"
MAX_FILE = 32 * 2**20  # leave out a few giant libraries so the mix is typical


def elf_files(megabytes: int) -> list[Path]:
    """Regular ELF files (4 KiB to 32 MiB, no debug files) under /usr/lib and /usr/bin, in a
    fixed order, until the total is reached."""
    chosen: list[Path] = []
    total = 0
    for root in ("/usr/lib", "/usr/bin"):
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = Path(folder) / name
                if "/debug" in folder or path.is_symlink() or not path.is_file():
                    continue
                if not 4096 <= path.stat().st_size <= MAX_FILE:
                    continue
                with open(path, "rb") as handle:
                    if handle.read(4) != ELF:
                        continue
                chosen.append(path)
                total += path.stat().st_size
                if total >= megabytes * 2**20:
                    return chosen
    return chosen


CONTROLS = 8  # signatures cut from the scanned files themselves: both engines must find them


def _rule(number: int, pattern: bytes) -> Signature:
    hexes = " ".join(f"{b:02X}" for b in pattern)
    rule = f"rule sig_B{number:06d}\n{{\n  strings:\n    $a = {{ {hexes} }}\n  condition:\n    $a\n}}\n"
    return Signature(
        f"B{number:06d}", f"Bench.Sig.{number}", "binary", rule, None, 1, family="bench"
    )


def control_patterns(blobs: list[bytes]) -> list[bytes]:
    """16 varied bytes from fixed places of a few files (a positive control for every scanner)."""
    rng = random.Random(5)
    found: list[bytes] = []
    while len(found) < CONTROLS:
        blob = blobs[rng.randrange(len(blobs))]
        start = rng.randrange(len(blob) - 16)
        piece = blob[start : start + 16]
        if len(set(piece)) >= 12 and piece not in found:
            found.append(piece)
    return found


def signatures(count: int, controls: list[bytes]) -> list[Signature]:
    """``count`` signatures: random 16-byte patterns, the last few replaced by the controls."""
    rng = random.Random(count)
    made = [_rule(n, rng.randbytes(16)) for n in range(1, count - len(controls) + 1)]
    return made + [_rule(count - len(controls) + 1 + i, c) for i, c in enumerate(controls)]


def library(definitions, engine: str, blobs: list[bytes], repeat: int) -> tuple[float, float, int]:  # noqa: ANN001
    """Best-of-``repeat`` compile and scan times (the machine is shared: the minimum is the
    least disturbed run)."""
    compile_times, scan_times = [], []
    hits = 0
    for _ in range(repeat):
        started = time.perf_counter()
        scanner = Scanner(definitions, engine)
        compiled = time.perf_counter()
        hits = sum(len(scanner.scan_bytes(blob)) for blob in blobs)
        compile_times.append(compiled - started)
        scan_times.append(time.perf_counter() - compiled)
    return min(compile_times), min(scan_times), hits


def yara_cli(
    rule_file: Path, files: list[Path], work: Path, repeat: int
) -> tuple[float, float, int]:
    runs = [_yara_cli_once(rule_file, files, work) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def _yara_cli_once(rule_file: Path, files: list[Path], work: Path) -> tuple[float, float, int]:
    listing = work / "files.txt"
    listing.write_text("\n".join(str(p) for p in files) + "\n")
    empty = work / "empty"
    empty.write_bytes(b"")
    started = time.perf_counter()
    subprocess.run(["yara", "-p", "1", str(rule_file), str(empty)], check=True, capture_output=True)
    compile_only = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(
        ["yara", "-p", "1", "--scan-list", str(rule_file), str(listing)],
        check=True,
        capture_output=True,
    )
    return compile_only, time.perf_counter() - started, len(done.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs per measurement; the best is shown."
    )
    args = parser.parse_args()
    files = elf_files(args.megabytes)
    blobs = [p.read_bytes() for p in files]
    megabytes = sum(map(len, blobs)) / 2**20
    print(f"{len(files)} ELF files, {megabytes:.1f} MB, {datetime.now(UTC):%Y-%m-%d}")
    print(
        f"{os.cpu_count()} cores, best of {args.repeat} runs, {CONTROLS} control signatures per set"
    )
    controls = control_patterns(blobs)
    print("| signatures | scanner | compile s | scan s | MB/s | detections |")
    print("|---:|---|---:|---:|---:|---:|")
    key = SigningKey.generate()
    for count in (int(c) for c in args.counts.split(",")):
        package = build_full(
            2, signatures(count, controls), certified=False, produced=datetime.now(UTC), key=key
        )
        definitions = read_package(package, key.verify_key())
        for engine in ("yara", "yara-x"):
            compile_s, scan_s, hits = library(definitions, engine, blobs, args.repeat)
            print(
                f"| {count:,} | Scanner ({engine}) | {compile_s:.2f} | {scan_s:.2f} | {megabytes / scan_s:.1f} | {hits} |",
                flush=True,
            )
        with tempfile.TemporaryDirectory() as folder:
            rule_file = write_rule_file(definitions, Path(folder) / "rules.yar")
            compile_s, total_s, hits = yara_cli(rule_file, files, Path(folder), args.repeat)
            scan_s = total_s - compile_s
            print(
                f"| {count:,} | yara CLI 4.2 (-p 1) | {compile_s:.2f} | {scan_s:.2f} | {megabytes / scan_s:.1f} | {hits} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

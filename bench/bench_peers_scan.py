"""Scanner throughput beside the ``yara`` command and ClamAV's ``clamscan``: same files, same signatures.

    .venv/bin/python bench/bench_peers_scan.py [--megabytes 200] [--counts 1000,10000] [--repeat 3] [--record]
    .venv/bin/python bench/bench_peers_scan.py --quick

Corpus: regular ELF files under /usr/lib and /usr/bin (bench_scan.elf_files: no debug files,
4 KiB to 32 MiB each). Signatures: N binary signatures of 16 bytes (bench_scan.signatures): random
patterns, the last 5 replaced by byte runs cut from corpus files (so every tool must report
the same files). The same set is given to each tool:

- ``Scanner``: dis_core.definitions.Scanner on a signed full set, reading each file from disk
  and scanning it, one thread (yara-python and YARA-X engines);
- ``yara -p 1`` and ``yara`` (default threads): the rule file the definitions write;
- ``clamscan --no-summary --allmatch -d bench.ndb``: an .ndb database with the same hex strings
  (``name:0:*:hex``, any file type, any offset).

Times are wall clock, page cache warm (every tool reads the same files before timing).
Each command-line tool's start-up and rule loading is measured alone (one empty file) and
subtracted, so the scan columns compare scanning; the load columns are reported beside.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench_scan import elf_files, signatures
from common import emit, table

from dis_core.definitions import (
    DefinitionSet,
    Scanner,
    Signature,
    SigningKey,
    build_full,
    read_package,
    write_rule_file,
)

PLANTED = 5
PATTERN_BYTES = 16


def planted_patterns(files: list[Path], count: int) -> list[bytes]:
    """Byte runs cut from real corpus files (spread over the list), so every tool has hits."""
    rng = random.Random(42)
    found = []
    for number in range(1, count + 1):
        data = files[(number * len(files)) // (count + 1)].read_bytes()
        start = rng.randrange(len(data) // 4, len(data) - PATTERN_BYTES)
        found.append(data[start : start + PATTERN_BYTES])
    return found


def definition_set(files: list[Path], count: int, key: SigningKey) -> DefinitionSet:
    chosen = signatures(count, planted_patterns(files, min(PLANTED, count)))
    package = build_full(2, chosen, certified=False, produced=datetime.now(UTC), key=key)
    return read_package(package, key.verify_key())


def hex_of(sig: Signature) -> str:
    """The hex string between the braces of a binary rule (what the .ndb line needs)."""
    inner = sig.rule[sig.rule.index("{ ", sig.rule.index("$a")) + 2 : sig.rule.index(" }")]
    return inner.replace(" ", "").lower()


def write_ndb(definitions: DefinitionSet, path: Path) -> Path:
    lines = [f"{sig.virus_name}:0:*:{hex_of(sig)}" for sig in definitions.signatures]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def scanner_pass(scanner: Scanner, files: list[Path]) -> set[str]:
    return {str(path) for path in files if scanner.scan_bytes(path.read_bytes())}


def run_tool(command: list[str]) -> str:
    # clamscan exits 1 when it found something, yara 0; anything else is a failure
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[:400]}")
    return done.stdout


def yara_hits(output: str) -> set[str]:
    return {line.split(" ", 1)[1] for line in output.splitlines() if " " in line}


def clam_hits(output: str) -> set[str]:
    return {line.rsplit(": ", 1)[0] for line in output.splitlines() if line.endswith(" FOUND")}


class Tools:
    """The command lines of the peers for one signature set, with their start-up cost."""

    def __init__(self, definitions: DefinitionSet, files: list[Path], work: Path) -> None:
        self.rules = write_rule_file(definitions, work / "bench.yar")
        self.ndb = write_ndb(definitions, work / "bench.ndb")
        self.listing = work / "files.txt"
        self.listing.write_text("\n".join(str(p) for p in files) + "\n")
        (work / "empty").write_bytes(b"")
        self.empty = work / "empty-list.txt"  # a listing of one empty file: start-up cost only
        self.empty.write_text(str(work / "empty") + "\n")

    def yara(self, threads: int | None, listing: Path) -> list[str]:
        base = ["yara"] + (["-p", str(threads)] if threads else [])
        return [*base, "--scan-list", str(self.rules), str(listing)]

    def clamscan(self, listing: Path) -> list[str]:
        return ["clamscan", "--no-summary", "--allmatch", "-d", str(self.ndb), "-f", str(listing)]

    def measure(
        self, command: Callable[[Path], list[str]], parse: Callable[[str], set[str]]
    ) -> tuple[float, float, set[str]]:
        load_s, _ = timed(lambda: run_tool(command(self.empty)))
        total_s, output = timed(lambda: run_tool(command(self.listing)))
        return load_s, max(total_s - load_s, 1e-9), parse(str(output))


def one_count(
    count: int, files: list[Path], megabytes: float, repeat: int, key: SigningKey
) -> list[list[str]]:
    definitions = definition_set(files, count, key)
    rows: dict[str, list[tuple[float, float, int]]] = {}
    expected: set[str] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        tools = Tools(definitions, files, Path(folder))
        peers: list[tuple[str, Callable[[], tuple[float, float, set[str]]]]] = [
            ("Scanner, yara-python engine (1 thread)", lambda: _library(definitions, "yara", files)),
            ("Scanner, YARA-X engine (1 thread)", lambda: _library(definitions, "yara-x", files)),
            ("yara 4.2 command, -p 1", lambda: tools.measure(lambda f: tools.yara(1, f), yara_hits)),
            (f"yara 4.2 command, default threads ({os.cpu_count()} cores)", lambda: tools.measure(lambda f: tools.yara(None, f), yara_hits)),
            ("clamscan 1.4 (.ndb, 1 thread)", lambda: tools.measure(tools.clamscan, clam_hits)),
        ]  # fmt: skip
        for _ in range(repeat):
            for name, action in peers:
                load_s, scan_s, hits = action()
                expected = hits if expected is None else expected
                if hits != expected:
                    raise RuntimeError(
                        f"{name} found {len(hits)} files, the first tool {len(expected)}"
                    )
                rows.setdefault(name, []).append((load_s, scan_s, len(hits)))
                print(
                    f"  {count:,} sigs, {name}: load {load_s:.2f} s, scan {scan_s:.2f} s",
                    flush=True,
                )
    return _rows(count, rows, megabytes)


def _library(
    definitions: DefinitionSet, engine: str, files: list[Path]
) -> tuple[float, float, set[str]]:
    load_s, scanner = timed(lambda: Scanner(definitions, engine))
    assert isinstance(scanner, Scanner)
    scan_s, hits = timed(lambda: scanner_pass(scanner, files))
    assert isinstance(hits, set)
    return load_s, scan_s, hits


def _rows(
    count: int, rows: dict[str, list[tuple[float, float, int]]], megabytes: float
) -> list[list[str]]:
    reference = statistics.median(s for _, s, _ in rows["yara 4.2 command, -p 1"])
    clam = statistics.median(s for _, s, _ in rows["clamscan 1.4 (.ndb, 1 thread)"])
    out = []
    for name, runs in rows.items():
        load = statistics.median(r[0] for r in runs)
        scan = statistics.median(r[1] for r in runs)
        out.append([
            f"{count:,}", name, f"{load:.2f}", f"{scan:.2f}", f"{megabytes / scan:.0f}",
            f"{reference / scan:.2f}", f"{clam / scan:.2f}", str(runs[0][2]),
        ])  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per tool; the median is shown.")
    parser.add_argument("--quick", action="store_true", help="10 MB, 100 signatures, one run.")
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    if args.quick:
        args.megabytes, args.counts, args.repeat = 10, "100", 1
    files = elf_files(args.megabytes)
    megabytes = sum(p.stat().st_size for p in files) / 2**20
    for path in files:  # warm the page cache for every tool alike
        path.read_bytes()
    print(f"{len(files)} ELF files, {megabytes:.1f} MB", flush=True)
    key = SigningKey.generate()
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        rows += one_count(count, files, megabytes, args.repeat, key)
    header = [
        "signatures",
        "scanner",
        "load s",
        "scan s",
        "MB/s",
        "speed vs yara -p 1",
        "speed vs clamscan",
        "files flagged",
    ]
    body = (
        f"{len(files)} ELF files from /usr/lib and /usr/bin, {megabytes:.0f} MB, page cache warm; "
        f"16-byte signatures ({PLANTED} cut from the corpus, the rest random); median of "
        f"{args.repeat} runs. 'load s' is start-up plus rule compilation or database loading; "
        "'scan s' excludes it. The speed columns divide the peer's scan time by this row's "
        "(above 1: faster than the peer). Every tool flagged the same files (checked).\n\n"
        + table(header, rows)
    )
    emit(
        "peers_scan",
        "Scanner throughput beside yara and clamscan",
        body,
        save=args.record and not args.quick,
    )


if __name__ == "__main__":
    main()

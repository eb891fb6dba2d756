"""Memory (resident set size) of every process of the loop, at rest and during a replay.

    .venv/bin/python bench/bench_memory.py [--filtered 300] [--novel 30] [--record]
    .venv/bin/python bench/bench_memory.py --quick

A fresh loop (gateway, back office, Quarantine Server web and agent as processes, three
endpoints inside the launcher process) replays a mixed corpus written by bench_replay's
corpus builders. VmRSS is read from /proc/<pid>/status of each process the launcher started
and of their children (gunicorn's master and workers are listed one by one): at rest after
start-up (``--rest`` seconds, one reading a second), then every half second while the corpus
is forwarded and settled. Reported per process: rest, mean and peak while busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_replay import filtered_samples, novel_samples, replay, write
from common import (
    descendants,
    emit,
    loop_session,
    prepare_goodware,
    process_name,
    quiet_listeners,
    rss_kib,
    stop_on_sigterm,
    table,
)

from launcher.session import LoopSession


class MemoryWatch:
    """RSS readings per process, split into 'rest' and 'busy'."""

    def __init__(self, rest_s: float) -> None:
        self.rest_s = rest_s
        self.readings: dict[tuple[str, int], dict[str, list[int]]] = {}
        self._last = 0.0

    def __call__(self, session: LoopSession, phase: str) -> None:
        if phase == "rest":
            for _ in range(max(1, int(self.rest_s))):
                self.read(session, "rest")
                time.sleep(1.0)
            return
        if time.monotonic() - self._last >= 0.5:
            self.read(session, "busy")

    def read(self, session: LoopSession, phase: str) -> None:
        self._last = time.monotonic()
        for label, pid in self.processes(session):
            kib = rss_kib(pid)
            if kib is not None:
                self.readings.setdefault((label, pid), {}).setdefault(phase, []).append(kib)

    @staticmethod
    def processes(session: LoopSession) -> list[tuple[str, int]]:
        found = [("launcher + 3 endpoints (in-process)", os.getpid())]
        for service in session.stack.services:
            if service.process is None:
                continue
            tree = descendants(service.process.pid)
            for index, pid in enumerate(tree):
                role = "" if len(tree) == 1 else (" master" if index == 0 else f" worker {index}")
                found.append((f"{service.name}{role} ({process_name(pid)[:40]})", pid))
        return found

    def rows(self) -> list[list[str]]:
        out = []
        for (label, _), phases in self.readings.items():
            rest = phases.get("rest", [])
            busy = phases.get("busy", [])
            out.append([label, _mib(statistics.median(rest) if rest else None),
                        _mib(statistics.mean(busy) if busy else None), _mib(max(busy) if busy else None)])  # fmt: skip
        totals = ["all processes", *[_total(self.readings, phase, how) for phase, how in (("rest", "median"), ("busy", "mean"), ("busy", "max"))]]  # fmt: skip
        return [*out, totals]


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def _total(readings: dict[tuple[str, int], dict[str, list[int]]], phase: str, how: str) -> str:
    picks: dict[str, Callable[[list[int]], float]] = {
        "median": statistics.median,
        "mean": statistics.mean,
        "max": max,
    }
    values = [picks[how](p[phase]) for p in readings.values() if p.get(phase)]
    return _mib(sum(values)) if values else "-"


def run(
    filtered: int, novel: int, speed: float, rest_s: float, goodware_mb: int | None
) -> tuple[MemoryWatch, str]:
    quiet_listeners()
    watch = MemoryWatch(rest_s)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        root = Path(folder)
        probe = loop_session(root / "probe", speed, 0, goodware_mb)
        prepare_goodware(probe.config, root / "ngram")
        corpus = write(root / "corpus", filtered_samples(filtered) + novel_samples(novel))
        result = replay("memory", corpus, root, speed, goodware_mb, 1800, watch)
    summary = f"{result.settled}/{result.samples} samples settled in {result.total_s:.0f} s"
    return watch, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filtered", type=int, default=300)
    parser.add_argument("--novel", type=int, default=30)
    parser.add_argument("--clock-speed", type=float, default=120.0)
    parser.add_argument("--rest", type=float, default=10.0, help="Seconds of readings at rest.")
    parser.add_argument("--goodware-mb", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="10 filtered, 2 novel, 2 s at rest.")
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.quick:
        args.filtered, args.novel, args.rest, args.goodware_mb = 10, 2, 2.0, 2
    watch, summary = run(args.filtered, args.novel, args.clock_speed, args.rest, args.goodware_mb)
    body = (
        f"Replay of {args.filtered} filtered + {args.novel} novel samples (bench_replay's corpora), "
        f"clock x{args.clock_speed:g}; {summary}. VmRSS from /proc/<pid>/status, MiB; 'rest' is the "
        f"median of {args.rest:.0f} readings after start-up, 'busy' every 0.5 s until the last "
        "sample settled. RSS counts shared pages (the Python runtime, libraries) in every process, "
        "so the total overstates the memory really used.\n\n"
        + table(["process", "rest MiB", "busy mean MiB", "busy peak MiB"], watch.rows())
    )
    emit("memory", "Memory of each process", body, save=args.record and not args.quick)
    if not any(p.get("busy") for p in watch.readings.values()):
        raise SystemExit("no reading taken during the replay")


if __name__ == "__main__":
    main()

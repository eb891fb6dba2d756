"""Helpers shared by the loop, replay, peer, quality, API and memory benchmarks.

Scripts in bench/ run as plain files (``.venv/bin/python bench/<name>.py``), so this module is
imported as ``common`` (bench/ is the script's own folder, first on ``sys.path``).

``record()`` writes a script's result block into docs/benchmarks.md between two marker
comments of its own, so a rerun replaces its old numbers and leaves every other section alone.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dis_core.config import Config
from launcher.session import LoopSession

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## Whole loop, peers, console API and memory"
SECTION_INTRO = (
    "Written by the scripts themselves (`--record`); each block says how it was made.\n"
    "Commands run from the repository root of a fresh clone.\n"
)


@dataclass(frozen=True)
class Spread:
    """Median, 95th percentile and extremes of a list of timings."""

    count: int
    median: float
    p95: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(values), statistics.median(values), percentile(values, 95), min(values), max(values)
        )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was really measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def memory_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return math.nan


STARTED = datetime.now(UTC)
STARTED_LOAD = os.getloadavg()[0]  # taken when the script starts, before it adds any load


def machine() -> str:
    """One line naming the machine and the day, for every printed result."""
    return (
        f"{os.cpu_count()} cores, {memory_gib():.0f} GiB, load average {STARTED_LOAD:.1f} at "
        f"start, started {STARTED:%Y-%m-%d %H:%M} UTC"
    )


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        shown = script.relative_to(REPO)
    except ValueError:
        shown = script
    return " ".join([".venv/bin/python", str(shown), *sys.argv[1:]])


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


ORDER = ["loop_latency", "replay", "peers_scan", "signature_quality", "api_latency", "memory"]


def record(key: str, title: str, body: str, *, doc: Path = DOC) -> None:
    """Put ``body`` (with the command and machine) under ``### title`` in the shared section."""
    block = (
        f"<!-- bench:{key} begin -->\n### {title}\n\n"
        f"Command: `{command_line()}`  \nMachine: {machine()}.\n\n{body.strip()}\n"
        f"<!-- bench:{key} end -->\n"
    )
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    blocks = {k: b for k, b in _blocks(text).items() if k in ORDER}
    blocks[key] = block
    for old in _blocks(text).items():
        if old[0] in ORDER:
            text = text.replace(old[1], "")
    doc.write_text(_into_section(text, [blocks[k] for k in ORDER if k in blocks]), encoding="utf-8")


def _blocks(text: str) -> dict[str, str]:
    """Every marked block of the document by key (with its trailing newline)."""
    pattern = re.compile(r"<!-- bench:(\w+) begin -->.*?<!-- bench:\1 end -->\n", re.DOTALL)
    return {m.group(1): m.group(0) for m in pattern.finditer(text)}


def _into_section(text: str, blocks: list[str]) -> str:
    """The blocks, in order, at the end of this section (before the next ``## `` heading)."""
    text = re.sub(r"\n{3,}", "\n\n", text)
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{SECTION_INTRO}"
    at = text.index(SECTION) + len(SECTION)
    following = text.find("\n## ", at)
    end = len(text) if following < 0 else following + 1
    head, tail = text[:end].rstrip("\n") + "\n", text[end:]
    return head + "".join("\n" + b for b in blocks) + ("\n" + tail if tail else "")


def emit(key: str, title: str, body: str, *, save: bool) -> None:
    """Print the result block; with ``save`` also record it in docs/benchmarks.md."""
    print(f"\n### {title}\n\n{body.strip()}\n", flush=True)
    if save:
        record(key, title, body)
        print(f"(recorded in {DOC.relative_to(REPO)})")


def rss_kib(pid: int) -> int | None:
    """Resident set size of one process from /proc/<pid>/status (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes (every thread's children file, so none is missed)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """The process and everything it started, depth first."""
    found = [pid]
    for child in children(pid):
        found += descendants(child)
    return found


def process_name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in raw if w]
    return " ".join(Path(words[0]).name.split() + words[1:6]) if words else "?"


# --- watching a running loop: statuses read-only from the server database, shared model ----
def base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


class StatusReader:
    """Statuses of the Quarantine Server's samples, keyed by (computer, file base name)."""

    def __init__(self, config: Config) -> None:
        self.path = config.path("quarantine_server.sqlite3").resolve()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        return self._db

    def statuses(self) -> dict[tuple[str, str], str | None]:
        try:
            rows = self._connection().execute("SELECT computer, file_name, status FROM samples")
            return {(c, base_name(f)): s for c, f, s in rows}
        except sqlite3.OperationalError:  # locked for a moment, or not created yet
            return {}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass
class Milestones:
    """Real (monotonic) times at which each status was first seen for one sample."""

    started: float
    seen: dict[str, float] = field(default_factory=dict)

    def note(self, status: str | None, at: float) -> None:
        if status and status not in self.seen:
            self.seen[status] = at

    def after(self, status: str) -> float | None:
        return self.seen[status] - self.started if status in self.seen else None


def prepare_goodware(config: Config, cache: Path) -> float:
    """Build the back office's goodware n-gram model once into ``cache``; returns seconds.

    Built in a child process, so the benchmark's own memory stays that of a launcher."""
    import multiprocessing

    started = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(
        target=_build_model, args=(config.backoffice.goodware_mb, config.backoffice.goodware_dirs,
                                   config.backoffice.ngram_bucket_bits, str(cache))
    )  # fmt: skip
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"building the goodware model failed (exit {child.exitcode})")
    return time.perf_counter() - started


def _build_model(goodware_mb: int, extra_dirs: list[str], bucket_bits: int, cache: str) -> None:
    from backoffice.analysis.goodware import CorpusLimits, GoodwareCorpus
    from backoffice.services import Goodware

    budget = goodware_mb * 2**20
    corpus = GoodwareCorpus.discover(extra_dirs, CorpusLimits(budget, budget, budget, budget))
    Path(cache).mkdir(parents=True, exist_ok=True)
    Goodware.prepare(corpus, Path(cache), bucket_bits)


def share_goodware(data_dir: Path, cache: Path) -> None:
    """Point a fresh data directory's back-office model cache at the prepared one."""
    target = data_dir / "backoffice" / "ngram"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(cache.resolve(), target_is_directory=True)


def loop_session(
    data_dir: Path, speed: float, computers: int, goodware_mb: int | None = None
) -> LoopSession:
    """``LoopSession.quick`` (fresh data directory, short intervals), optionally with a smaller
    goodware corpus for the back office (quick smoke runs build its model in seconds)."""
    import shutil

    from launcher.settings import quick_loop_settings, write_settings

    if data_dir.exists():
        shutil.rmtree(data_dir)
    settings = quick_loop_settings(data_dir.resolve(), speed)
    if goodware_mb is not None:
        settings["backoffice"]["goodware_mb"] = goodware_mb
    config, path = write_settings(data_dir, settings)
    return LoopSession(config, path, computers)


def quiet_listeners() -> None:
    """The in-process endpoints' Defcast listeners log every request; benchmarks need not."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks stop the loop's child processes."""
    import signal

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, leave)

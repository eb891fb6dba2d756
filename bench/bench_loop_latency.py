"""End-to-end latency of the whole loop for novel samples: forwarded by an endpoint until the new
definitions are installed on that endpoint (and confirmed to the Quarantine Server).

    .venv/bin/python bench/bench_loop_latency.py [--samples 50] [--clock-speed 600] [--record]
    .venv/bin/python bench/bench_loop_latency.py --quick

The loop is the real one (``LoopSession.quick``: gateway, back office, Quarantine Server web
and agent as processes, one in-process endpoint with its Defcast listener). The clock runs
``--clock-speed`` times faster, so the agent's polling intervals (30 simulated seconds each
for the queue check and the status query) cost 30/speed real seconds and do not dominate.

Samples are novel by construction: every virus family the generator has (infecting, overwriter,
worm, trojan, macro) once per fresh loop, built with a seed of their own. A family whose
signature is already installed would be settled on the endpoint, so after every family has
had its turn the loop is started again in a new data directory; the goodware n-gram model is
built once and shared. The first sample of every loop warms the back office up (loading the
model) and is not counted. Samples go one at a time: the number is latency, not queueing.

Measured per sample, in real seconds from the moment the endpoint forwards it: each Quarantine
Server status as first seen (its database polled read-only every 10 ms) and the moment the
endpoint's active definitions sequence goes up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import (
    Milestones,
    Spread,
    StatusReader,
    emit,
    loop_session,
    prepare_goodware,
    quiet_listeners,
    share_goodware,
    stop_on_sigterm,
    table,
)

from simworld.generator import INFECTING, THREATS, build_sample
from simworld.macros import MACRO_FAMILIES

NOVEL = (*INFECTING, "overwriter", *THREATS, *MACRO_FAMILIES)
POLL_S = 0.01
SAMPLE_TIMEOUT_S = 120.0
STAGES = [
    ("intake", None, "quarantined"),
    ("queue check + submission", "quarantined", "submitted"),
    ("back office + status query", "submitted", "needed"),
    ("server install + Defcast", "needed", "distributed"),
]


def plan(samples: int) -> list[list[str]]:
    """Families per loop: a warm-up family first, then the others; each loop rotates the order."""
    loops: list[list[str]] = []
    counted = 0
    while counted < samples:
        shift = len(loops) % len(NOVEL)
        order = list(NOVEL[shift:] + NOVEL[:shift])
        take = min(len(order) - 1, samples - counted)
        loops.append(order[: take + 1])
        counted += take
    return loops


class Trial:
    """One fresh loop with one endpoint; forwards novel samples one at a time."""

    def __init__(self, root: Path, number: int, speed: float, goodware_mb: int | None) -> None:
        cache = root / "ngram"
        self.session = loop_session(root / f"loop{number}", speed, 1, goodware_mb)
        share_goodware(self.session.stack.data_dir, cache)
        self.session.start()
        self.endpoint = self.session.endpoints[0]
        self.reader = StatusReader(self.session.config)
        self.inbox = root / f"files{number}"
        self.inbox.mkdir()

    def run(self, family: str, seed: int, variant: int) -> Milestones:
        sample = build_sample(family, seed, variant)
        source = self.inbox / Path(sample.file).name
        source.write_bytes(sample.data)
        before = self.endpoint.active_sequence()
        [taken] = self.endpoint.take_in([source], force=True)
        key = (self.endpoint.computer, taken.placed.name)
        marks = Milestones(time.monotonic())
        self.endpoint.forward_pending()
        self._follow(marks, key, before)
        return marks

    def _follow(self, marks: Milestones, key: tuple[str, str], before: int) -> None:
        deadline = marks.started + SAMPLE_TIMEOUT_S
        while time.monotonic() < deadline and "installed" not in marks.seen:
            now = time.monotonic()
            marks.note(self.reader.statuses().get(key), now)
            if "endpoint" not in marks.seen and self.endpoint.active_sequence() > before:
                marks.note("endpoint", now)
            if marks.seen.keys() & {"error", "attention", "not installed", "unneeded"}:
                return
            time.sleep(POLL_S)

    def stop(self) -> None:
        self.reader.close()
        self.session.stop()


def measure(
    samples: int, speed: float, goodware_mb: int | None
) -> tuple[list[tuple[str, Milestones]], float]:
    results: list[tuple[str, Milestones]] = []
    quiet_listeners()
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as folder:
        root = Path(folder)
        probe = loop_session(root / "probe", speed, 0, goodware_mb)
        model_s = prepare_goodware(probe.config, root / "ngram")
        print(
            f"goodware n-gram model prepared in {model_s:.1f} s (shared by every loop)", flush=True
        )
        for number, families in enumerate(plan(samples)):
            trial = Trial(root, number, speed, goodware_mb)
            try:
                for index, family in enumerate(families):
                    marks = trial.run(family, 5000 + number, number)
                    if index:  # the first one warmed the back office up
                        results.append((family, marks))
                    _show(number, family, marks, counted=bool(index))
            finally:
                trial.stop()
    return results, model_s


def _show(loop: int, family: str, marks: Milestones, *, counted: bool) -> None:
    done = marks.after("endpoint")
    shown = f"{done:.2f} s" if done is not None else f"not installed ({sorted(marks.seen)})"
    print(f"  loop {loop} {family:18s} {shown}{'' if counted else '  (warm-up)'}", flush=True)


def report(results: list[tuple[str, Milestones]], speed: float, model_s: float) -> str:
    installed = [m.after("endpoint") for _, m in results]
    done = [t for t in installed if t is not None]
    confirmed = [t for _, m in results if (t := m.after("installed")) is not None]
    rows = [
        ["forward → definitions installed on the endpoint", *_cells(done)],
        ["forward → install confirmed to the server (status installed)", *_cells(confirmed)],
    ]
    rows += [[f"  stage: {name}", *_cells(_stage(results, a, b))] for name, a, b in STAGES]
    waits = 2 * 30 / speed
    failed = [
        f"{family} ({sorted(m.seen)})" for family, m in results if m.after("endpoint") is None
    ]
    return (
        f"{len(results)} novel samples (every virus family of the generator in turn, one at a time, "
        f"{len(done)} reached the endpoint), clock x{speed:g}: the agent's two 30-simulated-second "
        f"polls (queue check, status query) wait at most {waits:.2f} s real in all, so the rest is "
        f"processing. Goodware n-gram model built once beforehand ({model_s:.0f} s) and shared.\n\n"
        + table(["interval (real seconds)", "n", "median", "p95", "max"], rows)
        + ("\n\nNot installed: " + ", ".join(failed) if failed else "")
        + "\n\nPer family (median s to the endpoint): "
        + ", ".join(f"{f} {t:.1f}" for f, t in _per_family(results))
    )


def _cells(values: list[float]) -> list[str]:
    spread = Spread.of(values)
    return [str(spread.count), f"{spread.median:.2f}", f"{spread.p95:.2f}", f"{spread.high:.2f}"]


def _stage(results: list[tuple[str, Milestones]], first: str | None, last: str) -> list[float]:
    values = []
    for _, marks in results:
        end = marks.after(last)
        begin = 0.0 if first is None else marks.after(first)
        if end is not None and begin is not None:
            values.append(end - begin)
    return values


def _per_family(results: list[tuple[str, Milestones]]) -> list[tuple[str, float]]:
    by_family: dict[str, list[float]] = {}
    for family, marks in results:
        if (seconds := marks.after("endpoint")) is not None:
            by_family.setdefault(family, []).append(seconds)
    return [(f, Spread.of(v).median) for f, v in sorted(by_family.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--clock-speed", type=float, default=600.0)
    parser.add_argument(
        "--goodware-mb", type=int, default=None, help="Back-office goodware budget per source."
    )
    parser.add_argument("--quick", action="store_true", help="2 samples, 2 MB goodware per source.")
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.quick:
        args.samples, args.goodware_mb = 2, 2
    results, model_s = measure(args.samples, args.clock_speed, args.goodware_mb)
    body = report(results, args.clock_speed, model_s)
    emit(
        "loop_latency",
        "Novel sample: forward to definitions installed",
        body,
        save=args.record and not args.quick,
    )
    if not any(m.after("endpoint") is not None for _, m in results):
        raise SystemExit("no sample reached the endpoint")


if __name__ == "__main__":
    main()

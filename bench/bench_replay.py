"""Throughput of a replay (what ``dis replay`` does) for filtered and for novel samples.

    .venv/bin/python bench/bench_replay.py [--filtered 1000] [--novel 1000] [--clock-speed 120] [--record]
    .venv/bin/python bench/bench_replay.py --quick

Two corpora are written with the fixture generator (manifest included) and each is replayed
through a fresh loop with the same steps as ``dis replay`` (``LoopSession`` with 3 endpoints,
``session.forward``, ``launcher.journey.update`` until settled, then the manifest comparison):

- filtered: samples the loop settles without the back office: variants of the 'known'
  families (the Quarantine Server's baseline definitions detect them), EICAR test files (the
  gateway settles them) and duplicates (copies of a few clean programs: the first copy of each
  is analysed, every other copy is settled by the gateway's known-result / in-progress filters);
- novel: variants of every virus family the generator has, none detected at the start. The
  first samples of a family are analysed in full; later ones are caught by the new definitions
  wherever they are by then (the endpoint's own scan, the server scan, the gateway filter,
  the back-office intake).

Throughput is samples divided by the wall time from the first forward to the last sample
settled (the loop's start-up is reported apart). The goodware n-gram model is built before
the clock starts and shared, as a long-running back office would have it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests
from common import (
    emit,
    loop_session,
    prepare_goodware,
    quiet_listeners,
    share_goodware,
    stop_on_sigterm,
    table,
)

from launcher.cli import _outcomes
from launcher.journey import Journey, Observer, update
from launcher.manifest import Expectation, load_manifest
from launcher.session import LoopSession
from simworld.generator import (
    INFECTING,
    THREATS,
    Sample,
    build_sample,
    manifest,
)
from simworld.macros import MACRO_FAMILIES

NOVEL = (*INFECTING, "overwriter", *THREATS, *MACRO_FAMILIES)
DUPLICATED_ORIGINALS = 5
SEED = 31
STALL_S = 90.0
ON_ENDPOINT = "repaired on the endpoint"


def filtered_samples(count: int) -> list[Sample]:
    """40 % known-family variants, 30 % EICAR, 30 % copies of a few clean programs."""
    known = [build_sample("known", SEED, v) for v in range(count * 4 // 10)]
    eicar = [build_sample("eicar", SEED, v) for v in range(count * 3 // 10)]
    rest = count - len(known) - len(eicar)
    originals = [build_sample("clean_simvm", SEED, v) for v in range(DUPLICATED_ORIGINALS)]
    copies = [
        replace(original, file=f"binary/copy-{n:04d}-{Path(original.file).name}")
        for n in range(rest)
        for original in [originals[n % len(originals)]]
    ]
    return known + eicar + copies


def novel_samples(count: int) -> list[Sample]:
    """Every virus family in turn, a new variant each round."""
    return [build_sample(NOVEL[n % len(NOVEL)], SEED, n // len(NOVEL)) for n in range(count)]


def write(folder: Path, samples: list[Sample]) -> Path:
    for sample in samples:
        target = folder / sample.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(sample.data)
    (folder / "manifest.json").write_text(json.dumps(manifest(SEED, samples), indent=1))
    return folder


@dataclass
class ReplayResult:
    name: str
    samples: int
    startup_s: float
    forward_s: float
    total_s: float
    settled: int
    matched: int
    statuses: Counter[str]
    newest_sequence: int
    mismatches: list[str]

    stuck: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.settled / self.total_s if self.total_s > 0 else 0.0


def replay(
    name: str,
    corpus: Path,
    root: Path,
    speed: float,
    goodware_mb: int | None,
    timeout: float,
    watch: object | None = None,
) -> ReplayResult:
    """Replay ``corpus`` on a fresh loop; ``watch(session, phase)`` is told 'rest' and 'busy'."""
    expectations = load_manifest(corpus)
    session = loop_session(root / f"loop-{name}", speed, 3, goodware_mb)
    share_goodware(session.stack.data_dir, root / "ngram")
    started = time.monotonic()
    session.start()
    startup = time.monotonic() - started
    try:
        if watch is not None:
            watch(session, "rest")  # type: ignore[operator]
        began = time.monotonic()
        journeys = forward_corpus(session, corpus, expectations)
        forward = time.monotonic() - began
        tick = (lambda _: watch(session, "busy")) if watch is not None else None  # type: ignore[operator]
        follow(journeys, session.observer(), timeout, tick)
        total = max((j.finished or 0.0 for j in journeys), default=began) - began
        newest = _newest_sequence(session)
    finally:
        session.stop()
    outcomes = _outcomes([j for j in journeys if j.status != ON_ENDPOINT])
    return ReplayResult(
        name, len(journeys), startup, forward, total,
        sum(j.settled for j in journeys), sum(o.passed for o in outcomes),
        Counter(str(j.status) for j in journeys), newest,
        [f"{o.file}: {'; '.join(o.mismatches)}" for o in outcomes if not o.passed],
        [f"{j.expectation.file} (last status {j.status})" for j in journeys if not j.settled],
    )  # fmt: skip


def forward_corpus(
    session: LoopSession, corpus: Path, expectations: list[Expectation]
) -> list[Journey]:
    """``LoopSession.forward``, keeping one more fact: a file the computer's own scan repaired
    in place (its definitions already know it) never reaches the server; that journey ends at
    once, on the endpoint, instead of waiting for a server row that will not come."""
    journeys = []
    endpoints = session.endpoints
    for index, expectation in enumerate(expectations):
        endpoint = endpoints[index % len(endpoints)]
        [taken] = endpoint.take_in([corpus / expectation.file], force=True)
        journey = Journey(expectation, endpoint.computer, taken.placed.name)
        if taken.item is None and taken.repaired_in_place:
            journey.row = {"status": ON_ENDPOINT}
            journey.finished = time.monotonic()
        journeys.append(journey)
    for endpoint in endpoints:
        endpoint.forward_pending()
    return journeys


def follow(journeys: list[Journey], observer: Observer, timeout: float, tick: object) -> None:
    """``wait_all`` with one change: give up once nothing has settled for STALL_S seconds
    (a sample stuck short of its end would otherwise hold the measurement until the timeout)."""
    deadline = time.monotonic() + timeout
    last_progress, settled = time.monotonic(), 0
    while time.monotonic() < deadline and time.monotonic() - last_progress < STALL_S:
        with contextlib.suppress(requests.RequestException):
            update(journeys, observer)
        if tick is not None:
            tick(journeys)  # type: ignore[operator]
        now_settled = sum(j.settled for j in journeys)
        if now_settled == len(journeys):
            return
        if now_settled > settled:
            last_progress, settled = time.monotonic(), now_settled
        time.sleep(0.5)


def _newest_sequence(session: LoopSession) -> int:
    from dis_core.definitions import DefinitionRepository, VerifyKey

    config = session.config
    key = VerifyKey.load(config.path("backoffice/keys/signing.pub"))
    return DefinitionRepository(config.path("backoffice/published"), key).newest_sequence() or 0


def run(
    filtered: int, novel: int, speed: float, goodware_mb: int | None, timeout: float
) -> list[ReplayResult]:
    quiet_listeners()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        root = Path(folder)
        probe = loop_session(root / "probe", speed, 0, goodware_mb)
        print(
            f"goodware model prepared in {prepare_goodware(probe.config, root / 'ngram'):.0f} s",
            flush=True,
        )
        for name, samples in (
            ("filtered", filtered_samples(filtered)),
            ("novel", novel_samples(novel)),
        ):
            if not samples:
                continue
            corpus = write(root / f"corpus-{name}", samples)
            result = replay(name, corpus, root, speed, goodware_mb, timeout)
            print(
                f"  {name}: {result.settled}/{result.samples} settled in {result.total_s:.1f} s",
                flush=True,
            )
            results.append(result)
    return results


def report(results: list[ReplayResult], speed: float) -> str:
    rows = [
        [
            r.name, f"{r.samples:,}", f"{r.settled:,}", f"{r.matched:,}", f"{r.forward_s:.1f}",
            f"{r.total_s:.1f}", f"{r.rate:.1f}", f"{r.startup_s:.1f}", str(r.newest_sequence),
            ", ".join(f"{s} {n}" for s, n in r.statuses.most_common()),
        ]
        for r in results
    ]  # fmt: skip
    header = [
        "corpus", "samples", "settled", "reached the server and ended as the manifest expects", "forwarding s",
        "first forward → last settled s (settled only)", "samples/s", "loop start-up s", "newest definitions",
        "final statuses",
    ]  # fmt: skip
    return (
        f"Clock x{speed:g}, 3 endpoints, every part as its own process (gunicorn for the gateway "
        "and the Quarantine Server web). Filtered: 40 % 'known' family variants, 30 % EICAR, 30 % "
        f"copies of {DUPLICATED_ORIGINALS} clean programs. Novel: variants of the "
        f"{len(NOVEL)} virus families of the generator in turn.\n\n"
        + table(header, rows)
        + "".join(_mismatches(r) for r in results)
    )


def _mismatches(result: ReplayResult) -> str:
    text = ""
    if result.stuck:
        shown = "; ".join(result.stuck[:5])
        text += f"\n\n{result.name}: {len(result.stuck)} never settled (stopped waiting after {STALL_S:.0f} s without progress), e.g. {shown}"
    if result.mismatches:
        shown = "; ".join(result.mismatches[:5])
        text += (
            f"\n\n{result.name}: {len(result.mismatches)} not as the manifest expects, e.g. {shown}"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filtered", type=int, default=1000)
    parser.add_argument("--novel", type=int, default=1000)
    parser.add_argument("--clock-speed", type=float, default=120.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="Real seconds per corpus.")
    parser.add_argument("--goodware-mb", type=int, default=None)
    parser.add_argument(
        "--quick", action="store_true", help="20 filtered, 3 novel, small goodware."
    )
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.quick:
        args.filtered, args.novel, args.goodware_mb, args.timeout = 20, 3, 2, 300
    results = run(args.filtered, args.novel, args.clock_speed, args.goodware_mb, args.timeout)
    emit(
        "replay",
        "Replay throughput",
        report(results, args.clock_speed),
        save=args.record and not args.quick,
    )
    if not all(r.settled for r in results):
        raise SystemExit("a corpus had no sample settled")


if __name__ == "__main__":
    main()

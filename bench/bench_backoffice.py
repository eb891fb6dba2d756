"""Back-office benchmark: time per novel sample from imported to infected, and throughput.

Runs the real back office (dispatcher, executor threads, engine pools, builder lock, unit
tests against the goodware corpus, publishing) on a temporary data directory:
1. the goodware n-gram model is built once (and then loaded from its cache);
2. novel samples one at a time (one worker): imported -> infected, per sample;
3. a batch submitted at once with two workers (and with one, for comparison): throughput.

Usage: .venv/bin/python bench/bench_backoffice.py [--samples 12] [--batch 16] [--goodware-mb 12]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from backoffice.link import BackOfficeLink
from backoffice.service import BackOffice
from backoffice.store.models import Analysis
from dis_core.clock import ScaledClock
from dis_core.config import load_config
from simworld.generator import INFECTING, generate_samples
from simworld.macros import MACRO_FAMILIES

NOVEL = [f for f in INFECTING if f not in ("date_trigger",)] + ["date_trigger", *MACRO_FAMILIES]


def _office(data_dir: Path, workers: int, goodware_mb: int, model_cache: Path | None) -> BackOffice:
    config = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(data_dir)},
            "backoffice": {"workers": workers, "poll_interval_s": 0.05, "goodware_mb": goodware_mb},
        },
    )
    office = BackOffice(config, ScaledClock())
    if model_cache is not None:  # share the n-gram cache between runs (built once)
        ngram = office.services.store.root / "ngram"
        ngram.parent.mkdir(parents=True, exist_ok=True)
        if not ngram.exists():
            ngram.symlink_to(model_cache, target_is_directory=True)
    return office


def _durations(office: BackOffice, cookies: list[str]) -> dict[str, tuple[str, float]]:
    with office.services.store.sessions() as session:
        rows = session.scalars(select(Analysis).where(Analysis.cookie.in_(cookies))).all()
        return {
            r.cookie: (
                str(r.state),
                ((r.date_analyzed or r.date_updated) - r.date_imported).total_seconds(),
            )
            for r in rows
        }


def _why(office: BackOffice, cookie: str) -> str:
    with office.services.store.sessions() as session:
        row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
        return str(
            row.findings.get("deferred_because") or row.error_detail or row.state_path()[-3:]
        )


def bench_model(root: Path, goodware_mb: int) -> Path:
    office = _office(root / "model", 1, goodware_mb, None)
    started = time.perf_counter()
    goodware = office.services.goodware
    built = time.perf_counter() - started
    office.stop()
    again = _office(root / "model", 1, goodware_mb, None)
    started = time.perf_counter()
    _ = again.services.goodware
    loaded = time.perf_counter() - started
    again.stop()
    corpus = goodware.corpus
    print(f"goodware corpus: {len(corpus.files)} files, {corpus.total_bytes / 2**20:.1f} MB")
    print(
        f"n-gram model: built in {built:.1f} s (incl. discovery), loaded from cache in {loaded:.1f} s"
    )
    return root / "model" / "backoffice" / "ngram"


def bench_sequential(root: Path, count: int, goodware_mb: int, cache: Path) -> None:
    office = _office(root / "seq", 1, goodware_mb, cache)
    office.start()
    _ = office.services.goodware  # loaded before timing: a running back office has it
    link = BackOfficeLink(office.config, office.services.clock)
    samples = generate_samples(99, NOVEL, variants=max(1, -(-count // len(NOVEL))))[:count]
    results = []
    for index, sample in enumerate(samples):
        cookie = f"seq-{index}"
        started = time.perf_counter()
        link.import_sample(cookie, hashlib.sha256(sample.data).hexdigest(), sample.data, {})
        state = office.wait_final([cookie], 120)[cookie]
        results.append((sample.family, state, time.perf_counter() - started))
        if state != "infected":
            print(f"  ({sample.family} ended {state}: {_why(office, cookie)})")
    office.stop()
    for family, state, seconds in results:
        print(f"  {family:18s} {state:10s} {seconds:5.2f} s")
    times = [s for _, state, s in results if state == "infected"]
    print(
        f"novel samples imported->infected (1 worker): n={len(times)} mean {statistics.mean(times):.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )


def bench_batch(root: Path, batch: int, workers: int, goodware_mb: int, cache: Path) -> None:
    office = _office(root / f"batch{workers}", workers, goodware_mb, cache)
    office.start()
    _ = office.services.goodware
    link = BackOfficeLink(office.config, office.services.clock)
    samples = generate_samples(1234 + workers, NOVEL, variants=max(1, -(-batch // len(NOVEL))))[
        :batch
    ]
    cookies = [f"b{workers}-{i}" for i in range(len(samples))]
    started = time.perf_counter()
    for cookie, sample in zip(cookies, samples, strict=True):
        link.import_sample(cookie, hashlib.sha256(sample.data).hexdigest(), sample.data, {})
    states = office.wait_final(cookies, 600)
    elapsed = time.perf_counter() - started
    done = _durations(office, cookies)
    office.stop()
    infected = sum(1 for s in states.values() if s == "infected")
    latency = statistics.mean(d for _, d in done.values())
    print(
        f"batch of {len(samples)} with {workers} worker(s): {elapsed:.1f} s wall, {len(samples) / elapsed * 60:.0f} samples/min, {infected} infected, mean latency {latency:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--goodware-mb", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backoffice-") as folder:
        root = Path(folder)
        cache = bench_model(root, args.goodware_mb)
        bench_sequential(root, args.samples, args.goodware_mb, cache)
        for workers in (2, 1):
            bench_batch(root, args.batch, workers, args.goodware_mb, cache)


if __name__ == "__main__":
    main()

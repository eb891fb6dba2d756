"""Scale-out benchmark: back-office replay throughput, embedded versus PostgreSQL + Celery.

The same batch of novel simulated samples (binary and macro viruses) is imported into the
back office the way the gateway hands samples over, and timed from the first import until
every sample has reached its final state, in each of these set-ups:

- embedded: SQLite, steps on the in-process thread pool (``backoffice.workers`` threads);
- PostgreSQL + Celery with 1, 2 and 4 ``dis worker`` processes (one step at a time each) over
  Redis; the dispatcher runs in this process, as ``dis backoffice`` would.

The goodware n-gram model is built once and shared through its cache, and every worker loads
it before the clock starts, so the numbers are the steady state, not start-up.
PostgreSQL and Redis: DIS_TEST_POSTGRES_URL / DIS_TEST_REDIS_URL, else started with
scripts/services.sh for the run.

With ``--loop 0,2`` it also times whole ``dis replay`` runs (endpoints, Quarantine Server,
gateway, back office) of seven fixtures, embedded and with two workers.

Usage: .venv/bin/python bench/bench_scaleout.py [--batch 8] [--workers 1,2,4] [--loop 0,2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from sqlalchemy import select

from backoffice.link import BackOfficeLink
from backoffice.service import BackOffice
from backoffice.store.models import Analysis
from dis_core.config import Config, load_config
from dis_core.migrate import part_url
from simworld.generator import Sample, generate_samples

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ["appender_ep", "prepender", "section_adder", "macro_autoopen", "macro_poly", "cavity"]


@dataclass
class Result:
    label: str
    samples: int
    wall_s: float
    infected: int
    latency_s: float

    def line(self) -> str:
        rate = self.samples / self.wall_s * 60
        return (
            f"| {self.label} | {self.samples} | {self.wall_s:.1f} s | {rate:.1f} | "
            f"{self.infected} | {self.latency_s:.1f} s |"
        )


def _services() -> tuple[str, str, Path | None]:
    pg, rd = os.environ.get("DIS_TEST_POSTGRES_URL"), os.environ.get("DIS_TEST_REDIS_URL")
    if pg and rd:
        return pg, rd, None
    own = Path(tempfile.mkdtemp(prefix="dis-bench-services-"))
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "services.sh"), "start", str(own)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    values = dict(
        line.removeprefix("export ").split("=", 1)
        for line in out.stdout.splitlines()
        if "=" in line
    )
    return values["DIS_TEST_POSTGRES_URL"], values["DIS_TEST_REDIS_URL"], own


def _settings(data_dir: Path, backoffice: dict[str, object]) -> tuple[Config, Path]:
    data_dir.mkdir(parents=True)
    path = data_dir / "dis.toml"
    settings = {
        "general": {"data_dir": str(data_dir)},
        "backoffice": {"poll_interval_s": 0.1, **backoffice},
    }
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    return load_config(path, environ={}), path


def _share_model(config: Config, cache: Path) -> None:
    ngram = config.path("backoffice") / "ngram"
    ngram.parent.mkdir(parents=True, exist_ok=True)
    ngram.symlink_to(cache, target_is_directory=True)


def _run_batch(office: BackOffice, samples: list[Sample], label: str) -> Result:
    link = BackOfficeLink(office.config, office.services.clock)
    cookies = [f"bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(len(samples))]
    started = time.perf_counter()
    for cookie, sample in zip(cookies, samples, strict=True):
        link.import_sample(cookie, hashlib.sha256(sample.data).hexdigest(), sample.data, {})
    states = office.wait_final(cookies, 900)
    wall = time.perf_counter() - started
    link.close()
    with office.services.store.sessions() as session:
        rows = session.scalars(select(Analysis).where(Analysis.cookie.in_(cookies))).all()
        latencies = [
            ((r.date_analyzed or r.date_updated) - r.date_imported).total_seconds() for r in rows
        ]
    infected = sum(1 for s in states.values() if s == "infected")
    for row in rows:
        if row.state != "infected":  # say why, so a wrong end is never just a smaller number
            print(f"  {label}: {row.cookie} ended {row.state}: {row.error_detail}", flush=True)
    return Result(label, len(samples), wall, infected, statistics.mean(latencies))


def embedded(root: Path, samples: list[Sample], cache: Path) -> Result:
    config, _ = _settings(root / "embedded", {})
    _share_model(config, cache)
    office = BackOffice(config)
    office.start()
    _ = office.services.goodware  # loaded before timing, like a running back office
    try:
        return _run_batch(
            office, samples, f"embedded (SQLite, {config.backoffice.workers} threads)"
        )
    finally:
        office.stop()


def celery(
    root: Path, samples: list[Sample], cache: Path, workers: int, pg: str, broker: str
) -> Result:
    base = pg.rsplit("/", 1)[0] + f"/bench{uuid.uuid4().hex[:6]}"
    config, path = _settings(
        root / f"celery{workers}",
        {"executor": "celery", "broker_url": broker, "database_url": part_url(base, "backoffice")},
    )
    _share_model(config, cache)
    office = BackOffice(config)
    office.start()
    procs = [_worker(path, n, config.path("logs")) for n in range(workers)]
    try:
        _wait_warm(office, procs)
        return _run_batch(office, samples, f"PostgreSQL + Celery, {workers} worker process(es)")
    finally:
        office.stop()
        for proc, _ in procs:
            proc.terminate()
            proc.wait(60)


def _worker(config_file: Path, number: int, logs: Path) -> tuple[subprocess.Popen[bytes], Path]:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"worker-{number}.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher", "worker", "--name", f"bench-{number}", "--loglevel", "WARNING"],
            stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "DIS_CONFIG": str(config_file)},
        )  # fmt: skip
    return proc, log


def _wait_warm(office: BackOffice, procs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    """Every worker process has loaded the back office's services and goodware model: each
    runs one no-op step (an unknown cookie), which opens them."""
    from celery import Celery

    from backoffice.pipeline.distributed.app import QUEUE, STEP_TASK

    app: Celery = office.executor.app  # type: ignore[attr-defined]
    app.control.purge()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= len(procs):
            break
    for _ in range(len(procs) * 3):  # prefetch 1: spread over the workers
        app.send_task(STEP_TASK, args=["classifier", "warm-up"], queue=QUEUE)
    time.sleep(2)
    while time.monotonic() < deadline and _queue_length(office) > 0:
        time.sleep(0.5)  # queued or taken but not yet acknowledged (late ack): still warming


def _queue_length(office: BackOffice) -> int:
    import redis

    client = redis.Redis.from_url(office.config.backoffice.broker_url)
    try:
        waiting = int(client.llen("dis-backoffice"))  # type: ignore[arg-type]
        return waiting + int(client.hlen("unacked"))  # type: ignore[arg-type]
    finally:
        client.close()


def build_model(root: Path) -> Path:
    config, _ = _settings(root / "model", {})
    office = BackOffice(config)
    started = time.perf_counter()
    _ = office.services.goodware
    print(f"goodware model ready in {time.perf_counter() - started:.1f} s", flush=True)
    office.stop()
    return config.path("backoffice") / "ngram"


def loop_replay(root: Path, workers: int, pg: str, broker: str) -> str:
    """The whole loop (``dis replay`` of seven generated fixtures), embedded or scaled out."""
    corpus = root / "loop-corpus"
    if not corpus.exists():
        families = "appender_ep,macro_poly,worm,eicar,known,data,fp_bait"
        _dis("fixtures", "generate", "--out", str(corpus), "--seed", "4242", "--families", families)
    args = ["replay", str(corpus), "--data-dir", str(root / f"loop{workers}"), "--timeout", "600"]
    if workers:
        base = pg.rsplit("/", 1)[0] + f"/loop{uuid.uuid4().hex[:6]}"
        args += ["--db", base, "--broker", broker, "--workers", str(workers)]
    started = time.perf_counter()
    run = _dis(*args)
    wall = time.perf_counter() - started
    verdict = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-200:]
    label = f"PostgreSQL + Celery, {workers} worker(s)" if workers else "embedded"
    return f"| dis replay, {label} | 7 | {wall:.0f} s (incl. start-up and stop) | {verdict} |"


def _dis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--loop", default="", help="Also time whole-loop replays, e.g. '0,2' (0: embedded)."
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    samples = generate_samples(2026, FAMILIES, variants=-(-args.batch // len(FAMILIES)))[
        : args.batch
    ]
    pg, broker, own = _services()
    loops: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as folder:
            root = Path(folder)
            cache = build_model(root)
            results = [embedded(root, samples, cache)]
            print(results[-1].line(), flush=True)
            for count in counts:
                results.append(celery(root, samples, cache, count, pg, broker))
                print(results[-1].line(), flush=True)
            loops = [loop_replay(root, int(n), pg, broker) for n in args.loop.split(",") if n]
    finally:
        if own is not None:
            subprocess.run(
                ["bash", str(REPO / "scripts" / "services.sh"), "stop", str(own)], check=False
            )
    print("\n| set-up | samples | wall time | samples/min | infected | mean latency |")
    print("|---|---|---|---|---|---|")
    for result in results:
        print(result.line())
    for line in loops:
        print(line)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())

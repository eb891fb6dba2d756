"""Console API list latency with a large sample table.

    .venv/bin/python bench/bench_api_latency.py [--rows 100000] [--requests 40] [--record]
    .venv/bin/python bench/bench_api_latency.py --quick

A temporary data directory gets a Quarantine Server SQLite database with ``--rows`` sample
rows (inserted in bulk through the server's own models, 2 % of them with a recorded error),
an admin user and a bearer token. The real web server then runs as its own process
(``dis quarantine-server web``: gunicorn, 2 workers, TLS with throwaway certificates) and the
script times ``GET /api/v1/samples`` over loopback, one request at a time, for the list views
the console uses: default order, deep paging, sorting, and each kind of filter.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import tomli_w
from common import Spread, emit, stop_on_sigterm, table
from sqlalchemy import insert

from dis_core.certs import generate
from dis_core.config import load_config
from dis_core.db import unit_of_work
from dis_core.tls import http_session
from dis_core.vocabulary import SampleError, SampleState, SampleStatus
from launcher.processes import ServiceProcess
from launcher.settings import free_port
from quarantine_server.auth import create_user
from quarantine_server.database import open_database
from quarantine_server.models import Sample, SampleProblem
from quarantine_server.tokens import create_token

VIEWS: list[tuple[str, dict[str, Any]]] = [
    ("newest first (default, 50 a page)", {}),
    ("page 1,000 of the default order", {"page": 1000}),
    ("page 1,000 by keyset (`after` = the `next` of page 999)", {"keyset_page": 1000}),
    ("the last page by keyset", {"keyset_page": "last"}),
    ("500 a page", {"per_page": 500}),
    ("sorted by virus name, 100 a page", {"sort": "virus", "order": "asc", "per_page": 100}),
    ("sorted by file name, descending", {"sort": "file_name", "order": "desc"}),
    ("status = installed", {"status": "installed"}),
    ("status = needed,distribute + sorted by priority", {"status": "needed,distribute", "sort": "priority"}),
    ("computer contains 'ws017'", {"computer": "ws017"}),
    ("file name contains 'invoice-12'", {"file_name": "invoice-12"}),
    ("virus contains 'Prepender'", {"virus": "Prepender"}),
    ("with errors", {"has_errors": "true"}),
]  # fmt: skip
FAMILIES = ["Appender", "Prepender", "Cavity", "Worm", "Macro.AutoOpen", "Oldie", None]
CHUNK = 5000


def sample_rows(count: int, now: datetime) -> list[dict[str, Any]]:
    """Plausible rows: statuses and states of every kind, 200 computers, names that repeat."""
    rng = random.Random(count)
    statuses = [s.value for s in SampleStatus]
    states = [s.value for s in SampleState]
    rows = []
    for number in range(1, count + 1):
        received = now - timedelta(seconds=rng.randrange(90 * 86400))
        family = rng.choice(FAMILIES)
        rows.append(
            {
                "sample_checksum": f"{rng.getrandbits(256):064x}",
                "endpoint_sample_id": f"item-{number}",
                "computer": f"ws{rng.randrange(200):03d}.simcorp",
                "user": f"SIMCORP\\user{rng.randrange(500)}",
                "file_name": f"C:/Users/u/Downloads/{rng.choice(['invoice', 'setup', 'report'])}-{number}.exe",
                "size": rng.randrange(1024, 2**20),
                "stored_name": f"{number:012d}.q",
                "stored_bytes": 4096,
                "attributes_json": "{}",
                "status": rng.choice(statuses),
                "state": rng.choice(states),
                "status_changed_at": received,
                "priority": rng.randrange(0, 1001),
                "received_at": received,
                "date_analyzed": received + timedelta(minutes=5) if rng.random() < 0.6 else None,
                "virus_name": f"W32/{family}.{rng.randrange(50)}" if family else None,
                "definitions_needed": rng.randrange(2, 400) if family else None,
            }
        )  # fmt: skip
    return rows


def fill_database(config: Any, rows: int) -> str:
    """Bulk-insert the rows; returns a bearer token of an admin."""
    database = open_database(config)
    now = datetime.now(UTC)
    data = sample_rows(rows, now)
    rng = random.Random(7)
    with unit_of_work(database.sessions) as session:
        for start in range(0, len(data), CHUNK):
            session.execute(insert(Sample), data[start : start + CHUNK])
        problems = [
            {
                "sample_id": sample_id,
                "at": now,
                "error": rng.choice(list(SampleError)).value,
                "detail": "recorded for the benchmark",
                "source": "bench",
            }
            for sample_id in rng.sample(range(1, rows + 1), max(1, rows // 50))
        ]
        session.execute(insert(SampleProblem), problems)
        admin = create_user(session, "admin", "bench-password-1", "admin", now)
        token, _ = create_token(session, admin, "bench", now)
    database.engine.dispose()
    return token


def write_config(data_dir: Path, port: int) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dis.toml"
    settings = {"general": {"data_dir": str(data_dir), "listen_port": port}}
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    return path


def start_web(
    data_dir: Path, config_path: Path, url: str, session: requests.Session
) -> ServiceProcess:
    def ready() -> bool:
        try:
            return session.get(url + "/api/v1/health", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    env = {"DIS_CONFIG": str(config_path), "DIS_DATA_DIR": str(data_dir)}
    service = ServiceProcess(
        "qserver-web", ["quarantine-server", "web"], data_dir / "logs", env, ready
    )
    service.start()
    service.wait_ready(120)
    return service


def keyset_params(session: requests.Session, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """``keyset_page: N`` (or "last") becomes ``after``: the cursor an API client following
    ``next`` from page 1 would hold there (found once, with one offset request)."""
    wanted = params.pop("keyset_page", None)
    if wanted is None:
        return params
    if wanted == "last":
        total = int(session.get(url, params={"per_page": 1}, timeout=60).json()["total"])
        wanted = max((total + 49) // 50, 2)
    before = session.get(url, params={**params, "page": wanted - 1}, timeout=600).json()
    return {**params, "after": before["next"]}


def time_view(
    session: requests.Session, url: str, params: dict[str, Any], count: int
) -> tuple[Spread, int]:
    params = keyset_params(session, url, dict(params))
    timings = []
    total = 0
    for attempt in range(count + 2):  # two warm-up requests (worker caches, SQLite pages)
        started = time.perf_counter()
        reply = session.get(url, params=params, timeout=60)
        elapsed = time.perf_counter() - started
        reply.raise_for_status()
        total = int(reply.json()["total"])
        if attempt >= 2:
            timings.append(elapsed * 1000)
    return Spread.of(timings), total


def run(rows: int, requests_each: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        data_dir = Path(folder) / "data"
        port = free_port()
        config_path = write_config(data_dir, port)
        config = load_config(config_path, environ={})
        certs = generate(config.certs_dir)
        started = time.perf_counter()
        token = fill_database(config, rows)
        print(f"inserted {rows:,} samples in {time.perf_counter() - started:.1f} s", flush=True)
        url = f"https://127.0.0.1:{port}"
        session = http_session(certs.ca_cert)
        session.headers["Authorization"] = f"Bearer {token}"
        service = start_web(data_dir, config_path, url, session)
        try:
            results = []
            for name, params in VIEWS:
                spread, total = time_view(session, url + "/api/v1/samples", params, requests_each)
                results.append(
                    (
                        name,
                        f"{total:,}",
                        f"{spread.median:.0f}",
                        f"{spread.p95:.0f}",
                        f"{spread.high:.0f}",
                    )
                )
                print(
                    f"  {name}: median {spread.median:.0f} ms, p95 {spread.p95:.0f} ms", flush=True
                )
        finally:
            service.stop()
            session.close()
    header = ["list view", "matching rows", "median ms", "p95 ms", "max ms"]
    return (
        f"{rows:,} samples in the SQLite database; `GET /api/v1/samples` through the real server "
        f"(`dis quarantine-server web`: gunicorn, 2 workers, TLS) over loopback, bearer token, "
        f"{requests_each} sequential requests per view after 2 warm-up requests; each request "
        f"opens a new TLS connection (gunicorn's sync workers do not keep connections alive).\n\n"
        + table(header, results)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40, help="Timed requests per view.")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 3 requests per view.")
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.quick:
        args.rows, args.requests = 2000, 3
    body = run(args.rows, args.requests)
    emit("api_latency", "Console API list latency", body, save=args.record and not args.quick)


if __name__ == "__main__":
    main()

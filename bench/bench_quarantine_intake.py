"""Quarantine Server intake and scanner throughput on loopback TLS.

Forwards N samples (64 KiB each) from 4 client threads to the real web app (werkzeug,
threaded, TLS) and reports acknowledged samples per second and latency percentiles; then
runs one scanner pass over them with a real signed definition set and reports samples/s.
Usage: .venv/bin/python bench/bench_quarantine_intake.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from dis_core.certs import generate
from dis_core.config import load_config
from dis_core.definitions import (
    DefinitionRepository,
    Signature,
    build_full,
    load_or_create_signing_key,
)
from dis_core.protocol import pack_sample
from dis_core.tls import http_session, server_context
from quarantine_server.agent import Agent
from quarantine_server.services import build_services
from quarantine_server.web.app import create_app

THREADS = 4
SIZE = 64 * 1024


def _signature() -> Signature:
    rule = 'rule bench_mark\n{\n  strings:\n    $a = "SIMMARK-BENCH"\n  condition:\n    $a\n}\n'
    recipe = {"version": 1, "anchor": "$a", "ops": [{"op": "truncate", "length": {"match": 0}}]}
    return Signature("BENCH1", "Sim.Bench.A", "binary", rule, recipe, 1, family="bench")


def _publish_certified(data: Path) -> None:
    key = load_or_create_signing_key(data / "backoffice" / "keys")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    package = build_full(
        1, [_signature()], certified=True, produced=when, key=key, published=when, certified_at=when
    )
    DefinitionRepository(data / "published", key.verify_key()).publish(package)
    installed = Path(data / "published")
    (data / "definitions").mkdir(exist_ok=True)
    from dis_core.definitions import InstalledDefinitions

    InstalledDefinitions(data / "definitions", key.verify_key()).install(package)
    _ = installed


def _sender(url: str, ca: Path, count: int, worker: int, latencies: list[float]) -> None:
    http = http_session(ca)
    for number in range(count):
        content = os.urandom(SIZE) + (b"SIMMARK-BENCH" if number % 2 else b"")
        attrs: dict[str, Any] = {
            "X-Sample-Type": "file",
            "X-Sample-File": f"f{number}.exe",
            "X-Sample-Id": f"{worker}-{number}",
            "X-Platform-User": "u",
            "X-Platform-Computer": f"PC-{worker}",
            "X-Scan-Result": "suspicious",
            "X-Scan-Signatures-Sequence": 0,
            "X-Date-Quarantined": datetime.now(UTC),
        }
        headers, body = pack_sample(content, attrs)
        started = time.perf_counter()
        reply = http.post(f"{url}/intake/v1/samples", headers=headers, data=body, timeout=60)
        latencies.append(time.perf_counter() - started)
        assert reply.status_code == 201, reply.text


def main(total: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="qs-bench-")) / "data"
    certs = generate(data / "certs")
    _publish_certified(data)
    config = load_config(None, environ={}, overrides={"general": {"data_dir": str(data)}})
    services = build_services(config)
    server = make_server(
        "127.0.0.1",
        0,
        create_app(services=services),
        threaded=True,
        ssl_context=server_context(certs.server_cert, certs.server_key),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}"
    latencies: list[float] = []
    started = time.perf_counter()
    workers = [
        threading.Thread(target=_sender, args=(url, certs.ca_cert, total // THREADS, i, latencies))
        for i in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"intake: {len(latencies)} samples of {SIZE // 1024} KiB, {THREADS} clients, {elapsed:.2f} s, "
        f"{len(latencies) / elapsed:.1f} samples/s, latency p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms"
    )
    started = time.perf_counter()
    scanned = Agent(services).scan_pass()
    elapsed = time.perf_counter() - started
    print(
        f"scanner pass: {scanned} samples in {elapsed:.2f} s, {scanned / elapsed:.1f} samples/s (half detected and repair-checked)"
    )
    server.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)

"""Measure N simulated computers against the real Quarantine Server on loopback TLS.

Run: .venv/bin/python tests/endpoint/bench_fleet.py [N]   (not collected by pytest)

Each computer starts (folders, quarantine key, an old definition set, its TLS Defcast
listener), finds one inert test file, quarantines and forwards it; the server's scanner pass
settles every sample with its own set, its Defcast pass pushes the set to every computer,
which installs it, repairs the file in place and confirms.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dis_core.certs import CertPaths, generate  # noqa: E402
from dis_core.clock import ManualClock  # noqa: E402
from dis_core.config import Config, load_config  # noqa: E402
from dis_core.definitions import InstalledDefinitions, Signature, SigningKey, build_full  # noqa: E402
from endpoint.fleet import fleet_identities  # noqa: E402
from endpoint.machine import Endpoint  # noqa: E402
from quarantine_server.agent import Agent  # noqa: E402
from quarantine_server.models import Sample  # noqa: E402
from quarantine_server.services import Services, build_services  # noqa: E402
from quarantine_server.web.app import create_app  # noqa: E402
from tests.support.servers import serve  # noqa: E402

ENGINE = "yara-x"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
HOST = b"MZ" + bytes(62) + b"harmless host " * 300
BODY = b"SIMBENCH-BODY-0001" + bytes(50)


def packages(key: SigningKey) -> tuple[bytes, bytes]:
    flag = 'rule HeurBench { strings: $a = "SIMBENCH" condition: $a }'
    rule = 'rule SimBench { strings: $a = "SIMBENCH-BODY-0001" condition: $a }'
    recipe = {"version": 1, "anchor": "$a", "ops": [{"op": "truncate", "length": {"match": 0}}]}
    heuristic = Signature("B000000", "Heur.Bench", "binary", flag, None, 1, category="heuristic")
    virus = Signature("B000001", "Sim.Bench.A", "binary", rule, recipe, 2)
    old = build_full(1, [heuristic], certified=True, produced=WHEN, key=key)
    return old, build_full(2, [heuristic, virus], certified=True, produced=WHEN, key=key)


def server(data: Path, new: bytes, key: SigningKey) -> tuple[Services, int]:
    overrides = {"general": {"data_dir": str(data), "quarantine_max_mb": 200},
                 "definition_policy": {"engine": ENGINE}}  # fmt: skip
    config = load_config(None, environ={}, overrides=overrides)
    services = build_services(config, ManualClock())
    InstalledDefinitions(services.definitions_root(config), key.verify_key(), ENGINE).install(new)
    web = serve(create_app(services=services), CertPaths(data / "certs"))
    return services, web.port


def endpoint_config(data: Path, port: int) -> Config:
    overrides = {"general": {"data_dir": str(data)}, "definition_policy": {"engine": ENGINE},
                 "endpoint": {"server_url": f"https://127.0.0.1:{port}", "retry_interval_s": 60}}  # fmt: skip
    return load_config(None, environ={}, overrides=overrides)


def in_parallel(endpoints: list[Endpoint]) -> None:
    def one_round(endpoint: Endpoint) -> None:
        endpoint.scan_once()
        endpoint.forward_pending()

    threads = [threading.Thread(target=one_round, args=(e,)) for e in endpoints]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(count: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    data = Path(tempfile.mkdtemp()) / "data"
    generate(data / "certs")
    key = SigningKey.generate()
    (data / "backoffice/keys").mkdir(parents=True)
    key.verify_key().save(data / "backoffice/keys/signing.pub")
    old, new = packages(key)
    services, port = server(data, new, key)
    config, clock = endpoint_config(data, port), ManualClock()
    marks = [time.perf_counter()]
    endpoints = [Endpoint(config, identity, clock) for identity in fleet_identities(count)]
    for endpoint in endpoints:
        endpoint.install_definitions(old)
        endpoint.start_defcast(0)
        (endpoint.folders.watch / "app.exe").write_bytes(HOST + BODY)
    marks.append(time.perf_counter())
    in_parallel(endpoints)
    marks.append(time.perf_counter())
    Agent(services).scan_pass()
    marks.append(time.perf_counter())
    Agent(services).defcast_pass()
    for endpoint in endpoints:
        endpoint.wait_idle()
    marks.append(time.perf_counter())
    with services.work() as session:
        statuses = [sample.status for sample in session.query(Sample)]
    repaired = sum((e.folders.watch / "app.exe").read_bytes() == HOST for e in endpoints)
    steps = ["start (folders, key, old set, TLS listener)", "scan + forward (parallel)",
             "server scanner pass", "Defcast push + install + repair + confirm"]  # fmt: skip
    print(f"computers: {count}")
    for name, start, end in zip(steps, marks, marks[1:], strict=False):
        print(f"{name}: {end - start:.2f} s")
    print(
        f"installed: {statuses.count('installed')}/{len(statuses)}; repaired in place: {repaired}/{count}"
    )
    for endpoint in endpoints:
        endpoint.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)

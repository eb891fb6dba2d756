"""Many simulated computers in one process: one thread per endpoint, each with its own port."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from dis_core.clock import Clock
from dis_core.config import Config
from endpoint.identity import Identity
from endpoint.machine import Endpoint

log = logging.getLogger(__name__)
MIN_PAUSE_S = 0.05  # a stepped clock would otherwise make the loop spin


def fleet_identities(count: int, prefix: str = "ws", domain: str = "SIMCORP") -> list[Identity]:
    return [Identity.numbered(i, prefix, domain) for i in range(1, count + 1)]


def known_identity(config: Config, computer: str) -> Identity:
    """The saved identity of an endpoint that ran before, or a fresh one with that name."""
    path = Path(config.general.data_dir) / "endpoints" / computer / "identity.json"
    return Identity.load(path) if path.exists() else Identity(user="user", computer=computer)


class Fleet:
    """Endpoints that scan, forward and listen for Defcast until stopped."""

    def __init__(self, config: Config, identities: list[Identity], clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.endpoints = [Endpoint(config, identity, clock) for identity in identities]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, defcast_base_port: int | None = None) -> dict[str, int]:
        """Start listeners (base port + index; 0: any free port; None: poll only) and loops."""
        ports: dict[str, int] = {}
        for index, endpoint in enumerate(self.endpoints):
            if defcast_base_port is not None:
                port = defcast_base_port + index if defcast_base_port else 0
                ports[endpoint.computer] = endpoint.start_defcast(port)
            thread = threading.Thread(
                target=self._loop,
                args=(endpoint,),
                name=f"endpoint-{endpoint.computer}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        return ports

    def _loop(self, endpoint: Endpoint) -> None:
        interval = self.config.endpoint.scan_interval_s
        while not self._stop.is_set():
            try:
                endpoint.tick()
            except Exception:  # keep the computer running; the journal and log say why
                log.exception("%s: round failed", endpoint.computer)
            self._stop.wait(max(MIN_PAUSE_S, self.clock.real_seconds(interval)))

    def wait(self) -> None:
        """Block until request_stop() (or stop()) is called."""
        self._stop.wait()

    def request_stop(self) -> None:
        """Ask the loops to end (safe from a signal handler); stop() then cleans up."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        for endpoint in self.endpoints:
            endpoint.stop()

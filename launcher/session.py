"""A running loop for the launcher's commands: the server processes plus in-process endpoints."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dis_core.clock import clock_for
from dis_core.config import Config
from launcher.journey import Journey, Observer
from launcher.manifest import Expectation
from launcher.settings import quick_loop_settings, write_settings
from launcher.stack import ADMIN_USER, Stack


@dataclass
class LoopSession:
    """Everything ``dis demo`` / ``dis replay`` / ``dis up`` start, stopped in reverse order."""

    config: Config
    config_file: Path | None
    computers: int = 3
    stack: Stack = field(init=False)
    password: str = ""
    fleet: object | None = None

    def __post_init__(self) -> None:
        self.stack = Stack(self.config, self.config_file)

    @classmethod
    def quick(cls, data_dir: Path, speed: float, *, fresh: bool, computers: int = 3) -> LoopSession:
        """A session in its own data directory with short intervals (demo, replay, tests)."""
        if fresh and data_dir.exists():
            shutil.rmtree(data_dir)
        config, path = write_settings(data_dir, quick_loop_settings(data_dir.resolve(), speed))
        return cls(config, path, computers)

    def start(self) -> None:
        created = self.stack.bootstrap()
        self.password = created or self._saved_password()
        self.stack.start()
        self._start_fleet()

    def _saved_password(self) -> str:
        path = self.stack.data_dir / "admin-password.txt"
        return path.read_text(encoding="utf-8").strip() if path.exists() else ""

    def _start_fleet(self) -> None:
        if self.computers <= 0:
            return
        from endpoint.fleet import Fleet, fleet_identities

        # the endpoints' Defcast listeners log every request; the launcher shows its own view
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        fleet = Fleet(self.config, fleet_identities(self.computers), clock_for(self.config))
        fleet.start(0)  # every endpoint gets a free Defcast port
        self.fleet = fleet

    @property
    def endpoints(self) -> list[Any]:
        return list(getattr(self.fleet, "endpoints", []))

    def observer(self) -> Observer:
        return Observer(self.stack, self.password)

    def forward(self, corpus: Path, expectations: list[Expectation]) -> list[Journey]:
        """Put each fixture on a computer (round robin), scan there, and forward it.

        What the computer's own scan lets pass is submitted by its user (a manual submission),
        so every fixture reaches the Quarantine Server.
        """
        journeys = []
        endpoints = self.endpoints
        for index, expectation in enumerate(expectations):
            endpoint = endpoints[index % len(endpoints)]
            [taken] = endpoint.take_in([corpus / expectation.file], force=True)
            journey = Journey(expectation, endpoint.computer, taken.placed.name)
            if taken.repaired_in_place:  # the endpoint's own definitions cured it: never forwarded
                journey.row = {"status": "repaired on the endpoint", "computer": endpoint.computer}
                journey.finished = journey.started
            journeys.append(journey)
        for endpoint in endpoints:
            endpoint.forward_pending()
        return journeys

    def stop(self) -> None:
        if self.fleet is not None:
            self.fleet.stop()  # type: ignore[attr-defined]  # a Fleet, imported lazily (endpoint code)
            self.fleet = None
        self.stack.stop()

    def gateway_admin(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Call the gateway's fault-injection API (bearer token from the data directory)."""
        from gateway_sim.services import admin_token

        headers = {"Authorization": f"Bearer {admin_token(self.config)}"}
        url = f"{self.stack.gateway_url}/gateway/admin/v1{path}"
        with self.stack.session() as session:
            reply = session.request(method, url, json=body, timeout=10, headers=headers)
        if reply.status_code >= 400:
            raise RuntimeError(
                f"gateway admin {method} {path}: {reply.status_code} {reply.text[:200]}"
            )
        return dict(reply.json())

    def event_kinds(self) -> set[str]:
        """Alert events the Quarantine Server has raised so far."""
        observer = self.observer()
        url = f"{self.stack.console_url}api/v1/events"
        reply = observer.session.get(url, params={"per_page": 500}, timeout=10)
        reply.raise_for_status()
        return {str(item["event"]) for item in reply.json()["items"]}

    def fill_quarantine(self, percent: float) -> None:
        """Make the quarantine folder ``percent`` full with real samples.

        The maximum size is lowered to its smallest value (1 MB, through the properties API)
        and an endpoint forwards a data file of that share of it, so the server's own quota
        accounting sees the folder fill up.
        """
        observer = self.observer()
        url = f"{self.stack.console_url}api/v1/properties/general"
        reply = observer.session.patch(url, json={"quarantine_max_mb": 1}, timeout=10)
        reply.raise_for_status()
        filler = self.stack.data_dir / "filler" / f"filler-{int(percent)}.bin"
        filler.parent.mkdir(parents=True, exist_ok=True)
        filler.write_bytes(os.urandom(int(2**20 * percent / 100) - 4096))
        endpoint = self.endpoints[0]
        endpoint.take_in([filler], force=True)
        endpoint.forward_pending()

    @property
    def login_hint(self) -> str:
        return f"user {ADMIN_USER}, password in {self.stack.data_dir / 'admin-password.txt'}"

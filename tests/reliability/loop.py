"""The whole loop (gateway, back office, Quarantine Server web and agent) as real processes,
started through the launcher's Stack, plus helpers to forward samples and read the outcome."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from dis_core.config import Config
from launcher.session import LoopSession
from launcher.settings import quick_loop_settings, write_settings
from launcher.stack import Stack
from tests.support.samples import forward_headers

from .helpers import sha256

SPEED = 60.0  # simulated seconds per real second: agent jobs every 30 simulated s = 0.5 s
GATEWAY_ADMIN_TOKEN = "gw-admin-7c1d9e2b5a-secret"
DESK_TOKEN = "desk-token-51f0ab93c2-secret"
END_STATUSES = {"unneeded", "installed", "not installed", "attention", "error"}


@dataclass
class RunningLoop:
    session: LoopSession
    sent: dict[str, str] = field(default_factory=dict)  # endpoint sample id -> sample checksum
    _http: requests.Session | None = None

    @property
    def stack(self) -> Stack:
        return self.session.stack

    @property
    def config(self) -> Config:
        return self.session.config

    @property
    def data_dir(self) -> Path:
        return self.stack.data_dir

    @property
    def qs_url(self) -> str:
        return self.stack.console_url.rstrip("/")

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    def http(self) -> requests.Session:
        """A verifying TLS session (the local CA) for this thread's use."""
        return self.stack.session()

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._http is None:
            self._http = self.http()
            self._http.auth = ("admin", self.session.password)
        return self._http.request(method, f"{self.qs_url}/api/v1{path}", timeout=30, **kwargs)

    def forward(
        self,
        http: requests.Session,
        content: bytes,
        sample_id: str,
        computer: str = "PC-1",
        **attrs: Any,
    ) -> requests.Response:
        headers, body = forward_headers(content, sample_id=sample_id, computer=computer, **attrs)
        return http.post(f"{self.qs_url}/intake/v1/samples", headers=headers, data=body, timeout=60)

    def samples(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.api("GET", f"/samples?per_page=500&page={page}")
            reply.raise_for_status()
            batch = reply.json()["items"]
            items += batch
            if len(batch) < 500:
                return items
            page += 1

    def event_kinds(self) -> list[str]:
        reply = self.api("GET", "/events?per_page=500")
        reply.raise_for_status()
        return [str(item["event"]) for item in reply.json()["items"]]

    def gateway_admin(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.session.gateway_admin(method, path, body)

    def wait_until(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.5)
        raise AssertionError(
            f"timed out after {timeout_s:.0f}s waiting for {what}; logs:\n{self.log_tails()}"
        )

    def all_ended(self, expected: int) -> bool:
        items = self.samples()
        return len(items) >= expected and all(item["status"] in END_STATUSES for item in items)

    def not_ended(self) -> list[str]:
        """What each sample that has not ended waits in (for failure messages)."""
        return [
            f"{item['id']} {item['file_name']} {item['status']} cookie={item.get('cookie')}"
            for item in self.samples()
            if item["status"] not in END_STATUSES
        ]

    def log_tails(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail(15)}" for s in self.stack.services)

    def logs(self) -> str:
        folder = self.data_dir / "logs"
        return "\n".join(
            p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.log"))
        )

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        self.session.stop()


def start_loop(data_dir: Path, *, speed: float = SPEED, **sections: dict[str, Any]) -> RunningLoop:
    """Start every server part as its own process; no simulated endpoints (the tests forward)."""
    settings = quick_loop_settings(data_dir.resolve(), speed)
    settings["gateway"]["admin_token"] = GATEWAY_ADMIN_TOKEN
    settings["backoffice"]["desk_token"] = DESK_TOKEN
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    config, path = write_settings(data_dir, settings)
    session = LoopSession(config, path, computers=0)
    session.start()
    return RunningLoop(session)


def vault_contents(loop: RunningLoop) -> dict[str, str]:
    """stored name -> SHA-256 of the decrypted content, for every file in the quarantine folder."""
    from quarantine_server.vault import Vault

    config = loop.config
    vault = Vault(config.path(config.general.quarantine_dir), config.path("quarantine.key"))
    return {name: sha256(vault.read(name)) for name in vault.stored_files()}


def database_rows(loop: RunningLoop) -> list[tuple[str, str, str, str]]:
    """(endpoint sample id, computer, sample checksum, stored name) of every sample row."""
    from quarantine_server.database import open_database
    from quarantine_server.models import Sample

    database = open_database(loop.config)
    try:
        with database.sessions() as session:
            rows = session.execute(
                select(
                    Sample.endpoint_sample_id,
                    Sample.computer,
                    Sample.sample_checksum,
                    Sample.stored_name,
                )
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        database.engine.dispose()


def process_ids(loop: RunningLoop) -> dict[str, int]:
    return {s.name: s.process.pid for s in loop.stack.services if s.process is not None}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

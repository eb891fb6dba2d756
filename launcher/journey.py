"""Follow fixtures through the running loop: forward them from endpoints, watch the server.

Used by ``dis demo`` and ``dis replay``. A fixture is matched to its server-side sample by
the computer that forwarded it and its file name (each fixture goes to the server once).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from dis_core.vocabulary import SampleState
from launcher.manifest import TERMINAL_STATUSES, Expectation
from launcher.stack import Stack

POLL_S = 0.5


@dataclass
class Journey:
    """One fixture's trip: where it went and what the server says about it now."""

    expectation: Expectation
    computer: str
    file_name: str
    started: float = field(default_factory=time.monotonic)
    row: dict[str, Any] = field(default_factory=dict)
    finished: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str | None:
        return self.row.get("status")

    @property
    def settled(self) -> bool:
        return self.finished is not None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def actual(self) -> dict[str, Any]:
        return {
            "status": self.row.get("status"),
            "state": self.row.get("sample_state"),
            "virus": self.row.get("virus"),
            "sequence": self.row.get("definitions_needed"),
            "errors": self.row.get("errors") or [],
            "repairable": self.detail.get("repairable"),
        }


class Observer:
    """Reads the Quarantine Server's sample list through its REST API."""

    def __init__(self, stack: Stack, password: str) -> None:
        self.stack = stack
        self.session = stack.session()
        self.session.auth = ("admin", password)

    def rows(self) -> list[dict[str, Any]]:
        url = self.stack.console_url + "api/v1/samples"
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.session.get(
                url, params={"per_page": "500", "page": str(page), "order": "asc"}, timeout=10
            )
            reply.raise_for_status()
            body = reply.json()
            items = body.get("items", body.get("samples", []))
            found += items
            if len(items) < 500:
                return found
            page += 1

    def detail(self, sample_id: int) -> dict[str, Any]:
        reply = self.session.get(f"{self.stack.console_url}api/v1/samples/{sample_id}", timeout=10)
        reply.raise_for_status()
        return dict(reply.json())


def place(watch_folder: Path, source: Path) -> Path:
    """Copy a fixture onto a computer (its watched folder), as if a user had saved it there."""
    inbox = watch_folder / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / source.name
    shutil.copyfile(source, target)
    return target


def update(journeys: list[Journey], observer: Observer) -> None:
    """Refresh every journey from the server; a journey ends at a terminal status."""
    by_key: dict[tuple[object, str], dict[str, Any]] = {}
    for listed in observer.rows():  # oldest first: a later row for one file is a new quarantine
        by_key.setdefault((listed.get("computer"), _base_name(listed.get("file_name"))), listed)
    for journey in journeys:
        row = by_key.get((journey.computer, journey.file_name))
        if row is None or journey.settled:
            continue
        journey.row = row
        if row.get("status") in TERMINAL_STATUSES and _state_done(row) and _stable(journey):
            journey.detail = observer.detail(int(row["id"]))
            journey.finished = time.monotonic()


def _state_done(row: dict[str, Any]) -> bool:
    """No vendor state (settled on the server), or a final one: the analysis is over too."""
    state = row.get("sample_state")
    return state is None or SampleState(state).is_final


def _base_name(path: object) -> str:
    """The file name part of a path as the endpoint reported it (either slash)."""
    return str(path or "").replace("\\", "/").rsplit("/", 1)[-1]


def _stable(journey: Journey) -> bool:
    """'unneeded' can be passed through on the way to needed; trust it only when it is expected."""
    status = journey.row.get("status")
    if status == journey.expectation.status:
        return True
    return status != "unneeded" or journey.seconds > 60


def wait_all(
    journeys: list[Journey], observer: Observer, timeout_s: float, on_tick: Any = None
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # the server may be restarting (scenarios); try again next round
        with contextlib.suppress(requests.RequestException):
            update(journeys, observer)
        if on_tick is not None:
            on_tick(journeys)
        if all(j.settled for j in journeys):
            return True
        time.sleep(POLL_S)
    return False

"""Install confirmations waiting to reach the Quarantine Server, one JSON file each.

A confirmation is written here before it is sent and deleted only after the server
accepted it, so a server that is down (or an endpoint that restarts) loses none.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from endpoint.layout import write_atomically


@dataclass
class PendingConfirmation:
    name: str
    confirmation: dict[str, Any]
    attempts: int = 0
    next_attempt_at: str = ""
    last_error: str = ""


class ConfirmationOutbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, confirmation: dict[str, Any], now: datetime) -> PendingConfirmation:
        name = (
            f"{now.strftime('%Y%m%dT%H%M%S%f')}-{confirmation['sequence']}-{uuid.uuid4().hex[:8]}"
        )
        pending = PendingConfirmation(name, confirmation, next_attempt_at=now.isoformat())
        self._save(pending)
        return pending

    def _save(self, pending: PendingConfirmation) -> None:
        write_atomically(
            self.folder / f"{pending.name}.json", json.dumps(asdict(pending)).encode(), 0o600
        )

    def pending(self) -> list[PendingConfirmation]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            if not path.name.startswith("."):
                found.append(PendingConfirmation(**json.loads(path.read_bytes())))
        return found

    def due(self, now: datetime) -> list[PendingConfirmation]:
        return [p for p in self.pending() if datetime.fromisoformat(p.next_attempt_at) <= now]

    def sent(self, pending: PendingConfirmation) -> None:
        (self.folder / f"{pending.name}.json").unlink(missing_ok=True)

    def failed(
        self, pending: PendingConfirmation, now: datetime, retry_s: float, error: str
    ) -> None:
        pending.attempts += 1
        pending.last_error = error
        pending.next_attempt_at = (now + timedelta(seconds=retry_s)).isoformat()
        self._save(pending)

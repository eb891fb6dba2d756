"""An append-only log of what one endpoint did (JSON lines), for people and the launcher."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, at: datetime, event: str, **facts: Any) -> None:
        line = json.dumps({"at": at.isoformat(), "event": event, **facts}, sort_keys=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

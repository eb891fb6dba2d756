"""Step mode for teaching: every sample pauses before each move until a trainer lets it go.

The gate lives in files under ``data_dir/step`` so that any process (back office workers,
the Quarantine Server agent) can wait at it and any other (the CLI, the console) can open it.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from dis_core.clock import Clock

_SAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]")
POLL_S = 0.1


@dataclass(frozen=True)
class WaitingSample:
    key: str
    part: str
    before: str | None
    after: str


class StepGate:
    """Blocks a sample's next move while step mode is on and nobody has said go."""

    def __init__(self, data_dir: Path, *, enabled: bool) -> None:
        self.root = data_dir / "step"
        self.enabled = enabled

    def _file(self, key: str) -> Path:
        return self.root / f"{_SAFE_KEY.sub('_', key)}.json"

    def active(self) -> bool:
        """Step mode is on by configuration or switched on at run time by a trainer."""
        return self.enabled or (self.root / "ON").exists()

    def pause(
        self,
        key: str,
        part: str,
        before: str | None,
        after: str,
        *,
        clock: Clock | None = None,
        timeout_s: float | None = None,
    ) -> bool:
        """Wait until released; returns False if ``timeout_s`` (real seconds) ran out first."""
        if not self.active():
            return True
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self._file(key)
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"key": key, "part": part, "before": before, "after": after}),
            encoding="utf-8",
        )
        os.replace(tmp, marker)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while marker.exists() and self.active():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        marker.unlink(missing_ok=True)
        return True

    def waiting(self) -> list[WaitingSample]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue  # released while we looked, or being written
            found.append(
                WaitingSample(data["key"], data["part"], data.get("before"), data["after"])
            )
        return found

    def release(self, key: str | None = None) -> int:
        """Let one sample (or all waiting ones) make their next move."""
        targets = (
            [self._file(key)]
            if key
            else list(self.root.glob("*.json"))
            if self.root.is_dir()
            else []
        )
        released = 0
        for path in targets:
            if path.exists():
                path.unlink(missing_ok=True)
                released += 1
        return released

    def switch(self, on: bool) -> None:
        """Turn step mode on or off at run time (off releases everyone)."""
        self.root.mkdir(parents=True, exist_ok=True)
        flag = self.root / "ON"
        if on:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)
            self.release()

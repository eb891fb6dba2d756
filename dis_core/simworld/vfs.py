"""The in-memory file system both emulators work on, and what a run reports.

Paths look like Windows paths with forward slashes (``C:/goats/a/host1.exe``); lookups are
case-insensitive, as on Windows, but the spelling first written is kept.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

EVENT_KINDS = ("execute", "open", "save", "close", "new")


class VFSLimitError(Exception):
    """A write would pass the file-count or total-size bound."""


class VirtualFS:
    """A bounded dictionary of path -> bytes."""

    def __init__(self, max_total_bytes: int = 64 * 2**20, max_files: int = 10000) -> None:
        self.max_total_bytes = max_total_bytes
        self.max_files = max_files
        self.files: dict[str, bytes] = {}

    def _key(self, path: str) -> str | None:
        path = path.replace("\\", "/")
        if path in self.files:  # the common case: exact spelling
            return path
        wanted = path.lower()
        for existing in self.files:
            if existing.lower() == wanted:
                return existing
        return None

    def write(self, path: str, data: bytes) -> None:
        key = self._key(path)
        old = len(self.files[key]) if key is not None else 0
        if key is None and len(self.files) >= self.max_files:
            raise VFSLimitError(f"more than {self.max_files} files")
        if self.total_bytes - old + len(data) > self.max_total_bytes:
            raise VFSLimitError(f"more than {self.max_total_bytes} bytes in the file system")
        self.files[key if key is not None else path.replace("\\", "/")] = bytes(data)

    def read(self, path: str) -> bytes:
        key = self._key(path)
        if key is None:
            raise FileNotFoundError(path)
        return self.files[key]

    def exists(self, path: str) -> bool:
        return self._key(path) is not None

    def delete(self, path: str) -> None:
        key = self._key(path)
        if key is not None:
            del self.files[key]

    def listdir(self, prefix: str) -> list[str]:
        """Every path under ``prefix`` (a folder or any leading part of a path), sorted."""
        wanted = prefix.replace("\\", "/").lower()
        return sorted(p for p in self.files if p.lower().startswith(wanted))

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a case-insensitive shell pattern in which ``*`` also crosses folders."""
        wanted = pattern.replace("\\", "/").lower()
        return sorted(p for p in self.files if fnmatch.fnmatchcase(p.lower(), wanted))

    def snapshot(self) -> dict[str, bytes]:
        return dict(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.files.values())


@dataclass
class Event:
    """Something done to a file after the sample started (applied in order)."""

    kind: str  # one of EVENT_KINDS
    path: str

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(
                f"unknown event kind {self.kind!r}; expected one of {', '.join(EVENT_KINDS)}"
            )


@dataclass
class RunResult:
    carried_program: bool
    changed: dict[str, bytes] = field(default_factory=dict)
    created: dict[str, bytes] = field(default_factory=dict)
    threat_actions: list[str] = field(default_factory=list)
    steps: int = 0
    stop_reason: str = "halt"  # halt | step_limit | memory_limit | output_limit | fault
    fault: str | None = None
    output: list[str] = field(default_factory=list)  # OUT / MsgBox text, bounded


def diff(before: dict[str, bytes], vfs: VirtualFS) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(changed, created) between a snapshot and the file system now."""
    lowered = {p.lower(): data for p, data in before.items()}
    changed: dict[str, bytes] = {}
    created: dict[str, bytes] = {}
    for path, data in vfs.files.items():
        old = lowered.get(path.lower())
        if old is None:
            created[path] = data
        elif old != data:
            changed[path] = data
    return changed, created

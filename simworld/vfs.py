"""The in-memory file system both emulators work on, and what a run reports.

Paths look like Windows paths with forward slashes (``C:/goats/a/host1.exe``); lookups are
case-insensitive, as on Windows, but the spelling first written is kept.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS = ("execute", "open", "save", "close", "new")


class VFSLimitError(Exception):
    """A write would pass the file-count or total-size bound."""


class FileTable(dict[str, bytes]):
    """``path -> bytes`` that keeps a lower-case index and the byte total up to date, so
    lookups and bound checks stay O(1) even with thousands of files (it is still a dict:
    callers may read and assign items directly)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_lower: dict[str, str] = {}
        self.total = 0

    def __setitem__(self, path: str, data: bytes) -> None:
        old = self.by_lower.get(path.lower())
        if old is not None and old != path:
            self.__delitem__(old)
        self.total += len(data) - len(self.get(path, b""))
        super().__setitem__(path, data)
        self.by_lower[path.lower()] = path

    def __delitem__(self, path: str) -> None:
        self.total -= len(self[path])
        super().__delitem__(path)
        self.by_lower.pop(path.lower(), None)

    def update(self, *args: Any, **kwargs: bytes) -> None:
        for path, data in dict(*args, **kwargs).items():
            self[path] = data

    def setdefault(self, path: str, default: bytes = b"") -> bytes:
        if path not in self:
            self[path] = default
        return self[path]

    def clear(self) -> None:
        super().clear()
        self.by_lower.clear()
        self.total = 0

    def pop(self, path: str, *default: bytes) -> bytes:  # type: ignore[override]  # dict.pop's overloads, one signature here
        if path in self:
            data = self[path]
            self.__delitem__(path)
            return data
        if default:
            return default[0]
        raise KeyError(path)


class VirtualFS:
    """A bounded dictionary of path -> bytes."""

    def __init__(self, max_total_bytes: int = 64 * 2**20, max_files: int = 10000) -> None:
        self.max_total_bytes = max_total_bytes
        self.max_files = max_files
        self.files: dict[str, bytes] = FileTable()

    def _key(self, path: str) -> str | None:
        path = path.replace("\\", "/")
        if path in self.files:  # the common case: exact spelling
            return path
        if isinstance(self.files, FileTable):
            return self.files.by_lower.get(path.lower())
        wanted = path.lower()  # someone replaced the table with a plain dict
        return next((existing for existing in self.files if existing.lower() == wanted), None)

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
        if isinstance(self.files, FileTable):
            return self.files.total
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

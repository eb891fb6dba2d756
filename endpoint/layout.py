"""Where one endpoint keeps its files: data_dir/endpoints/<computer>/."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EndpointFolders:
    """The folder layout of one simulated computer."""

    root: Path

    @classmethod
    def under(cls, data_dir: Path, computer: str) -> EndpointFolders:
        return cls(data_dir / "endpoints" / computer)

    @property
    def watch(self) -> Path:
        """The folder the endpoint scans (its 'disk')."""
        return self.root / "watch"

    @property
    def quarantine(self) -> Path:
        """Encrypted item contents (<id>.bin) and their records (<id>.json)."""
        return self.root / "quarantine"

    @property
    def definitions(self) -> Path:
        return self.root / "definitions"

    @property
    def outbox(self) -> Path:
        """Install confirmations not yet accepted by the server."""
        return self.root / "outbox"

    @property
    def quarantine_key(self) -> Path:
        return self.root / "quarantine.key"

    @property
    def identity(self) -> Path:
        return self.root / "identity.json"

    @property
    def listener(self) -> Path:
        """Where the running Defcast listener says which port it took."""
        return self.root / "listener.json"

    @property
    def trusted(self) -> Path:
        """SHA-256 of files the endpoint gave back (repaired or restored): no heuristic re-flag."""
        return self.root / "trusted.json"

    @property
    def defcast_cert(self) -> Path:
        return self.root / "defcast.pem"

    @property
    def defcast_key(self) -> Path:
        return self.root / "defcast.key"

    def create(self) -> None:
        for folder in (self.root, self.watch, self.quarantine, self.definitions, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.quarantine, 0o700)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize work on this endpoint across threads and processes (flock per open)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write, flush and rename, so a reader sees the old file or the whole new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

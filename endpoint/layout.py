"""Where one endpoint keeps its files: data_dir/endpoints/<computer>/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dis_core.files import locked as exclusive


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
        with exclusive(self.root / ".lock"):
            yield

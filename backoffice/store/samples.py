"""The folder of imported sample bytes, scrambled at rest.

Each file is XOR-scrambled with its own key (kept on the database row), so that no byte
sequence of a sample sits on disk as-is for a host scanner or a curious user to trip over.
"""

from __future__ import annotations

import os
from pathlib import Path

from backoffice.store.scrambling import new_key, scramble


class SampleStore:
    """Write-once, read-many storage of sample content under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, content: bytes) -> bytes:
        """Store ``content`` durably as ``name``; returns the scrambling key used."""
        key = new_key()
        target = self._path(name)
        partial = target.with_suffix(".part")
        with open(partial, "wb") as handle:
            handle.write(scramble(content, key))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)  # never a half-written sample under the real name
        return key

    def get(self, name: str, key: bytes) -> bytes:
        return scramble(self._path(name).read_bytes(), key)

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def _path(self, name: str) -> Path:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"bad sample file name {name!r}")
        return self.root / name

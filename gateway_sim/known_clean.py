"""The known-clean list: SHA-256 hashes of files the vendor already knows to be harmless.

One hash a line; blank lines and ``#`` comments are ignored. The file is read again when
it changes, so QA can add a hash while the gateway runs.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class KnownCleanList:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[float, int] | None = None
        self._hashes: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def contains(self, sample_checksum: str) -> bool:
        return sample_checksum.lower() in self._current()

    def _current(self) -> frozenset[str]:
        if self._path is None:
            return frozenset()
        try:
            info = self._path.stat()
        except FileNotFoundError:
            return frozenset()
        stamp = (info.st_mtime, info.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._hashes = parse(self._path.read_text(encoding="utf-8"))
                self._stamp = stamp
            return self._hashes


def parse(text: str) -> frozenset[str]:
    """Every valid hash in the text; lines that are not hashes are skipped."""
    hashes = set()
    for line in text.splitlines():
        candidate = line.split("#", 1)[0].strip().lower()
        if _SHA256.match(candidate):
            hashes.add(candidate)
    return frozenset(hashes)

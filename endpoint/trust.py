"""Checksums of files the endpoint gave back (repaired or restored).

The heuristic skips them, so a restored false positive is not quarantined again on the
next scan; signature detections still apply to them.
"""

from __future__ import annotations

import json
from pathlib import Path

from dis_core.files import write_atomic


class TrustedFiles:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._checksums: set[str] = set(json.loads(path.read_bytes())) if path.exists() else set()

    def __contains__(self, checksum: object) -> bool:
        return checksum in self._checksums

    def add(self, checksum: str) -> None:
        if checksum not in self._checksums:
            self._checksums.add(checksum)
            write_atomic(self.path, json.dumps(sorted(self._checksums)).encode(), 0o600)

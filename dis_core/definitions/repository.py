"""The vendor's definition repository: a folder the back office publishes into and the
gateway serves from (read-only).

Layout: ``sets/<sequence>.def`` (signed full packages), ``state.json`` (sequence counter and
the fate of every sequence), ``increments/<N>-<M>.inc`` (a cache), ``.lock``.

Errors of :meth:`DefinitionRepository.get` (``DefinitionError.error``):
- ``abandoned``: the sequence was given up (``abandon``), usually after failed unit tests;
- ``unpublished``: the back office recorded that this set could not be published;
- ``superseded``: the set was published but a NEWER certified set exists, so it is no longer
  served (the certified set and everything after it are served);
- ``unavailable``: anything else: not published (yet), reserved but unfinished, never
  reserved, or "newest"/"certified" while nothing (certified) is published.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from dis_core.definitions.errors import DefinitionError
from dis_core.definitions.keys import VerifyKey
from dis_core.definitions.model import DefinitionSet
from dis_core.definitions.package import build_incremental, read_package
from dis_core.files import locked, write_atomic
from dis_core.vocabulary.errors import SampleError

PUBLISHED, ABANDONED, UNPUBLISHED = "published", "abandoned", "unpublished"
CACHED_SETS = 4


class DefinitionRepository:
    def __init__(self, root: Path, verify_key: VerifyKey) -> None:
        self.root = Path(root)
        self.verify_key = verify_key
        self._cache: OrderedDict[tuple[int, int], DefinitionSet] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- state -------------------------------------------------------------------------
    @property
    def _lock_file(self) -> Path:
        return self.root / ".lock"

    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads((self.root / "state.json").read_text())
        except FileNotFoundError:
            return {"counter": 0, "sequences": {}}
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / "state.json", json.dumps(state, sort_keys=True, indent=1).encode())

    def _entry(self, sequence: int) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = self._state()["sequences"].get(str(sequence))
        return entry

    def _set_path(self, sequence: int) -> Path:
        return self.root / "sets" / f"{sequence:09d}.def"

    # -- vendor side -------------------------------------------------------------------
    def next_sequence(self) -> int:
        """Reserve the next number; never handed out twice, abandoned ones included."""
        with locked(self._lock_file):
            state = self._state()
            state["counter"] += 1
            self._save(state)
            return int(state["counter"])

    def publish(self, package: bytes) -> DefinitionSet:
        """Verify and publish a signed FULL package (idempotent for identical bytes).

        DefinitionError(unpackage) for a bad package, (abandoned) when its sequence was
        abandoned, (unpublished) when it is incremental or its sequence is already published
        with different content.
        """
        definitions = read_package(package, self.verify_key)
        if definitions.kind != "full":
            raise DefinitionError(SampleError.UNPUBLISHED, "only full sets are published")
        with locked(self._lock_file):
            self._check_publishable(definitions.sequence, package)
            self._set_path(definitions.sequence).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._set_path(definitions.sequence), package)
            self._record(
                definitions.sequence, {"status": PUBLISHED, "certified": definitions.certified}
            )
        return definitions

    def _check_publishable(self, sequence: int, package: bytes) -> None:
        entry = self._entry(sequence)
        status = entry["status"] if entry else None
        if status == ABANDONED:
            raise DefinitionError(SampleError.ABANDONED, f"sequence {sequence} was abandoned")
        if status == PUBLISHED and self._set_path(sequence).read_bytes() != package:
            raise DefinitionError(
                SampleError.UNPUBLISHED,
                f"sequence {sequence} is already published with other content",
            )

    def _record(self, sequence: int, entry: dict[str, Any]) -> None:
        state = self._state()
        state["sequences"][str(sequence)] = entry
        state["counter"] = max(int(state["counter"]), sequence)
        self._save(state)

    def abandon(self, sequence: int, reason: str) -> None:
        """Give a sequence up (its number is never used again); ValueError if published."""
        self._mark(sequence, ABANDONED, reason)

    def mark_unpublished(self, sequence: int, reason: str) -> None:
        """Record that this set could not be published; ValueError if it is published."""
        self._mark(sequence, UNPUBLISHED, reason)

    def _mark(self, sequence: int, status: str, reason: str) -> None:
        if not isinstance(sequence, int) or sequence < 1:
            raise ValueError("sequence must be a positive integer")
        with locked(self._lock_file):
            entry = self._entry(sequence)
            if entry and entry["status"] == PUBLISHED:
                raise ValueError(f"sequence {sequence} is published and cannot be marked {status}")
            self._record(sequence, {"status": status, "reason": reason})

    # -- serving -----------------------------------------------------------------------
    def newest_sequence(self) -> int | None:
        return self._newest(certified_only=False)

    def certified_sequence(self) -> int | None:
        return self._newest(certified_only=True)

    def _newest(self, certified_only: bool) -> int | None:
        found = [
            int(seq) for seq, entry in self._state()["sequences"].items()
            if entry["status"] == PUBLISHED and (entry["certified"] or not certified_only)
        ]  # fmt: skip
        return max(found, default=None)

    def status(self, sequence: int) -> dict[str, Any] | None:
        """The recorded fate of a sequence ({'status': ..., 'reason'/'certified': ...}) or None."""
        return self._entry(sequence)

    def resolve(self, ref: int | str) -> int:
        """The served sequence ``ref`` names, or DefinitionError (see the module doc)."""
        if ref in ("newest", "certified"):
            found = self.newest_sequence() if ref == "newest" else self.certified_sequence()
            if found is None:
                raise DefinitionError(
                    SampleError.UNAVAILABLE, f"no {ref} definitions are published"
                )
            return found
        sequence = _as_sequence(ref)
        self._check_stored(sequence)
        certified = self.certified_sequence()
        if certified is not None and sequence < certified:
            raise DefinitionError(
                SampleError.SUPERSEDED,
                f"sequence {sequence} was superseded by certified set {certified}",
            )
        return sequence

    def _check_stored(self, sequence: int) -> None:
        """Published (superseded or not), else the error for its fate."""
        entry = self._entry(sequence)
        status = entry["status"] if entry else None
        if status == ABANDONED:
            raise DefinitionError(
                SampleError.ABANDONED,
                f"sequence {sequence} was abandoned: {entry and entry['reason']}",
            )
        if status == UNPUBLISHED:
            raise DefinitionError(
                SampleError.UNPUBLISHED,
                f"sequence {sequence} could not be published: {entry and entry['reason']}",
            )
        if status != PUBLISHED:
            raise DefinitionError(SampleError.UNAVAILABLE, f"sequence {sequence} is not published")

    def get(self, ref: int | str) -> bytes:
        """Signed full package for a sequence, "newest" or "certified"."""
        return self._set_path(self.resolve(ref)).read_bytes()

    def load(self, ref: int | str) -> DefinitionSet:
        return self._load_stored(self.resolve(ref))

    def _load_stored(self, sequence: int) -> DefinitionSet:
        path = self._set_path(sequence)
        stamp = path.stat().st_mtime_ns
        with self._cache_lock:
            cached = self._cache.get((sequence, stamp))
        if cached is None:
            cached = read_package(path.read_bytes(), self.verify_key)
            with self._cache_lock:
                self._cache[(sequence, stamp)] = cached
                while len(self._cache) > CACHED_SETS:
                    self._cache.popitem(last=False)
        return cached

    def incremental(self, base: int, target: int | str) -> bytes:
        """Package turning full set ``base`` into served set ``target``.

        The target follows :meth:`get`'s errors; the base must be published (superseded bases
        are fine: that is who needs increments) else its own error; base >= target gives
        ``unavailable``.
        """
        target_sequence = self.resolve(target)
        base = _as_sequence(base)
        self._check_stored(base)
        if base >= target_sequence:
            raise DefinitionError(
                SampleError.UNAVAILABLE, f"no increment from {base} to {target_sequence}"
            )
        cached = self.root / "increments" / f"{base:09d}-{target_sequence:09d}.inc"
        if cached.exists():
            return cached.read_bytes()
        package = build_incremental(self._load_stored(base), self._load_stored(target_sequence))
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cached, package)
        except OSError:
            pass  # a read-only server still answers; the cache only saves work
        return package


def _as_sequence(ref: int | str) -> int:
    if isinstance(ref, str) and ref.isdigit() and len(ref) <= 15:
        ref = int(ref)
    if not isinstance(ref, int) or isinstance(ref, bool) or ref < 1:
        raise DefinitionError(SampleError.UNAVAILABLE, f"{ref!r} names no definition set")
    return ref

"""The published definition sets as the gateway serves them (read-only) and scans with.

The back office publishes signed sets into ``data_dir/backoffice/published`` through
:class:`dis_core.definitions.DefinitionRepository`; the gateway only reads from it, resolves
``newest``/``certified``, applies the hold-definitions fault (nothing above a ceiling is
served or used) and keeps one compiled scanner per sequence for its filters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from dis_core.config import Config
from dis_core.definitions.model import Package
from dis_core.layout import PUBLISHED_SETS_DIR, VERIFY_KEY_PATH
from dis_core.protocol import ProtocolError
from dis_core.vocabulary import SampleError

NEWEST, CERTIFIED = "newest", "certified"
SCANNER_CACHE_SIZE = 4
SET_CACHE_SIZE = 16


class Repository(Protocol):
    """The part of ``dis_core.definitions.DefinitionRepository`` the gateway uses."""

    def get(self, ref: int | str) -> bytes: ...

    def incremental(self, base: int, target: int) -> bytes: ...

    def newest_sequence(self) -> int | None: ...

    def certified_sequence(self) -> int | None: ...

    def load(self, ref: int | str) -> Any: ...


ScannerFactory = Callable[[Any], Any]  # DefinitionSet -> Scanner


def parse_ref(text: str) -> int | str:
    """A sequence number, ``newest`` or ``certified``; anything else is malformed."""
    if text in (NEWEST, CERTIFIED):
        return text
    if text.isdigit() and 0 < len(text) <= 18 and int(text) > 0:
        return int(text)
    raise ProtocolError(
        SampleError.MALFORMED,
        f"definition reference {text[:40]!r} is not a sequence, 'newest' or 'certified'",
    )


def as_protocol_error(exc: Exception) -> ProtocolError:
    """Turn a ``DefinitionError`` (which carries a SampleError) into the reply error."""
    error = getattr(exc, "error", None)
    detail = getattr(exc, "detail", None) or str(exc)
    if isinstance(error, SampleError):
        return ProtocolError(error, detail)
    return ProtocolError(SampleError.INTERNAL, f"definition repository failed: {detail}")


def open_repository(config: Config) -> Repository | None:
    """The back office's repository, or None while it has published nothing (no key yet)."""
    public_key = config.path(VERIFY_KEY_PATH)
    if not public_key.exists():
        return None
    try:
        from dis_core.definitions import DefinitionRepository, VerifyKey
    except ImportError as exc:
        raise ProtocolError(
            SampleError.INTERNAL, f"definition support is not installed: {exc}"
        ) from None
    root = config.path(PUBLISHED_SETS_DIR)
    repository: Repository = DefinitionRepository(Path(root), VerifyKey.load(public_key))
    return repository


def default_scanner_factory(engine: str) -> ScannerFactory:
    def make(definition_set: Any) -> Any:
        from dis_core.definitions import Scanner

        return Scanner(definition_set, engine=engine)

    return make


class DefinitionCatalog:
    """Resolves, fetches and scans with published definition sets, honouring a ceiling."""

    def __init__(
        self, opener: Callable[[], Repository | None], scanner_factory: ScannerFactory
    ) -> None:
        self._opener = opener
        self._repository: Repository | None = None
        self._scanner_factory = scanner_factory
        self._sets: OrderedDict[int, Any] = OrderedDict()
        self._scanners: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()

    def repository(self) -> Repository:
        if self._repository is None:
            self._repository = self._opener()
        if self._repository is None:
            raise ProtocolError(SampleError.UNAVAILABLE, "no definitions have been published yet")
        return self._repository

    def resolve(self, ref: int | str, ceiling: int | None) -> int:
        """The sequence a reference names, given that nothing above ``ceiling`` exists for now."""
        if isinstance(ref, int):
            if ceiling is not None and ref > ceiling:
                raise ProtocolError(
                    SampleError.UNAVAILABLE, f"sequence {ref} has not been published yet"
                )
            return ref
        repository = self.repository()
        found = repository.newest_sequence() if ref == NEWEST else repository.certified_sequence()
        if found is None:
            raise ProtocolError(
                SampleError.UNAVAILABLE, f"no {ref} definitions have been published yet"
            )
        if ceiling is not None and found > ceiling:
            return self._walk_down(ceiling, certified_only=ref == CERTIFIED)
        return found

    def _walk_down(self, ceiling: int, *, certified_only: bool) -> int:
        """The highest servable full set at or below the ceiling (gaps and abandoned skipped)."""
        for sequence in range(ceiling, 0, -1):
            try:
                definition_set = self.definition_set(sequence)
            except ProtocolError:
                continue
            if definition_set.certified or not certified_only:
                return sequence
        raise ProtocolError(
            SampleError.UNAVAILABLE, f"no servable definitions at or below sequence {ceiling}"
        )

    def definition_set(self, sequence: int) -> Any:
        """The parsed set (cached: a published sequence never changes its content)."""
        with self._lock:
            cached = self._sets.get(sequence)
        if cached is not None:
            return cached
        try:
            loaded = self.repository().load(sequence)
        except ProtocolError:
            raise
        except Exception as exc:
            raise as_protocol_error(exc) from None
        with self._lock:
            self._sets[sequence] = loaded
            while len(self._sets) > SET_CACHE_SIZE:
                self._sets.popitem(last=False)
        return loaded

    def package(self, ref: int | str, ceiling: int | None) -> Package:
        sequence = self.resolve(ref, ceiling)
        try:
            data = self.repository().get(sequence)
        except ProtocolError:
            raise
        except Exception as exc:
            raise as_protocol_error(exc) from None
        certified = bool(self.definition_set(sequence).certified)
        return Package(data, sequence, "full", certified)

    def incremental(self, base: int | str, target: int | str, ceiling: int | None) -> Package:
        base_sequence = self.resolve(base, ceiling)
        target_sequence = self.resolve(target, ceiling)
        if target_sequence <= base_sequence:
            raise ProtocolError(
                SampleError.MALFORMED,
                f"target {target_sequence} is not newer than base {base_sequence}",
            )
        try:
            data = self.repository().incremental(base_sequence, target_sequence)
        except ProtocolError:
            raise
        except Exception as exc:
            raise as_protocol_error(exc) from None
        certified = bool(self.definition_set(target_sequence).certified)
        return Package(data, target_sequence, "incremental", certified, base_sequence)

    def scanner(self, ref: str, ceiling: int | None) -> tuple[int, Any] | None:
        """(sequence, scanner) for the newest or certified set, or None when there is none."""
        try:
            sequence = self.resolve(ref, ceiling)
            definition_set = self.definition_set(sequence)
        except ProtocolError:
            return None
        with self._lock:
            scanner = self._scanners.get(sequence)
            if scanner is not None:
                self._scanners.move_to_end(sequence)
                return sequence, scanner
        scanner = self._scanner_factory(definition_set)
        with self._lock:
            self._scanners[sequence] = scanner
            while len(self._scanners) > SCANNER_CACHE_SIZE:
                self._scanners.popitem(last=False)
        return sequence, scanner

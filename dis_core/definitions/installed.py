"""Definitions installed on a host (Quarantine Server, endpoint): verified, load-tested and
swapped in atomically, with the previous set kept.

Layout: ``sets/<sequence>-<checksum prefix>/package.def`` (immutable once renamed into place),
``active`` and ``previous`` (relative symlinks into ``sets/``, each replaced by an atomic
rename), ``.lock``. A failed install never touches ``active``. A stored active set that no
longer verifies (changed on disk, or signed by another key) is moved to ``refused/`` by
refuse_active, and the previous set becomes active again.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from dis_core.definitions.engines import DEFAULT_ENGINE, EngineError
from dis_core.definitions.errors import DefinitionError, InstallError
from dis_core.definitions.keys import VerifyKey
from dis_core.definitions.model import DefinitionSet
from dis_core.definitions.package import (
    apply_incremental,
    check_full_package,
    full_package,
    read_package,
)
from dis_core.definitions.scanner import Scanner
from dis_core.files import fsync_dir, locked, write_atomic

PACKAGE_FILE = "package.def"


class InstalledDefinitions:
    def __init__(self, root: Path, verify_key: VerifyKey, engine: str = DEFAULT_ENGINE) -> None:
        self.root = Path(root)
        self.verify_key = verify_key
        self.engine = engine
        self._loaded: dict[str, DefinitionSet] = {}
        self._scanners: dict[str, Scanner] = {}
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------------------
    def _target(self, link: str) -> str | None:
        try:
            return os.readlink(self.root / link)
        except (FileNotFoundError, OSError):
            return None

    def _load(self, target: str) -> DefinitionSet:
        with self._lock:
            if target not in self._loaded:
                data = (self.root / target / PACKAGE_FILE).read_bytes()
                self._loaded = {target: read_package(data, self.verify_key)}
            return self._loaded[target]

    def active(self) -> DefinitionSet | None:
        """The active full set, or None; DefinitionError(unpackage) if its stored package was
        damaged on disk after it was installed."""
        for _ in range(3):  # another process may swap and clean up between readlink and read
            target = self._target("active")
            if target is None:
                return None
            try:
                return self._load(target)
            except FileNotFoundError:
                continue
        raise InstallError("the active definition set keeps changing; try again")

    @property
    def active_sequence(self) -> int:
        current = self.active()
        return current.sequence if current else 0

    def previous(self) -> DefinitionSet | None:
        target = self._target("previous")
        if not target:
            return None
        data = (self.root / target / PACKAGE_FILE).read_bytes()
        return read_package(data, self.verify_key)

    def active_package(self) -> bytes | None:
        for _ in range(3):
            target = self._target("active")
            if target is None:
                return None
            try:
                return (self.root / target / PACKAGE_FILE).read_bytes()
            except FileNotFoundError:
                continue
        raise InstallError("the active definition set keeps changing; try again")

    def scanner(self) -> Scanner:
        """A Scanner over the active set (compiled once per set); InstallError when none."""
        current = self.active()
        if current is None:
            raise InstallError("no definition set is installed")
        with self._lock:
            cached = self._scanners.get(current.result_checksum)
        if cached is None or cached.definitions.sequence != current.sequence:
            cached = Scanner(current, self.engine)
            with self._lock:
                self._scanners = {current.result_checksum: cached}
        return cached

    # -- refusing a damaged active set ----------------------------------------------------
    def refuse_active(self) -> tuple[str, DefinitionSet | None]:
        """The stored active set does not verify: move it to ``refused/`` and make the previous
        set active again (none when the previous one does not verify either). Returns where
        the refused set went ("" when the active set verifies after all: another process
        refused it first) and the set active now."""
        with locked(self.root / ".lock"):
            target = self._target("active")
            if target is None or self._verifies(target):
                return "", self.active()
            previous = self._target("previous")
            fallback = previous if previous and self._verifies(previous) else None
            self._unlink("previous")
            if fallback:
                _point(self.root, "active", fallback)
            else:
                self._unlink("active")
            kept = self._put_aside(target)
            fsync_dir(self.root)
            return kept, self.active()

    def _verifies(self, target: str) -> bool:
        try:
            self._load(target)
        except (DefinitionError, OSError):
            return False
        return True

    def _unlink(self, link: str) -> None:
        (self.root / link).unlink(missing_ok=True)

    def _put_aside(self, target: str) -> str:
        """Keep a refused set for inspection, out of ``sets/`` (so never active again)."""
        folder = self.root / "refused"
        folder.mkdir(exist_ok=True)
        kept = folder / f"{Path(target).name}-{uuid.uuid4().hex[:12]}"
        os.replace(self.root / target, kept)
        return str(kept.relative_to(self.root))

    # -- installing --------------------------------------------------------------------
    def install(self, package: bytes, *, allow_older: bool = False) -> DefinitionSet:
        """Verify, load-test and activate a signed package (an incremental one goes through
        install_incremental). InstallError(reason) leaves the active set as it was.
        Installing the active set again, or an older set, is a no-op that returns the active
        (newer) set: hosts never downgrade unless ``allow_older`` is given."""
        definitions = _read(package, self.verify_key)
        if definitions.kind == "incremental":
            return self._install_incremental(definitions)
        return self._install_full(definitions, allow_older)

    def install_incremental(self, package: bytes) -> DefinitionSet:
        """Apply an increment to the active set and activate the result; InstallError on a
        gap (wrong base), a damaged increment or a failed load test (caller falls back to a
        full set, as the Quarantine Server's fetch_and_install does)."""
        definitions = _read(package, self.verify_key)
        if definitions.kind != "incremental":
            raise InstallError(f"package {definitions.sequence} is a full set, not an increment")
        return self._install_incremental(definitions)

    def _install_incremental(self, increment: DefinitionSet) -> DefinitionSet:
        base = self.active()
        if base is None:
            raise InstallError(f"increment to {increment.sequence} needs an installed base set")
        try:
            result = apply_incremental(base, increment)
        except DefinitionError as exc:
            raise InstallError(
                f"increment {increment.base}->{increment.sequence} refused: {exc.detail}"
            ) from None
        return self._install_full(result, allow_older=False)

    def _install_full(self, definitions: DefinitionSet, allow_older: bool) -> DefinitionSet:
        with locked(self.root / ".lock"):
            current = self.active()
            if current and current.sequence == definitions.sequence:
                return self._same_sequence(current, definitions)
            if current and definitions.sequence < current.sequence and not allow_older:
                return current  # never downgrade: the newer active set stays
            scanner = _load_test(definitions, self.engine)
            target = self._store(definitions)
            self._swap(target)
            with self._lock:
                self._scanners = {definitions.result_checksum: scanner}
                self._loaded = {target: definitions}
            self._remove_unused()
        return definitions

    def _same_sequence(self, current: DefinitionSet, definitions: DefinitionSet) -> DefinitionSet:
        if (
            current.result_checksum != definitions.result_checksum
            or current.signature != definitions.signature
        ):
            raise InstallError(
                f"set {definitions.sequence} differs from the installed set with that number"
            )
        return current

    def _store(self, definitions: DefinitionSet) -> str:
        """Write the package into a fresh folder, fsync it, rename it into sets/."""
        package = full_package(definitions)
        try:  # a set rebuilt from an increment must be the vendor's signed package exactly
            check_full_package(package, self.verify_key)
        except DefinitionError as exc:
            raise InstallError(
                f"rebuilt set {definitions.sequence} does not verify: {exc.detail}"
            ) from None
        name = f"sets/{definitions.sequence:09d}-{definitions.result_checksum[:16]}"
        final = self.root / name
        if final.exists():
            return name
        staging = self.root / "sets" / f".staging-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        write_atomic(staging / PACKAGE_FILE, package)
        os.replace(staging, final)
        fsync_dir(final.parent)
        return name

    def _swap(self, target: str) -> None:
        old = self._target("active")
        _point(self.root, "active", target)
        if old and old != target:
            _point(self.root, "previous", old)
        fsync_dir(self.root)

    def _remove_unused(self) -> None:
        keep = {self._target("active"), self._target("previous")}
        for folder in (self.root / "sets").iterdir():
            if f"sets/{folder.name}" not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def _point(root: Path, link: str, target: str) -> None:
    """Atomically (re)point a symlink: make it under a temporary name, rename over."""
    temporary = root / f".{link}.{os.getpid()}.{threading.get_ident()}"
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, root / link)


def _read(package: bytes, verify_key: VerifyKey) -> DefinitionSet:
    try:
        return read_package(package, verify_key)
    except DefinitionError as exc:
        raise InstallError(f"package refused: {exc.detail}") from None


def _load_test(definitions: DefinitionSet, engine: str) -> Scanner:
    try:
        return Scanner(definitions, engine)
    except (EngineError, ValueError) as exc:
        culprit = (
            f" (signature {exc.signature_id})"
            if isinstance(exc, EngineError) and exc.signature_id
            else ""
        )
        raise InstallError(
            f"set {definitions.sequence} failed the load test{culprit}: {exc}"
        ) from None

"""A folder of files for one sample (work in progress, or its archive), scrambled at rest.

Goats infected by a simulated virus carry its program; like samples, they never sit on disk
as plain bytes. The folder's scrambling key is in ``key.bin`` beside them: this is not
secrecy, only a guarantee that no host scanner or user meets the raw bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from backoffice.store.scrambling import new_key, scramble


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _key(self, *, create: bool) -> bytes:
        """The folder's key; only writers make one (a reader must never re-create a folder
        that an archiver has just swapped away)."""
        key_file = self.root / "key.bin"
        if create and not key_file.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            _write(key_file, new_key())
        return key_file.read_bytes()

    def put(self, name: str, data: bytes) -> None:
        _write(self._path(name, create=True), scramble(data, self._key(create=True)))

    def get(self, name: str) -> bytes:
        return scramble(self._path(name).read_bytes(), self._key(create=False))

    def put_json(self, name: str, value: Any) -> None:
        data = json.dumps(value, sort_keys=True, indent=1).encode("utf-8")
        _write(self._path(name, create=True), data)

    def get_json(self, name: str) -> Any:
        return json.loads(self._path(name).read_text(encoding="utf-8"))

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def names(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(n for n in found if n.startswith(prefix) and n != "key.bin")

    def copy_to(self, target: Path) -> Workspace:
        """Copy everything (key included) into ``target``, replacing what was there.

        The old folder is renamed aside before the new one is renamed in, so readers see
        either the old or the new archive, never a half-deleted one.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.part-{uuid.uuid4().hex}")
        shutil.copytree(self.root, partial)
        retired = target.with_name(f"{target.name}.old-{uuid.uuid4().hex}")
        if target.exists():
            os.replace(target, retired)
        os.replace(partial, target)
        shutil.rmtree(retired, ignore_errors=True)
        return Workspace(target)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _path(self, name: str, *, create: bool = False) -> Path:
        if name.startswith(("/", ".")) or ".." in name.split("/"):
            raise ValueError(f"bad workspace file name {name!r}")
        path = self.root / name
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    partial.write_bytes(data)
    os.replace(partial, path)

"""The quarantine folder: sample content encrypted at rest with AES-GCM, written durably.

A file becomes visible under its final name only after its encrypted bytes are flushed and
fsynced; until then it lives in ``.incoming/``, which :meth:`Vault.sweep` empties on start.
Nothing in the folder is ever the plain sample, so no host scanner or user runs it by accident.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dis_core.files import fsync_dir

MAGIC = b"DISQ1"
NONCE_BYTES = 12
SUFFIX = ".qsf"


class VaultError(Exception):
    """The quarantine folder cannot be read or written, or a file does not decrypt."""


def load_or_create_key(path: Path) -> bytes:
    """The folder key: 32 random bytes in a file only its owner can read."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise VaultError(f"{path} does not hold a 256-bit key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


class Vault:
    """The encrypted quarantine folder."""

    def __init__(self, root: Path, key_file: Path) -> None:
        self.root = root
        self.incoming = root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self._aead = AESGCM(load_or_create_key(key_file))

    def path_of(self, stored_name: str) -> Path:
        if "/" in stored_name or not stored_name.endswith(SUFFIX):
            raise VaultError(f"not a quarantine file name: {stored_name}")
        return self.root / stored_name

    def store(self, content: bytes) -> tuple[str, int]:
        """Encrypt and durably write ``content``; return its file name and stored size."""
        name = f"{uuid.uuid4().hex}{SUFFIX}"
        nonce = os.urandom(NONCE_BYTES)
        blob = MAGIC + nonce + self._aead.encrypt(nonce, content, name.encode())
        temporary = self.incoming / name
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / name)
        fsync_dir(self.root)
        return name, len(blob)

    def read(self, stored_name: str) -> bytes:
        try:
            blob = self.path_of(stored_name).read_bytes()
        except OSError as exc:
            raise VaultError(f"cannot read {stored_name}: {exc.strerror}") from None
        if not blob.startswith(MAGIC):
            raise VaultError(f"{stored_name} is not a quarantine file")
        nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES :], stored_name.encode())
        except Exception:
            raise VaultError(f"{stored_name} does not decrypt (damaged or wrong key)") from None

    def remove(self, stored_name: str) -> None:
        self.path_of(stored_name).unlink(missing_ok=True)

    def stored_files(self) -> list[str]:
        return sorted(p.name for p in self.root.glob(f"*{SUFFIX}"))

    def used_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob(f"*{SUFFIX}"))

    def free_disk_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def sweep(self, known: set[str], *, older_than: float | None = None) -> list[str]:
        """Remove half-written files and files no committed row names; return what went.

        ``older_than`` (a POSIX time) spares files written after it: another process may be
        between its rename and its commit right now.
        """
        removed = []
        for leftover in self.incoming.iterdir():
            if older_than is None or leftover.stat().st_mtime < older_than:
                leftover.unlink(missing_ok=True)
                removed.append(f".incoming/{leftover.name}")
        for name in self.stored_files():
            young = older_than is not None and self.path_of(name).stat().st_mtime >= older_than
            if name not in known and not young:
                self.remove(name)
                removed.append(name)
        return removed

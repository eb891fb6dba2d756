"""Durable files every part writes the same way: atomic replacement with fsync, and an
exclusive lock across threads and processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` survive a crash (the directory entry is data too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary name with ``mode``, flush and fsync, then rename over ``path``: a
    reader sees the old file or the whole new one, never a part (a secret: mode 0o600)."""
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
    fsync_dir(path.parent)


def write_secret(path: Path, data: bytes) -> None:
    """A private key or other secret: readable by its owner only from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, 0o600)
    os.chmod(path, 0o600)  # a umask cannot widen it, but an older file's mode is not kept


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock (across processes; flock per open, so across threads too)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

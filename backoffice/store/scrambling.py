"""Scrambling of files at rest (samples, goats, archives): XOR with a SHAKE-256 keystream.

Not secrecy: it only guarantees that no byte sequence of a sample sits on disk as-is, where a
host scanner or a curious user could meet it. One hash call per file keeps it cheap.
"""

from __future__ import annotations

import hashlib
import os

KEY_BYTES = 16


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def scramble(data: bytes, key: bytes) -> bytes:
    """XOR with the keystream of ``key``; the same call unscrambles."""
    if not data:
        return b""
    stream = hashlib.shake_256(b"dis-backoffice-at-rest:" + key).digest(len(data))
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        len(data), "little"
    )

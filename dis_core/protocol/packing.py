"""Packing of sample bytes for transport: compression, then scrambling.

Scrambling is not secrecy (TLS gives that); it makes sure that no byte sequence of the
sample appears as-is on the wire or on disk, so no host scanner flags it and nobody runs
it by accident. The keystream is SHA-256 in counter mode over a per-message key.
"""

from __future__ import annotations

import hashlib
import os
import zlib

from dis_core.protocol.errors import ProtocolError
from dis_core.vocabulary.errors import SampleError

KEY_BYTES = 16


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_scrambling_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _keystream(key: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(hashlib.sha256(key + i.to_bytes(8, "big")).digest() for i in range(blocks))[
        :length
    ]


def scramble(data: bytes, key: bytes) -> bytes:
    """XOR with the keystream; the same call unscrambles."""
    stream = _keystream(key, len(data))
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def compress(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def decompress(data: bytes, limit: int) -> bytes:
    """Inflate at most ``limit`` bytes; more than that is a decompression bomb or a lie."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ProtocolError(SampleError.UNPACKAGE, f"content does not inflate: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ProtocolError(SampleError.UNPACKAGE, f"content inflates beyond {limit} bytes")
    if not inflater.eof:
        raise ProtocolError(SampleError.UNPACKAGE, "compressed content is truncated")
    if inflater.unused_data:  # bytes smuggled after the stream would escape every later check
        raise ProtocolError(SampleError.UNPACKAGE, "bytes follow the end of the compressed content")
    return out

"""Byte n-gram statistics of goodware, used to estimate how likely a byte string is to occur
in an innocent file (Kephart & Arnold, 1994: n-grams up to 5 bytes, a Markov estimate).

1- and 2-gram counts are exact; 3- to 5-gram counts go to hashed buckets. A collision can only
raise a count, so the estimate errs towards "common", i.e. towards rejecting a candidate.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_N = 5
DEFAULT_BUCKET_BITS = 24
CHUNK_BYTES = 16 * 2**20
SATURATE = 65535  # counts are kept as 16-bit numbers; beyond that a gram is "very common" anyway
_MIX = np.uint64(0x9E3779B97F4A7C15)

Counts = npt.NDArray[np.uint32]
Stored = npt.NDArray[np.uint16]


class NgramModel:
    """Counts of 1..5-grams over a goodware corpus, and probability estimates from them."""

    def __init__(self, counts: list[Stored], totals: list[int], bucket_bits: int) -> None:
        self.counts = counts  # index n-1
        self.totals = totals
        self.bucket_bits = bucket_bits
        # what unrelated grams add to a hashed bucket on average: subtracted from every count
        self.noise = [0.0, 0.0] + [totals[n - 1] / (1 << bucket_bits) for n in range(3, MAX_N + 1)]
        # overlapping candidate windows ask for the same conditionals again and again
        self._conditional = functools.lru_cache(maxsize=1 << 17)(self._conditional_uncached)  # type: ignore[method-assign]  # a per-instance cache

    @classmethod
    def build(cls, blobs: Iterable[bytes], bucket_bits: int = DEFAULT_BUCKET_BITS) -> NgramModel:
        counts = [np.zeros(256, np.uint32), np.zeros(65536, np.uint32)]
        counts += [np.zeros(1 << bucket_bits, np.uint32) for _ in range(3, MAX_N + 1)]
        totals = [0] * MAX_N
        for blob in _joined(blobs):
            for start in range(0, len(blob), CHUNK_BYTES):
                # overlap by MAX_N-1 so no n-gram is lost at a chunk border
                piece = blob[start : start + CHUNK_BYTES + MAX_N - 1]
                _count_piece(
                    piece, counts, totals, bucket_bits, last=start + CHUNK_BYTES >= len(blob)
                )
        stored = [np.minimum(c, SATURATE).astype(np.uint16) for c in counts]
        return cls(stored, totals, bucket_bits)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own per writer: two processes may build the same model at once
        partial = path.with_name(f"{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part.npz")
        arrays: dict[str, Any] = {f"c{n}": self.counts[n - 1] for n in range(1, MAX_N + 1)}
        arrays["totals"] = np.array(self.totals, np.int64)
        arrays["bits"] = np.array([self.bucket_bits])
        np.savez_compressed(partial, **arrays)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> NgramModel:
        with np.load(path) as data:
            counts = [data[f"c{n}"].astype(np.uint16) for n in range(1, MAX_N + 1)]
            return cls(counts, [int(t) for t in data["totals"]], int(data["bits"][0]))

    def count(self, gram: bytes) -> float:
        n = len(gram)
        if n == 0:
            return self.totals[0]
        return max(0.0, float(self.counts[n - 1][self._index(gram)]) - self.noise[n - 1])

    def _index(self, gram: bytes) -> int:
        value = int.from_bytes(gram, "little")
        if len(gram) <= 2:
            return value
        mixed = (value * int(_MIX)) & 0xFFFFFFFFFFFFFFFF
        return mixed >> (64 - self.bucket_bits)

    def log10_probability(self, data: bytes) -> float:
        """Estimated log10 probability that ``data`` occurs at a given goodware position."""
        total = 0.0
        for i in range(len(data)):
            context = data[max(0, i - MAX_N + 1) : i]
            total += math.log10(self._conditional(context, data[i]))
        return total

    def _conditional(self, context: bytes, byte: int) -> float:
        return self._conditional_uncached(context, byte)

    def _conditional_uncached(self, context: bytes, byte: int) -> float:
        """P(byte | context), interpolated down to the unigram (never zero)."""
        estimate = (self.count(bytes([byte])) + 1) / (self.totals[0] + 256)
        for k in range(1, len(context) + 1):
            prefix = context[-k:]
            seen = self.count(prefix)
            joint = min(self.count(prefix + bytes([byte])), seen)
            estimate = (joint + estimate) / (seen + 1)
        return estimate


def _joined(blobs: Iterable[bytes]) -> Iterator[bytes]:
    """Small files joined into chunk-sized blobs: one counting pass per chunk, not per file
    (the few n-grams that span two files do not matter to the estimate)."""
    pending: list[bytes] = []
    size = 0
    for blob in blobs:
        pending.append(blob)
        size += len(blob)
        if size >= CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _count_piece(
    piece: bytes, counts: list[Counts], totals: list[int], bits: int, *, last: bool
) -> None:
    arr = np.frombuffer(piece, np.uint8).astype(np.uint64)
    own = len(piece) if last else len(piece) - (MAX_N - 1)
    for n in range(1, MAX_N + 1):
        positions = min(own, len(arr) - n + 1)
        if positions <= 0:
            continue
        value = np.zeros(positions, np.uint64)
        for k in range(n):
            value |= arr[k : k + positions] << np.uint64(8 * k)
        if n > 2:
            value = (value * _MIX) >> np.uint64(64 - bits)
        counts[n - 1] += np.bincount(value.astype(np.int64), minlength=len(counts[n - 1])).astype(
            np.uint32
        )
        totals[n - 1] += positions


def fingerprint(items: Iterable[tuple[str, int, int]], bucket_bits: int) -> str:
    """A cache key from (path, size, mtime) of every corpus file and the bucket size."""
    digest = hashlib.sha256(str(bucket_bits).encode())
    for path, size, mtime in items:
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:24]

"""Binary signature extraction (after Kephart & Arnold, 1994).

Compare infected goats with their originals and with each other: keep the byte strings that
are present in EVERY infected goat and in the sample, and in no original goat. For an
encrypted (polymorphic) family only the constant decryptor survives this filter, because the
rest differs per copy. Slide 12- to 24-byte windows over those invariant regions, estimate
each window's probability of turning up in goodware from the n-gram model, drop those above
the threshold, and verify the most improbable ones exactly against the goodware corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backoffice.analysis.ngram import NgramModel

GRAM = 12
MIN_LENGTH = 12
MAX_LENGTH = 24
WINDOW_LENGTHS = (24, 20, 16, 12)
STRIDE = 2
MAX_CANDIDATES = 600
MAX_VERIFIED = 40
TEXT_RUN = 10


@dataclass(frozen=True)
class Candidate:
    data: bytes
    log10_probability: float
    region: int  # index of the invariant region it came from
    offset: int  # offset in the reference infected file

    def as_dict(self) -> dict[str, object]:
        return {
            "hex": self.data.hex(),
            "log10_p": round(self.log10_probability, 2),
            "region": self.region,
            "offset": self.offset,
        }


_MIX = np.uint64(0x100000001B3)


def _gram_hashes(data: bytes) -> np.ndarray:
    """A 64-bit hash of every 12-byte window (position i -> hash of data[i:i+12])."""
    count = len(data) - GRAM + 1
    if count <= 0:
        return np.zeros(0, np.uint64)
    raw = np.frombuffer(data, np.uint8).astype(np.uint64)
    value = np.full(count, np.uint64(0xCBF29CE484222325))
    with np.errstate(over="ignore"):
        for k in range(GRAM):
            value = (value ^ raw[k : k + count]) * _MIX
    return value


def invariant_regions(
    infected: list[bytes], originals: list[bytes], sample: bytes
) -> list[tuple[int, int]]:
    """(start, end) ranges of ``infected[0]`` whose every 12-gram is in all infected files and
    the sample, and in no original (12-grams compared by 64-bit hash)."""
    reference = _gram_hashes(infected[0])
    keep = np.ones(len(reference), bool)
    if originals:
        keep &= ~np.isin(reference, np.concatenate([_gram_hashes(o) for o in originals]))
    for other in [*infected[1:], sample]:
        keep &= np.isin(reference, _gram_hashes(other))
    return _merge([int(i) for i in np.nonzero(keep)[0]])


def _merge(positions: list[int]) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    for position in positions:
        if regions and position <= regions[-1][1] - GRAM + 1:
            regions[-1] = (regions[-1][0], position + GRAM)
        else:
            regions.append((position, position + GRAM))
    return regions


def focus_regions(
    regions: list[tuple[int, int]], span: tuple[int, int] | None
) -> list[tuple[int, int]]:
    """The parts of the regions inside the program the file carries (when it carries one).

    Bytes outside the program that are the same in every infected goat (an encoded copy of a
    header that all goats happen to share, say) depend on the hosts, not on the virus."""
    if span is None:
        return regions
    clipped = [(max(a, span[0]), min(b, span[1])) for a, b in regions]
    inside = [(a, b) for a, b in clipped if b - a >= MIN_LENGTH]
    return inside or regions


def candidates(
    reference: bytes, regions: list[tuple[int, int]], model: NgramModel, threshold: float
) -> list[Candidate]:
    """Windows over the invariant regions that pass the n-gram threshold, most improbable first."""
    found: dict[bytes, Candidate] = {}
    for index, (start, end) in enumerate(regions):
        for length in WINDOW_LENGTHS:
            for at in range(start, end - length + 1, STRIDE):
                window = reference[at : at + length]
                if window in found or _dull(window):
                    continue
                score = model.log10_probability(window)
                if score <= threshold:
                    found[window] = Candidate(window, score, index, at)
                if len(found) >= MAX_CANDIDATES:
                    break
    return sorted(
        found.values(),
        key=lambda c: (not distinctive(c.data), c.log10_probability, -len(c.data), c.offset),
    )


def distinctive(window: bytes) -> bool:
    """Holds a long printable run (a name, key or message the family carries).

    Programs built from the same kit share code idioms, so a window of pure code may also
    sit in a sibling family; the text a family carries rarely does. Such windows go first.
    """
    run = best = 0
    for byte in window:
        run = run + 1 if 0x20 <= byte < 0x7F else 0
        best = max(best, run)
    return best >= TEXT_RUN


def _dull(window: bytes) -> bool:
    """Windows made mostly of one byte value say nothing about a virus."""
    return max(window.count(b) for b in set(window)) > len(window) // 2


def choose(
    ranked: list[Candidate], rejected: Callable[[bytes], str | None]
) -> tuple[Candidate | None, list[dict[str, object]]]:
    """The first candidate no exact check rejects, with the record of what was checked."""
    checked: list[dict[str, object]] = []
    for candidate in ranked[:MAX_VERIFIED]:
        reason = rejected(candidate.data)
        checked.append(dict(candidate.as_dict(), rejected=reason))
        if reason is None:
            return candidate, checked
    return None, checked

"""Repair generation: a recipe (the definitions contract's language) that turns every infected
goat back into its original, found by comparing the pairs.

Every number a recipe needs (where the original bytes are kept, how long the original was,
where a patched field sits) must be computable from the INFECTED file alone: a literal, an
offset from the signature match or from the end, or a value stored in the file at such an
offset. :func:`find_expression` searches those forms and keeps one that is right for ALL
goats at once, which is what makes the recipe work on hosts never seen.

Shapes handled, tried in order:
1. the original sits whole inside the infected file (prepended virus): copy it down, cut;
2. the original's first block is kept somewhere, plain or XOR-encoded with a key the file
   carries (infection record): copy it back; then every remaining difference is patched
   (a kept copy of the bytes, or a fill when the original there was one repeated byte);
3. finally truncate to the original length.
When the original bytes are simply gone (an overwriting virus) there is no recipe: the
caller reports the host as destroyed (norepair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dis_core.definitions.errors import RepairError
from dis_core.definitions.recipe import apply_binary_recipe

Expr = Any
WINDOW = 4096  # how far from the match/end stored values are looked for
HEADER_READS = 1024
BLOCK_SIZES = (4096, 2048, 1024, 512, 256, 128, 64)
MAX_KEY = 32
MERGE_GAP = 8


@dataclass(frozen=True)
class Pair:
    original: bytes
    infected: bytes
    match: int  # offset of the signature's anchor in the infected file


class NoRepair(Exception):
    """No recipe gives back every original; ``destroyed`` when the originals are simply gone."""

    def __init__(self, detail: str, destroyed: bool) -> None:
        super().__init__(detail)
        self.destroyed = destroyed


# ----------------------------------------------------------------------------- expressions


def find_expression(
    targets: list[int], pairs: list[Pair], *, allow_literal: bool = True
) -> Expr | None:
    """An expression that evaluates to ``targets[i]`` on ``pairs[i].infected`` for every i."""
    if allow_literal and len(set(targets)) == 1:
        return targets[0]
    for form in (_relative_to_match, _relative_to_size, _stored_value):
        found = form(targets, pairs)
        if found is not None:
            return found
    return None


def _relative_to_match(targets: list[int], pairs: list[Pair]) -> Expr | None:
    deltas = {t - p.match for t, p in zip(targets, pairs, strict=True)}
    return {"match": deltas.pop()} if len(deltas) == 1 else None


def _relative_to_size(targets: list[int], pairs: list[Pair]) -> Expr | None:
    deltas = {t - len(p.infected) for t, p in zip(targets, pairs, strict=True)}
    return {"size": deltas.pop()} if len(deltas) == 1 else None


def _stored_value(targets: list[int], pairs: list[Pair]) -> Expr | None:
    """A u32/u16 kept at a fixed place (from the match, the end, or the start) equal to the
    target, or off by a constant the same for all goats; exact stores are preferred."""
    best: tuple[int, Expr] | None = None
    for width, reader in ((4, "u32"), (2, "u16")):
        for base in ("match", "size", "start"):
            found = _stored_for_base(targets, pairs, width, base)
            if found is None:
                continue
            place, delta = found
            read = {reader: place}
            expr = read if delta == 0 else {"add": [read, delta]}
            rank = abs(delta)
            if best is None or rank < best[0]:
                best = (rank, expr)
            if rank == 0:
                return expr
    return best[1] if best else None


def _stored_for_base(
    targets: list[int], pairs: list[Pair], width: int, base: str
) -> tuple[Expr, int] | None:
    """(place, delta) with value(place) + delta == target in every pair, delta nearest 0."""
    rel = (
        np.arange(-WINDOW, WINDOW + 1, dtype=np.int64)
        if base != "start"
        else np.arange(0, HEADER_READS, dtype=np.int64)
    )
    agreed: np.ndarray | None = None
    for target, pair in zip(targets, pairs, strict=True):
        values, valid = _values_at(pair, width, base, rel)
        deltas = np.where(valid, target - values, np.iinfo(np.int64).min)
        agreed = (
            deltas if agreed is None else np.where(agreed == deltas, agreed, np.iinfo(np.int64).min)
        )
    if agreed is None:
        return None
    good = np.nonzero(agreed != np.iinfo(np.int64).min)[0]
    if len(good) == 0:
        return None
    pick = int(good[np.argmin(np.abs(agreed[good]))])
    offset = int(rel[pick])
    place: Expr = offset if base == "start" else {base: offset}
    return place, int(agreed[pick])


def _values_at(pair: Pair, width: int, base: str, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Little-endian values at base+rel for every rel, and which of them lie inside the file."""
    data = pair.infected
    anchor = {"match": pair.match, "size": len(data), "start": 0}[base]
    where = rel + anchor
    valid = (where >= 0) & (where + width <= len(data))
    raw = np.frombuffer(data, np.uint8).astype(np.int64)
    values = np.zeros(len(rel), np.int64)
    safe = np.where(valid, where, 0)
    for k in range(width):
        values |= np.where(valid, raw[np.minimum(safe + k, len(raw) - 1)], 0) << (8 * k)
    return values, valid


# ----------------------------------------------------------------------------- recipe search


def generate(pairs: list[Pair], anchor: str = "$a") -> dict[str, Any]:
    """A verified recipe for every pair, or :class:`NoRepair`."""
    ops = _whole_original(pairs) or _patched_in_place(pairs)
    recipe = {"version": 1, "anchor": anchor, "ops": ops}
    for pair in pairs:
        try:
            repaired = apply_binary_recipe(pair.infected, recipe, pair.match)
        except RepairError as exc:
            raise NoRepair(f"recipe fails on a goat: {exc}", destroyed=False) from None
        if repaired != pair.original:
            raise NoRepair(
                "recipe does not give back the original bytes of every goat", destroyed=False
            )
    return recipe


def _length_expr(pairs: list[Pair]) -> Expr:
    lengths = [len(p.original) for p in pairs]
    if all(len(p.original) == len(p.infected) for p in pairs):
        return {"size": 0}
    found = find_expression(lengths, pairs, allow_literal=False)
    if found is None:
        raise NoRepair("the original length is not kept in the infected file", destroyed=False)
    return found


def _whole_original(pairs: list[Pair]) -> list[dict[str, Any]] | None:
    """The original is intact further into the file: copy it to the front, then truncate."""
    starts = []
    for pair in pairs:
        at = pair.infected.find(pair.original, 1)
        if at < 0:
            return None
        starts.append(at)
    source = find_expression(starts, pairs)
    if source is None:
        return None
    length = _length_expr(pairs)
    return [
        {"op": "copy", "from": source, "to": 0, "length": length},
        {"op": "truncate", "length": length},
    ]


def _patched_in_place(pairs: list[Pair]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    covered = 0
    block = _kept_block(pairs)
    if block is not None:
        block_ops, covered = block
        ops += block_ops
    ops += _patch_differences(pairs, covered)
    length = _length_expr(pairs)
    if length != {"size": 0}:
        ops.append({"op": "truncate", "length": length})
    if not ops:
        raise NoRepair("infected and original goats do not differ", destroyed=False)
    return ops


def _kept_block(pairs: list[Pair]) -> tuple[list[dict[str, Any]], int] | None:
    """The largest leading block of every original that the infected file keeps a copy of."""
    shortest = min(len(p.original) for p in pairs)
    for size in BLOCK_SIZES:
        if size > shortest or all(p.original[:size] == p.infected[:size] for p in pairs):
            continue
        plain = _plain_block(pairs, size)
        if plain is not None:
            return plain, size
        encoded = _xor_block(pairs, size)
        if encoded is not None:
            return encoded, size
    return None


def _plain_block(pairs: list[Pair], size: int) -> list[dict[str, Any]] | None:
    starts = []
    for pair in pairs:
        at = pair.infected.find(pair.original[:size], 1)
        if at < 0:
            return None
        starts.append(at)
    source = find_expression(starts, pairs, allow_literal=False)
    return None if source is None else [{"op": "copy", "from": source, "to": 0, "length": size}]


def _xor_block(pairs: list[Pair], size: int) -> list[dict[str, Any]] | None:
    """Find the block kept XOR-encoded: the key cancels in x[i] ^ x[i+k], so search for the
    original's own pattern of differences, then read the key off and find where it is kept."""
    for key_length in range(1, MAX_KEY + 1):
        places = [_xor_place(pair, size, key_length) for pair in pairs]
        if any(place is None for place in places):
            continue
        starts = [place[0] for place in places if place is not None]
        keys = [place[1] for place in places if place is not None]
        source = find_expression(starts, pairs, allow_literal=False)
        key_from = _key_location(pairs, keys)
        if source is not None and key_from is not None:
            return [
                {
                    "op": "copy_xor",
                    "from": source,
                    "to": 0,
                    "length": size,
                    "key_from": key_from,
                    "key_length": key_length,
                }
            ]
    return None


def _xor_place(pair: Pair, size: int, key_length: int) -> tuple[int, bytes] | None:
    original = np.frombuffer(pair.original[:size], np.uint8)
    infected = np.frombuffer(pair.infected, np.uint8)
    wanted = (original[:-key_length] ^ original[key_length:]).tobytes()
    haystack = (infected[:-key_length] ^ infected[key_length:]).tobytes()
    at = haystack.find(wanted, 1)
    if at < 0:
        return None
    key = bytes(
        a ^ b
        for a, b in zip(
            pair.infected[at : at + key_length], pair.original[:key_length], strict=True
        )
    )
    if not any(key):
        return None  # a zero key is the plain copy, handled elsewhere
    return at, key


def _key_location(pairs: list[Pair], keys: list[bytes]) -> Expr | None:
    places = []
    for pair, key in zip(pairs, keys, strict=True):
        at = pair.infected.find(key)
        if at < 0:
            return None
        places.append(at)
    return find_expression(places, pairs, allow_literal=False)


def _patch_differences(pairs: list[Pair], covered: int) -> list[dict[str, Any]]:
    """Ops for every remaining difference inside the original's length (beyond ``covered``)."""
    per_pair = [_ranges(p, covered) for p in pairs]
    for pair, ranges in zip(pairs, per_pair, strict=True):
        if any(not _recoverable(pair, a, b) for a, b in ranges):
            raise NoRepair(
                "original bytes of a changed place are kept nowhere: host destroyed", destroyed=True
            )
    counts = {len(r) for r in per_pair}
    if counts == {0}:
        return []
    if len(counts) != 1:
        raise NoRepair(
            "goats differ from their originals in different numbers of places", destroyed=False
        )
    ops = []
    for index in range(counts.pop()):
        ranges = [r[index] for r in per_pair]
        ops.append(_patch(pairs, ranges))
    return ops


def _ranges(pair: Pair, covered: int) -> list[tuple[int, int]]:
    limit = min(len(pair.original), len(pair.infected))
    a = np.frombuffer(pair.original[:limit], np.uint8)
    b = np.frombuffer(pair.infected[:limit], np.uint8)
    differ = np.nonzero(a != b)[0]
    found: list[tuple[int, int]] = []
    for position in (int(x) for x in differ if x >= covered):
        if found and position - found[-1][1] <= MERGE_GAP:
            found[-1] = (found[-1][0], position + 1)
        else:
            found.append((position, position + 1))
    return found


def _patch(pairs: list[Pair], ranges: list[tuple[int, int]]) -> dict[str, Any]:
    at = find_expression([r[0] for r in ranges], pairs)
    length = find_expression([r[1] - r[0] for r in ranges], pairs)
    if at is None or length is None:
        raise NoRepair("a changed place cannot be located from the infected file", destroyed=False)
    fills = {
        p.original[a] if _uniform(p.original[a:b]) else -1
        for p, (a, b) in zip(pairs, ranges, strict=True)
    }
    if len(fills) == 1 and (byte := fills.pop()) >= 0:
        return {"op": "fill", "at": at, "length": length, "byte": byte}
    return _copy_back(pairs, ranges, at, length)


def _copy_back(
    pairs: list[Pair], ranges: list[tuple[int, int]], at: Expr, length: Expr
) -> dict[str, Any]:
    """The original bytes of this place are kept elsewhere in the file: copy them back."""
    sources: list[int] = []
    for pair, (a, b) in zip(pairs, ranges, strict=True):
        wanted = pair.original[a:b]
        found = [i for i in _occurrences(pair.infected, wanted) if not a <= i < b]
        if not found:
            raise NoRepair(
                "original bytes of a changed place are not kept in the file", destroyed=True
            )
        sources.append(found[-1])
    source = find_expression(sources, pairs, allow_literal=False)
    if source is None:
        source = _consistent_occurrence(pairs, ranges)
    if source is None:
        raise NoRepair(
            "kept original bytes are not at a place the infected file tells", destroyed=False
        )
    return {"op": "copy", "from": source, "to": at, "length": length}


def _consistent_occurrence(pairs: list[Pair], ranges: list[tuple[int, int]]) -> Expr | None:
    """Some occurrence at the same distance from the match in every goat (the last such)."""
    common: set[int] | None = None
    for pair, (a, b) in zip(pairs, ranges, strict=True):
        rel = {
            i - pair.match
            for i in _occurrences(pair.infected, pair.original[a:b])
            if not a <= i < b
        }
        common = rel if common is None else common & rel
    return {"match": max(common)} if common else None


def _uniform(data: bytes) -> bool:
    return data == bytes([data[0]]) * len(data)


def _recoverable(pair: Pair, a: int, b: int) -> bool:
    wanted = pair.original[a:b]
    return (
        _uniform(wanted)
        or any(not a <= i < b for i in _occurrences(pair.infected, wanted, 4))
        or b - a <= 4
    )


def _occurrences(data: bytes, wanted: bytes, limit: int = 64) -> list[int]:
    found: list[int] = []
    at = data.find(wanted)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = data.find(wanted, at + 1)
    return found

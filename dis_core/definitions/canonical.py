"""Canonical JSON: one byte form per value, and a strict reader that accepts only that form.

Packages must be reproducible byte for byte (a host rebuilds the vendor's signed full package
from an applied increment), so every JSON member is written in exactly one way and the reader
refuses anything else (duplicate keys, floats, NaN, extra whitespace, non-canonical order).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dis_core.definitions.errors import unpackage

MAX_DEPTH = 32


def dumps(value: Any) -> bytes:
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text!r}")


def loads(data: bytes, what: str) -> Any:
    """Parse canonical JSON or raise DefinitionError(unpackage)."""
    try:
        text = data.decode("ascii")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise unpackage(f"{what}: not valid JSON ({exc})") from None
    if _depth(value) > MAX_DEPTH or dumps(value) != data:
        raise unpackage(f"{what}: not in canonical form")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def format_time(moment: datetime | None) -> str | None:
    """UTC, microseconds, 'Z' suffix; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: Any, what: str) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise unpackage(f"{what}: not a time")
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise unpackage(f"{what}: not a time") from None
    if format_time(moment) != text:
        raise unpackage(f"{what}: not a canonical time")
    return moment

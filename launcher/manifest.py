"""Fixture manifests: what QA expects each sample of a corpus to end as.

Only the launcher (for QA comparisons) and tests read manifests; analysis never does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERMINAL_STATUSES = frozenset({"installed", "not installed", "unneeded", "attention", "error"})


@dataclass(frozen=True)
class Expectation:
    """One manifest row."""

    file: str
    sha256: str
    family: str
    state: str | None
    status: str
    virus_family: str | None
    repairable: bool | None
    settled_by: str | None
    protocol_error: str | None


class ManifestError(ValueError):
    """The manifest is missing or does not describe the corpus."""


def load_manifest(corpus: Path) -> list[Expectation]:
    path = corpus / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest.json in the corpus folder") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON: {exc}") from None
    rows = [_expectation(row, path) for row in data.get("samples", [])]
    for row in rows:
        if not (corpus / row.file).is_file():
            raise ManifestError(f"{path}: listed file {row.file} is not in the corpus")
    return rows


def _expectation(row: dict[str, Any], path: Path) -> Expectation:
    try:
        expected = row["expected"]
        return Expectation(
            file=row["file"],
            sha256=row["sha256"],
            family=row["family"],
            state=expected.get("state"),
            status=expected["status"],
            virus_family=expected.get("virus_family"),
            repairable=expected.get("repairable"),
            settled_by=expected.get("settled_by"),
            protocol_error=expected.get("protocol_error"),
        )
    except (KeyError, TypeError) as exc:
        raise ManifestError(f"{path}: a sample row lacks {exc}") from None


def compare(expected: Expectation, actual: dict[str, Any]) -> list[str]:
    """Mismatches between one expectation and what the loop produced (empty: a match)."""
    problems = []
    if expected.status != actual.get("status"):
        problems.append(f"status {actual.get('status')!r}, expected {expected.status!r}")
    if expected.state is not None and expected.state != actual.get("state"):
        problems.append(f"state {actual.get('state')!r}, expected {expected.state!r}")
    if (
        expected.repairable is not None
        and actual.get("repairable") is not None
        and expected.repairable != actual.get("repairable")
    ):
        problems.append(f"repairable {actual.get('repairable')}, expected {expected.repairable}")
    if expected.protocol_error and expected.protocol_error not in (actual.get("errors") or []):
        problems.append(f"protocol error {expected.protocol_error!r} not reported")
    return problems


def family_consistency(pairs: list[tuple[Expectation, dict[str, Any]]]) -> dict[str, list[str]]:
    """Check virus naming by family: one family, one virus name; different families, different names.

    The back office names viruses from what it sees, so names cannot be compared with the
    manifest's labels directly; what must hold is that the grouping agrees.
    """
    names_by_family: dict[str, set[str]] = {}
    for expected, actual in pairs:
        if expected.virus_family and actual.get("virus"):
            names_by_family.setdefault(expected.virus_family, set()).add(str(actual["virus"]))
    problems: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for family, names in names_by_family.items():
        if len(names) > 1:
            problems.setdefault(family, []).append(
                f"one family, several virus names: {sorted(names)}"
            )
        for name in names:
            if name in owner and owner[name] != family:
                problems.setdefault(family, []).append(
                    f"virus name {name!r} also used for {owner[name]}"
                )
            owner[name] = family
    return problems

"""What one round of an endpoint did (returned by the Endpoint API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dis_core.vocabulary.kinds import ConfirmationOutcome
from endpoint.item import QuarantinedItem


@dataclass
class ScanReport:
    """What one pass over the watched folder did."""

    scanned: int = 0
    quarantined: list[QuarantinedItem] = field(default_factory=list)
    repaired_in_place: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ForwardReport:
    """What one forwarding round did."""

    forwarded: list[QuarantinedItem] = field(default_factory=list)
    retry_later: list[QuarantinedItem] = field(default_factory=list)
    refused: list[QuarantinedItem] = field(default_factory=list)
    failed: list[QuarantinedItem] = field(default_factory=list)  # a fault of its own; retried later
    confirmations_sent: int = 0
    confirmations_waiting: int = 0


@dataclass(frozen=True)
class Resolution:
    """The fate of one quarantined item after an install."""

    item_id: str
    outcome: ConfirmationOutcome
    path: str = ""


@dataclass(frozen=True)
class TakenIn:
    """A file copied onto a computer by take_in(): where it went and what the scan did."""

    source: Path
    placed: Path
    item: QuarantinedItem | None  # None: not quarantined (clean, or repaired in place)
    repaired_in_place: bool = False

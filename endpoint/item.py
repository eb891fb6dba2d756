"""One quarantined item: what was found, where it came from, and how far it got."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dis_core.vocabulary.kinds import ConfirmationOutcome, ScanResult


class ForwardStatus(StrEnum):
    """Where the item stands with the Quarantine Server."""

    PENDING = "pending"  # not yet accepted; retried after retry_interval_s
    FORWARDED = "forwarded"  # the server acknowledged it (201 or 200) and gave an id
    REFUSED = "refused"  # the server answered with a client error; resending cannot help
    NOT_NEEDED = "not_needed"  # resolved locally before it could be forwarded


@dataclass
class SideEffects:
    """What moving the file into the quarantine changed, so giving it back can undo it."""

    path: str
    mode: int
    size: int
    created: str  # ISO 8601 UTC; Linux has no birth time, so this is the inode change time
    modified: str
    accessed: str
    owner_uid: int

    def as_attribute(self) -> str:
        """The X-Sample-Side-Effects value: a JSON list, kept under the attribute's 1 KB."""
        entry: dict[str, Any] = {
            "action": "moved_to_quarantine",
            "path": self.path,
            "mode": oct(self.mode),
            "size": self.size,
        }
        text = json.dumps([entry], separators=(",", ":"))
        if len(text) > 1000:
            entry.pop("path")
            text = json.dumps([entry], separators=(",", ":"))
        return text


@dataclass
class HistoryEntry:
    at: str
    event: str
    detail: str = ""


@dataclass
class QuarantinedItem:
    """The record kept next to the encrypted content, as JSON."""

    id: str
    sample_checksum: str
    size: int
    scan_result: ScanResult
    reason: str
    virus_name: str
    sequence: int  # the endpoint's definitions sequence when it quarantined the file
    quarantined_at: str
    side_effects: SideEffects
    forward_status: ForwardStatus = ForwardStatus.PENDING
    attempts: int = 0
    next_attempt_at: str = ""
    last_error: str = ""
    server_id: str = ""
    server_status: str = ""
    forwarded_at: str = ""
    forwarded_listener: str = ""  # "host:port" of the Defcast listener the forward named, if any
    outcome: ConfirmationOutcome | None = None
    outcome_sequence: int = 0
    outcome_reported: bool = False  # the outcome went into a confirmation for the server
    given_back_to: str = ""  # where the repaired or restored file was written
    resolved: bool = False
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def settled_locally_by(self) -> int | None:
        """The sequence of the set that settled this item here before it was ever forwarded
        (so the server never heard of it), or None."""
        if self.forward_status is ForwardStatus.NOT_NEEDED and self.outcome is not None:
            return self.outcome_sequence
        return None

    def note(self, at: datetime, event: str, detail: str = "") -> None:
        self.history.append(HistoryEntry(at.isoformat(), event, detail))

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> QuarantinedItem:
        raw = json.loads(data)
        raw["scan_result"] = ScanResult(raw["scan_result"])
        raw["forward_status"] = ForwardStatus(raw["forward_status"])
        raw["outcome"] = ConfirmationOutcome(raw["outcome"]) if raw.get("outcome") else None
        raw["side_effects"] = SideEffects(**raw["side_effects"])
        raw["history"] = [HistoryEntry(**h) for h in raw.get("history", [])]
        return cls(**raw)

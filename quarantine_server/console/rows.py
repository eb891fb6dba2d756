"""What the console shows of a sample: one plain view object per row, independent of the model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dis_core.vocabulary import SampleState, SampleStatus
from quarantine_server.models import Sample

DONE_STATUSES = frozenset({"installed", "unneeded"})
WAITING_STATUSES = frozenset({"held", "available"})


@dataclass(frozen=True)
class ItemRow:
    """One line of the quarantined-items list (the seed's console columns, plus id/priority)."""

    id: int
    file_name: str
    user: str
    computer: str
    analyzed: str  # date the analysis finished, "" when not analyzed
    age: str  # how long ago the sample arrived, e.g. "3 h"
    received: str
    state: str
    state_group: str
    state_meaning: str
    needed: str
    status: str
    status_class: str
    status_meaning: str
    virus: str
    errors: list[str]
    priority: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def human_age(since: datetime, now: datetime) -> str:
    """A short age like '45 s', '12 min', '3 h', '2 d'."""
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def status_class(status: str | None) -> str:
    if status is not None and SampleStatus(status).troubled:
        return "trouble"
    if status in DONE_STATUSES:
        return "done"
    return "waiting" if status in WAITING_STATUSES else ""


def _state_facts(state: str | None) -> tuple[str, str]:
    try:
        value = SampleState(state or "")
    except ValueError:
        return "", ""
    return value.group.value, value.meaning


def _status_meaning(status: str | None) -> str:
    try:
        return SampleStatus(status or "").meaning
    except ValueError:
        return ""


def item_row(sample: Sample, now: datetime) -> ItemRow:
    group, state_meaning = _state_facts(sample.state)
    return ItemRow(
        id=sample.id,
        file_name=sample.file_name,
        user=sample.user,
        computer=sample.computer,
        analyzed=stamp(sample.date_analyzed),
        age=human_age(sample.received_at, now),
        received=stamp(sample.received_at),
        state=sample.state or "",
        state_group=group,
        state_meaning=state_meaning,
        needed=str(sample.definitions_needed) if sample.definitions_needed else "",
        status=sample.status or "",
        status_class=status_class(sample.status),
        status_meaning=_status_meaning(sample.status),
        virus=sample.virus_name or "",
        errors=sorted({problem.error for problem in sample.errors}),
        priority=sample.priority,
    )

"""Status moves of a sample on this server, always through dis_core.lifecycle.transition."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from dis_core.lifecycle import transition
from dis_core.vocabulary import SampleStatus
from dis_core.vocabulary.attributes import format_value
from dis_core.vocabulary.parts import Part
from quarantine_server.models import Sample

FINISHED = frozenset({SampleStatus.INSTALLED, SampleStatus.NOT_INSTALLED, SampleStatus.UNNEEDED})


def move(
    sample: Sample,
    status: SampleStatus,
    at: datetime,
    reason: str,
    actor: Part = Part.QUARANTINE_SERVER,
) -> None:
    """Change the status (guarded); finishing statuses stamp X-Date-Finished."""
    transition(sample, at=at, actor=actor, reason=reason, status=status)
    if status in FINISHED and sample.date_finished is None:
        sample.date_finished = at
        sample.set_attribute("X-Date-Finished", format_value(at))


def set_priority(sample: Sample, priority: int) -> None:
    sample.priority = priority
    sample.set_attribute("X-Sample-Priority", str(priority))


def lock_and_refresh(session: Session, sample: Sample) -> None:
    """Take the sample row's write lock, then re-read it: read-check-write with no lost update.

    Web and agent are separate processes; a no-op UPDATE starts the write transaction
    (SQLite) or locks the row (PostgreSQL), so a change the other process commits meanwhile is
    either seen here or waits for us.
    """
    session.execute(update(Sample).where(Sample.id == sample.id).values(status=Sample.status))
    session.refresh(sample)

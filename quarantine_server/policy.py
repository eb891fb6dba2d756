"""Sample Policy: who is held, who is released, manual submission, priorities, the gateway limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.vocabulary import AlertEvent, SampleStatus
from dis_core.vocabulary.parts import Part
from quarantine_server.alerts import raise_event
from quarantine_server.lifecycle import move, set_priority
from quarantine_server.models import Sample

S = SampleStatus
# From these a sample may be queued again by hand (the seed's "submission error" case).
MANUAL_FROM = frozenset({S.HELD, S.ERROR, S.ATTENTION})


def held_by_policy(config: Config, sample: Sample) -> bool:
    """Priority 0 or automatic submission off: the sample waits for a person."""
    return sample.priority == 0 or not config.sample_policy.automatic_submission


def release_or_hold(
    session: Session, config: Config, sample: Sample, at: datetime, why: str
) -> None:
    """After a scan that did not settle the sample: queue it, or hold it (and say so)."""
    if held_by_policy(config, sample):
        move(sample, S.HELD, at, f"{why}; held for manual submission")
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_HELD,
            f"sample {sample.id} ({sample.file_name}) is held",
            sample=sample,
            key="held",
        )
    else:
        move(sample, S.RELEASED, at, f"{why}; queued for analysis")


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str


def manual_eligibility(sample: Sample) -> Eligibility:
    """The seed's three conditions for manual submission, plus a status the move allows."""
    if sample.priority != 0:
        return Eligibility(
            False, "priority is not 0: the sample is already eligible for automatic submission"
        )
    if sample.date_submitted is not None:
        return Eligibility(False, "the sample was already submitted")
    if sample.date_finished is not None:
        return Eligibility(False, "the sample was already analysed and finished")
    if sample.status not in {*MANUAL_FROM, S.QUARANTINED}:
        return Eligibility(False, f"status {sample.status} cannot be queued")
    return Eligibility(True, "eligible")


def queue_manually(sample: Sample, priority: int, at: datetime) -> Eligibility:
    """Give the sample a priority and queue it for analysis, when the rules allow."""
    verdict = manual_eligibility(sample)
    if not verdict.eligible:
        return verdict
    set_priority(sample, priority)
    if sample.status != S.QUARANTINED:  # a quarantined sample is released by its first scan
        move(sample, S.RELEASED, at, f"queued by hand with priority {priority}", Part.ADMINISTRATOR)
    return verdict


def change_priority(config: Config, sample: Sample, priority: int, at: datetime) -> None:
    """Set a priority; 0 holds a queued sample, and a positive one releases a held sample."""
    set_priority(sample, priority)
    if priority == 0 and sample.status == S.RELEASED:
        move(sample, S.HELD, at, "priority set to 0", Part.ADMINISTRATOR)
    elif priority > 0 and sample.status == S.HELD and config.sample_policy.automatic_submission:
        move(sample, S.RELEASED, at, f"priority set to {priority}", Part.ADMINISTRATOR)


def pending_at_gateway(session: Session) -> int:
    count = session.scalar(
        select(func.count()).select_from(Sample).where(Sample.status == S.SUBMITTED)
    )
    return int(count or 0)


def submission_queue(session: Session, config: Config) -> list[Sample]:
    """Released samples to send now: highest priority first, oldest first, within the limit."""
    room = config.sample_policy.max_pending_at_gateway - pending_at_gateway(session)
    if room <= 0:
        return []
    query = (
        select(Sample)
        .where(Sample.status == S.RELEASED, Sample.priority > 0)
        .order_by(Sample.priority.desc(), Sample.received_at, Sample.id)
        .limit(room)
    )
    return list(session.scalars(query))


def release_held(session: Session, config: Config, at: datetime) -> int:
    """Queue check: held samples that have a priority go once automatic submission is on."""
    if not config.sample_policy.automatic_submission:
        return 0
    query = select(Sample).where(Sample.status == S.HELD, Sample.priority > 0)
    released = 0
    for sample in session.scalars(query):
        move(sample, S.RELEASED, at, "automatic submission is on and the sample has a priority")
        released += 1
    return released

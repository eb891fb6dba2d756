"""Keeping submissions in step with the analysis: the back office's reports and shared cookies."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.analysis import AnalysisLink, AnalysisStatus
from dis_core.lifecycle import IllegalTransition, transition
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.parts import Part
from gateway_sim.models import Submission

log = logging.getLogger(__name__)
# The hand-off to the back office takes well under a second; an owner still importing after
# this many (simulated) seconds that the back office does not know was lost in a crash.
LOST_IMPORT_AFTER_S = 600.0


def apply_status(submission: Submission, status: AnalysisStatus, now: datetime) -> None:
    """Take over what the back office reports; a move it may not make is logged, not applied."""
    try:
        transition(
            submission,
            at=now,
            actor=Part.BACKOFFICE,
            reason="reported by the back office",
            state=SampleState(status.state),
            reported=True,
        )
    except (IllegalTransition, ValueError) as exc:
        log.warning("cookie %s: ignoring back-office report: %s", submission.cookie, exc)
        return
    submission.result = status.result.over(submission.result)
    if submission.is_final:
        submission.date_analyzed = status.date_analyzed or now
    if status.error and status.error != submission.error:
        submission.record_error(now, SampleError(status.error), status.error_detail or status.error)


def mirror(follower: Submission, owner: Submission, now: datetime, reason: str) -> None:
    """Make a submission that shares a cookie show the owner's state and result."""
    if owner.state and owner.state != follower.state:
        try:
            transition(
                follower,
                at=now,
                actor=Part.GATEWAY,
                reason=reason,
                state=SampleState(owner.state),
                reported=True,
            )
        except IllegalTransition as exc:
            log.warning("cookie %s: follower %s not mirrored: %s", owner.cookie, follower.id, exc)
            return
    follower.result, follower.date_analyzed = owner.result, owner.date_analyzed
    if owner.error and owner.error != follower.error:
        follower.record_error(now, SampleError(owner.error), owner.error_detail or owner.error)


def followers(session: Session, owner: Submission) -> list[Submission]:
    query = select(Submission).where(Submission.cookie == owner.cookie, Submission.owner.is_(False))
    return list(session.scalars(query))


def needs_refresh(submission: Submission) -> bool:
    """Back-office samples until final; infected ones too, since a signature may misfire later."""
    if submission.settled_by != "backoffice" or submission.error is not None:
        return False
    return not submission.is_final or submission.state == SampleState.INFECTED.value


def refresh(session: Session, owner: Submission, link: AnalysisLink, now: datetime) -> None:
    """Ask the back office how the owner's analysis stands and pass that on to followers."""
    if not needs_refresh(owner):
        return
    status = link.status(owner.cookie)
    if status is None:
        _end_lost_import(session, owner, now)
        return
    apply_status(owner, status, now)
    for follower in followers(session, owner):
        mirror(follower, owner, now, "same cookie as the analysed submission")


def _end_lost_import(session: Session, owner: Submission, now: datetime) -> None:
    """End a submission the back office never received (the gateway stopped between accepting
    it and handing it over): without this it would wait in importing for ever. It ends as
    abort/internal, which the sender sees as an error it can act on (a restart sends it again)."""
    if owner.state != SampleState.IMPORTING.value:
        return
    if (now - owner.updated_at).total_seconds() < LOST_IMPORT_AFTER_S:
        return
    reason = "the back office never received this sample (the hand-off was interrupted)"
    transition(owner, at=now, actor=Part.GATEWAY, reason=reason, state=SampleState.ABORT)
    owner.record_error(now, SampleError.INTERNAL, reason)
    owner.date_analyzed = now
    log.warning("cookie %s: %s", owner.cookie, reason)
    for follower in followers(session, owner):
        mirror(follower, owner, now, "same cookie as the analysed submission")

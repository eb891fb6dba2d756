"""The one runner every stage step goes through.

It owns what stages must not do themselves: claiming the sample (so two workers never run
the same step), entering the working state, every state move (through
``dis_core.lifecycle.transition``, so each one is in the history with a timestamp), logging,
and failures: a :class:`RetryableError` is tried again later (``attention`` after too many
tries), a :class:`PermanentError` ends the sample in ``error`` with its sample error, and any
other exception ends it in ``abort`` with the traceback kept.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backoffice.metrics import STAGE_SECONDS
from backoffice.pipeline.errors import PermanentError, RetryableError
from backoffice.pipeline.stages import STAGES, stage_for
from backoffice.pipeline.stages.base import Job, Move, Outcome, Stage
from backoffice.services import Services
from backoffice.store.models import Analysis, EngineSlot, Lock
from dis_core.db import rows_changed, unit_of_work
from dis_core.lifecycle import transition
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.parts import Part

log = logging.getLogger(__name__)
RETRY_BACKOFF_S = 2.0


class StageRunner:
    """Runs ``stage_name`` for ``cookie`` once; ``on_next`` hears which step is due next."""

    def __init__(
        self, services: Services, on_next: Callable[[str, str], None] | None = None
    ) -> None:
        self.services = services
        self.on_next = on_next
        self._worker_prefix = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def worker(self) -> str:
        return f"{self._worker_prefix}:{threading.get_ident()}"

    def run(self, stage_name: str, cookie: str) -> None:
        stage = STAGES[stage_name]
        job = self._claim(stage, cookie)
        if job is None:
            return  # not (or no longer) this stage's sample, or another worker has it
        started = time.monotonic()
        ended = self._run_claimed(stage_name, stage, job)
        STAGE_SECONDS.labels(stage_name, ended).observe(time.monotonic() - started)

    def _run_claimed(self, stage_name: str, stage: Stage, job: Job) -> str:
        """Run a claimed step to its end; say how it ended (moved, retry or error)."""
        try:
            self._enter_working_state(stage, job)
            outcome = stage.run(job)
        except (RetryableError, OperationalError) as exc:  # a busy database passes too
            self._finish_failed(stage, job, retry=str(exc))
            return "retry"
        except PermanentError as exc:
            self._finish_failed(stage, job, error=(exc.error, exc.detail, None))
            return "error"
        except Exception as exc:  # a bug or an unexpected condition: abort, keep the traceback
            log.exception("stage %s failed for %s", stage_name, job.cookie)
            self._finish_failed(
                stage,
                job,
                error=(
                    SampleError.INTERNAL,
                    f"{type(exc).__name__}: {exc}",
                    traceback.format_exc(),
                ),
            )
            return "error"
        self._finish(stage, job, outcome)
        return "moved"

    # -- claiming ----------------------------------------------------------------------
    def _claim(self, stage: Stage, cookie: str) -> Job | None:
        now = self.services.clock.now()
        lease = now + timedelta(seconds=self.services.config.backoffice.lease_s)
        with unit_of_work(self.services.store.sessions) as session:
            claimed = session.execute(
                update(Analysis)
                .where(
                    Analysis.cookie == cookie, Analysis.state.in_([s.value for s in stage.picks_up])
                )
                .where(or_(Analysis.claimed_by.is_(None), Analysis.claimed_until < now))
                .values(claimed_by=self.worker, claimed_until=lease)
            )
            if rows_changed(claimed) != 1:
                return None
            row = _row(session, cookie)
            return self._job(row)

    def _job(self, row: Analysis) -> Job:
        return Job(
            cookie=row.cookie, state=SampleState(row.state or SampleState.IMPORTED), kind=row.kind, findings=row.findings,
            control_round=row.control_round, services=self.services, content_file=row.content_file,
            content_key=row.content_key, sample_checksum=row.sample_checksum, worker=self.worker,
        )  # fmt: skip

    def _enter_working_state(self, stage: Stage, job: Job) -> None:
        working = stage.working_state(job)
        if working is None or working == job.state:
            return
        self._apply(job, Outcome(moves=[Move(working, f"{stage.name} started")]), release=False)
        job.state = working

    # -- finishing ---------------------------------------------------------------------
    def _finish(self, stage: Stage, job: Job, outcome: Outcome) -> None:
        self._apply(job, outcome, release=True)
        log.info(
            "%s %s: %s",
            stage.name,
            job.cookie,
            " -> ".join(m.state.value for m in outcome.moves) or "later",
        )
        if outcome.moves and self.on_next is not None:
            following = stage_for(outcome.moves[-1].state)
            if following is not None:
                self.on_next(following.name, job.cookie)

    def _finish_failed(
        self,
        stage: Stage,
        job: Job,
        *,
        retry: str | None = None,
        error: tuple[SampleError, str, str | None] | None = None,
    ) -> None:
        stage.cleanup(job)
        with unit_of_work(self.services.store.sessions) as session:
            row = _row(session, job.cookie)
            _release_held(session, job.cookie)
            if retry is not None and row.retries < self.services.config.backoffice.max_retries:
                row.retries += 1
                row.not_before = self.services.clock.now() + timedelta(
                    seconds=RETRY_BACKOFF_S * row.retries
                )
                row.error_detail = f"retrying after: {retry}"
            elif retry is not None:
                row.error, row.error_detail = (
                    SampleError.INTERNAL,
                    f"gave up after {row.retries} retries: {retry}",
                )
                self._move(row, SampleState.ATTENTION, "automation gave up; needs an analyst")
            else:
                assert error is not None
                code, detail, trace = error
                row.error, row.error_detail, row.traceback = code, detail, trace
                end = SampleState.ABORT if trace else SampleState.ERROR
                self._move(row, end, f"{stage.name}: {detail}"[:500])
            row.claimed_by = row.claimed_until = None

    def _apply(self, job: Job, outcome: Outcome, *, release: bool) -> None:
        with unit_of_work(self.services.store.sessions) as session:
            row = _row(session, job.cookie)
            if row.claimed_by != job.worker:
                raise RetryableError(f"lost the claim on {job.cookie}")
            for move in outcome.moves:
                self._move(row, move.state, move.reason)
            if outcome.moves and not outcome.moves[-1].state.holds_engine:
                # the engine goes back in the same transaction as the move out of replication
                freed = session.execute(
                    update(EngineSlot)
                    .where(EngineSlot.holder == row.cookie)
                    .values(holder=None, taken_at=None)
                )
                if rows_changed(freed):
                    _wake(session, WAITING_FOR_ENGINE)
            if job.state is SampleState.UNLOCKING and outcome.moves:
                _wake(session, WAITING_FOR_LOCK)
            for name, value in outcome.updates.items():
                setattr(row, name, value)
            if outcome.findings.set_fields():
                row.keep_findings(outcome.findings)
            if outcome.retry_after_s is not None:
                row.not_before = self.services.clock.now() + timedelta(
                    seconds=outcome.retry_after_s
                )
            elif outcome.moves:
                row.not_before = None
                row.retries = 0
            if release:
                row.claimed_by = row.claimed_until = None

    def _move(self, row: Analysis, state: SampleState, reason: str) -> None:
        before = row.state
        self.services.gate.pause(
            row.cookie, Part.BACKOFFICE.value, before, state.value, clock=self.services.clock
        )
        transition(
            row, at=self.services.clock.now(), actor=Part.BACKOFFICE, reason=reason, state=state
        )
        if state.is_final:
            _release_held_rows(row)


WAITING_FOR_ENGINE = (SampleState.BINARY_WAIT.value, SampleState.MACRO_WAIT.value)
WAITING_FOR_LOCK = (SampleState.LOCKING.value,)


def _wake(session: Session, states: tuple[str, ...]) -> None:
    """Samples waiting for what was just given back may try again at once."""
    session.execute(update(Analysis).where(Analysis.state.in_(states)).values(not_before=None))


def _row(session: Session, cookie: str) -> Analysis:
    row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
    return row


def _release_held(session: Session, cookie: str) -> None:
    """A failed step gives back the engine slot and builder lock its sample held."""
    session.execute(
        update(EngineSlot).where(EngineSlot.holder == cookie).values(holder=None, taken_at=None)
    )
    session.execute(update(Lock).where(Lock.holder == cookie).values(holder=None, taken_at=None))


def _release_held_rows(row: Analysis) -> None:
    session = Session.object_session(row)
    if session is not None:
        _release_held(session, row.cookie)

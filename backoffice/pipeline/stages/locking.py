"""Locker and Unlocker: one definition builder at a time (a database-row lock)."""

from __future__ import annotations

from datetime import timedelta

from backoffice.pipeline.pools import BuilderLock
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.services import Services
from dis_core.vocabulary import SampleError, SampleState

T = SampleState
# a waiting sample is woken when an engine or the lock is given back; this is the fallback
WAIT_RETRY_S = 2.0


def certified_build_due(services: Services) -> bool:
    """The certified-definitions schedule: no certified set yet, or the last one is too old."""
    certified = services.repository.certified_sequence()
    if certified is None:
        return True
    last = services.repository.load(certified)
    stamp = last.certified_at or last.produced
    interval = timedelta(seconds=services.config.backoffice.certified_build_interval_s)
    return services.clock.now() - stamp >= interval


class Locker(Stage):
    name = "locker"
    picks_up = frozenset({T.SIGNATURES, T.LOCKING})

    def working_state(self, job: Job) -> SampleState:
        return T.LOCKING

    def run(self, job: Job) -> Outcome:
        services = job.services
        if not BuilderLock(services.store.sessions).acquire(job.cookie, services.clock.now()):
            return Outcome.later(WAIT_RETRY_S)
        if certified_build_due(services):
            return Outcome.go(T.FULL_BUILDING, "builder lock taken; a certified full build is due")
        return Outcome.go(T.INCR_BUILDING, "builder lock taken")

    def cleanup(self, job: Job) -> None:
        BuilderLock(job.services.store.sessions).release(job.cookie)


class Unlocker(Stage):
    name = "unlocker"
    picks_up = frozenset({T.UNLOCKING})

    def run(self, job: Job) -> Outcome:
        BuilderLock(job.services.store.sessions).release(job.cookie)
        failure = job.findings.build_failure
        if failure:
            return Outcome.go(
                T.BROKEN,
                f"definitions not built: {failure}",
                error=SampleError.ABANDONED,
                error_detail=failure,
            )
        return Outcome.go(T.ARCHIVE, "builder lock released")

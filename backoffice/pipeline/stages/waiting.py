"""EngineWaiter: a classified sample waits in binaryWait/macroWait for a free engine."""

from __future__ import annotations

from backoffice.pipeline.pools import EnginePools
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from dis_core.vocabulary import SampleState

T = SampleState
# a waiting sample is woken when an engine or the lock is given back; this is the fallback
WAIT_RETRY_S = 2.0


def pools_of(job: Job) -> EnginePools:
    config = job.services.config.backoffice
    return EnginePools(
        job.services.store.sessions,
        {"binary": config.binary_engines, "macro": config.macro_engines},
    )


class EngineWaiter(Stage):
    name = "waiter"
    picks_up = frozenset({T.BINARY, T.MACRO, T.BINARY_WAIT, T.MACRO_WAIT})

    def working_state(self, job: Job) -> SampleState:
        return job.kind_state("Wait")

    def run(self, job: Job) -> Outcome:
        if pools_of(job).acquire(job.engine_kind, job.cookie, job.services.clock.now()):
            return Outcome.go(
                job.kind_state("Controlling"), f"got a {job.engine_kind} engine", control_round=0
            )
        return Outcome.later(WAIT_RETRY_S)

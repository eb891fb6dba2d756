"""Deferrer: hands a sample the automation could not settle to the expert desk."""

from __future__ import annotations

from backoffice.pipeline.stages.base import Job, Outcome, Stage
from dis_core.vocabulary import SampleState

T = SampleState


class Deferrer(Stage):
    name = "deferrer"
    picks_up = frozenset({T.DEFER, T.DEFERRING})

    def working_state(self, job: Job) -> SampleState:
        return T.DEFERRING

    def run(self, job: Job) -> Outcome:
        space = job.workspace
        space.put_json(
            "desk.json",
            {
                "reason": job.findings.deferred_because,
                "rounds": job.findings.rounds or [],
            },
        )
        space.copy_to(job.services.archive(job.cookie))
        return Outcome.go(T.DEFERRED, "on the expert desk")

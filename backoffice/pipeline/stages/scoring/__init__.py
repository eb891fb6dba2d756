"""Scorer: turns the replication evidence into a signature (and a repair), or defers.

- infection (binary): :mod:`.binary` — invariant byte strings of all infected goats, n-gram
  FP estimate, exact goodware check, repair generated from the goat pairs and tested;
- infection (macro): :mod:`.macro` — normalized VBA lines every added module shares;
- threat: a program that does harm without infecting gets a detection-only signature taken
  from its own program bytes (unsubmittable), also in :mod:`.binary`;
Nothing passing the checks means the automation cannot settle it: defer to an analyst
(:func:`.common.defer`).
"""

from __future__ import annotations

from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.pipeline.stages.scoring.binary import score_infection, score_threat
from backoffice.pipeline.stages.scoring.macro import score_macro
from backoffice.store.findings import Mode
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import EngineKind

T = SampleState


class Scorer(Stage):
    name = "scorer"
    picks_up = frozenset({T.BINARY_SCORING, T.MACRO_SCORING})

    def run(self, job: Job) -> Outcome:
        if job.engine_kind is EngineKind.MACRO:
            return score_macro(job)
        if job.findings.mode is Mode.THREAT:
            return score_threat(job)
        return score_infection(job)

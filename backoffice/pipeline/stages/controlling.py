"""Controller: chooses the starting conditions (goats, date, events) of the next replication."""

from __future__ import annotations

from typing import Any

from backoffice.analysis.conditions import Hints, harvest, plans
from backoffice.analysis.unpacking import unpacked
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import EngineKind
from simworld.emulator import find_program

T = SampleState


def plans_for(job: Job) -> list[dict[str, Any]]:
    """Every plan this sample may get, the same list each time (it depends on content only)."""
    base = job.services.clock.now()
    hints = _hints(job, base.date())
    return plans(job.engine_kind, base, hints, job.services.config.backoffice.control_rounds)


def _hints(job: Job, today: Any) -> Hints:
    if job.engine_kind is EngineKind.BINARY:
        return harvest(unpacked(find_program(job.content)), today)
    from backoffice.analysis.conditions import harvest_macro_hints

    return harvest_macro_hints(job.content, today)


class Controller(Stage):
    name = "controller"
    picks_up = frozenset({T.BINARY_CONTROLLING, T.MACRO_CONTROLLING})

    def run(self, job: Job) -> Outcome:
        options = job.findings.plans or plans_for(job)
        plan = options[min(job.control_round, len(options) - 1)]
        outcome = Outcome.go(
            job.kind_state("Replicating"), f"round {job.control_round + 1}: {plan['label']}"
        )
        outcome.findings.plans, outcome.findings.plan = options, plan
        return outcome

"""The stages of the pipeline, one per state family, and which state each one picks up."""

from __future__ import annotations

from backoffice.pipeline.stages.archiving import Archiver
from backoffice.pipeline.stages.base import Stage
from backoffice.pipeline.stages.building import Builder, UnitTester
from backoffice.pipeline.stages.classifying import Classifier
from backoffice.pipeline.stages.controlling import Controller
from backoffice.pipeline.stages.deferring import Deferrer
from backoffice.pipeline.stages.intake import Intake
from backoffice.pipeline.stages.locking import Locker, Unlocker
from backoffice.pipeline.stages.replicating import Replicator
from backoffice.pipeline.stages.scoring import Scorer
from backoffice.pipeline.stages.waiting import EngineWaiter
from dis_core.vocabulary import SampleState

_ALL: list[Stage] = [
    Intake(), Classifier(), EngineWaiter(), Controller(), Replicator(), Scorer(), Locker(), Builder(),
    UnitTester(), Unlocker(), Archiver(), Deferrer(),
]  # fmt: skip
STAGES: dict[str, Stage] = {stage.name: stage for stage in _ALL}
_BY_STATE: dict[SampleState, Stage] = {state: stage for stage in _ALL for state in stage.picks_up}


def stage_for(state: SampleState | str | None) -> Stage | None:
    """The stage that works on samples in ``state`` (None for pending/final states)."""
    if state is None:
        return None
    return _BY_STATE.get(SampleState(state))


def working_states() -> frozenset[SampleState]:
    return frozenset(_BY_STATE)

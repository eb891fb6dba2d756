"""The stages of the pipeline, one per state family, and which state each one picks up."""

from __future__ import annotations

from backoffice.stages.archiving import Archiver
from backoffice.stages.base import Stage
from backoffice.stages.building import Builder, UnitTester
from backoffice.stages.classifying import Classifier
from backoffice.stages.controlling import Controller
from backoffice.stages.deferring import Deferrer
from backoffice.stages.intake import Intake
from backoffice.stages.locking import Locker, Unlocker
from backoffice.stages.replicating import Replicator
from backoffice.stages.scoring import Scorer
from backoffice.stages.waiting import EngineWaiter
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

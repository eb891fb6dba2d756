"""Every status and state move, allowed or refused exactly as the lifecycle tables say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from dis_core.lifecycle import (
    STATE_MOVES,
    STATUS_MOVES,
    IllegalTransition,
    Transition,
    allowed_state,
    allowed_status,
    transition,
)
from dis_core.vocabulary import SampleState, SampleStatus, StateGroup
from dis_core.vocabulary.parts import Part

S, T = SampleStatus, SampleState
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Written down in lifecycle.allowed_state: any non-final state may fall into these.
ESCAPES = {T.ERROR, T.ABORT, T.ATTENTION, T.DEFER}

STATUS_PAIRS = [(b, a) for b in [None, *SampleStatus] for a in SampleStatus]
STATE_PAIRS = [(b, a) for b in [None, *SampleState] for a in SampleState]


@dataclass
class FakeSample:
    """A record as a part would keep it: status, state and its history lines."""

    status: str | None = None
    state: str | None = None
    history: list[Transition] = field(default_factory=list)

    def record_transition(self, entry: Transition) -> None:
        self.history.append(entry)


def expected_state_move(before: SampleState | None, after: SampleState) -> bool:
    in_table = after in STATE_MOVES.get(before, frozenset())
    if before is not None and before.is_final:
        return in_table
    return in_table or after in ESCAPES


def move(sample: FakeSample, **kwargs: object) -> list[Transition]:
    return transition(sample, at=AT, actor=Part.QUARANTINE_SERVER, reason="test", **kwargs)  # type: ignore[arg-type]


def test_tables_name_only_known_values() -> None:
    for before, afters in STATUS_MOVES.items():
        assert before is None or isinstance(before, SampleStatus)
        assert all(isinstance(a, SampleStatus) for a in afters)
    for before_state, after_states in STATE_MOVES.items():
        assert before_state is None or isinstance(before_state, SampleState)
        assert all(isinstance(a, SampleState) for a in after_states)
    assert set(STATUS_MOVES) == {None, *SampleStatus}


@pytest.mark.parametrize(("before", "after"), STATUS_PAIRS, ids=str)
def test_status_pair(before: SampleStatus | None, after: SampleStatus) -> None:
    allowed = after in STATUS_MOVES[before]
    assert allowed_status(before, after) is allowed
    sample = FakeSample(status=before.value if before else None)
    if before == after:
        assert move(sample, status=after) == [] and sample.history == []
    elif allowed:
        (entry,) = move(sample, status=after)
        assert sample.status == after.value
        assert sample.history == [entry]
        assert (entry.field, entry.before, entry.after) == (
            "status",
            sample_value(before),
            after.value,
        )
        assert (entry.at, entry.actor, entry.reason) == (AT, Part.QUARANTINE_SERVER, "test")
    else:
        with pytest.raises(IllegalTransition):
            move(sample, status=after)
        assert sample.status == sample_value(before) and sample.history == []


@pytest.mark.parametrize(("before", "after"), STATE_PAIRS, ids=str)
def test_state_pair(before: SampleState | None, after: SampleState) -> None:
    allowed = expected_state_move(before, after)
    assert allowed_state(before, after) is allowed
    sample = FakeSample(state=sample_value(before))
    if before == after:
        assert move(sample, state=after) == []
    elif allowed:
        (entry,) = move(sample, state=after)
        assert (sample.state, entry.field, entry.before) == (
            after.value,
            "state",
            sample_value(before),
        )
        assert sample.history == [entry]
    else:
        with pytest.raises(IllegalTransition):
            move(sample, state=after)
        assert sample.state == sample_value(before) and sample.history == []


@pytest.mark.parametrize(("before", "after"), STATE_PAIRS, ids=str)
def test_reported_state_pair(before: SampleState | None, after: SampleState) -> None:
    """A mirror sees only some steps: any jump, except out of a final state."""
    if before is not None and before.is_final:
        expected = after in STATE_MOVES.get(before, frozenset())
    else:
        expected = True
    assert allowed_state(before, after, reported=True) is expected


def sample_value(value: SampleStatus | SampleState | None) -> str | None:
    return value.value if value is not None else None


def test_quarantined_cannot_jump_to_installed() -> None:
    sample = FakeSample(status="quarantined")
    with pytest.raises(IllegalTransition, match="quarantined"):
        move(sample, status=S.INSTALLED)
    assert sample.status == "quarantined"


def test_new_sample_starts_quarantined_only() -> None:
    assert allowed_status(None, S.QUARANTINED)
    assert not allowed_status(None, S.RELEASED)


def test_installed_only_restarts() -> None:
    assert STATUS_MOVES[S.INSTALLED] == {S.RESTART}


@pytest.mark.parametrize("final", sorted(s for s in SampleState if s.is_final))
def test_final_state_never_changes_except_infected_to_misfired(final: SampleState) -> None:
    for after in SampleState:
        expected = final is T.INFECTED and after is T.MISFIRED
        assert allowed_state(final, after) is expected
        assert allowed_state(final, after, reported=True) is expected


def test_infected_may_become_misfired_once() -> None:
    sample = FakeSample(state="infected")
    move(sample, state=T.MISFIRED)
    assert sample.state == "misfired"
    with pytest.raises(IllegalTransition):
        move(sample, state=T.INFECTED)


def test_reported_mirror_may_skip_steps_but_not_leave_final() -> None:
    sample = FakeSample(state="receiving")
    with pytest.raises(IllegalTransition):
        move(sample, state=T.BINARY_SCORING)
    move(sample, state=T.BINARY_SCORING, reported=True)
    move(sample, state=T.INFECTED, reported=True)
    with pytest.raises(IllegalTransition):
        move(sample, state=T.CLASSIFYING, reported=True)
    assert [e.after for e in sample.history] == ["binaryScoring", "infected"]


def test_status_and_state_together_leave_two_lines_in_order() -> None:
    sample = FakeSample(status="submitted", state="imported")
    entries = move(sample, status=S.NEEDED, state=T.CLASSIFYING)
    assert [e.field for e in entries] == ["status", "state"]
    assert sample.history == entries
    assert (sample.status, sample.state) == ("needed", "classifying")


def test_refused_state_also_cancels_the_allowed_status() -> None:
    sample = FakeSample(status="submitted", state="uninfected")
    with pytest.raises(IllegalTransition):
        move(sample, status=S.UNNEEDED, state=T.INFECTED)
    assert (sample.status, sample.state, sample.history) == ("submitted", "uninfected", [])


def test_history_accumulates_along_a_full_path() -> None:
    sample = FakeSample()
    path = [
        S.QUARANTINED,
        S.RELEASED,
        S.SUBMITTED,
        S.NEEDED,
        S.DISTRIBUTE,
        S.DISTRIBUTED,
        S.INSTALLED,
    ]
    for status in path:
        move(sample, status=status)
    assert [e.after for e in sample.history] == [s.value for s in path]
    assert [e.before for e in sample.history] == [None] + [s.value for s in path[:-1]]


def test_a_binary_analysis_path_is_allowed_step_by_step() -> None:
    sample = FakeSample()
    path = [
        T.RECEIVING, T.ACCEPTED, T.IMPORTING, T.IMPORTED, T.CLASSIFYING, T.BINARY,
        T.BINARY_WAIT, T.BINARY_CONTROLLING, T.BINARY_REPLICATING, T.BINARY_SCORING,
        T.SIGNATURES, T.LOCKING, T.INCR_BUILDING, T.INCR_UNIT_TESTING, T.UNLOCKING,
        T.ARCHIVE, T.ARCHIVING, T.INFECTED,
    ]  # fmt: skip
    for state in path:
        move(sample, state=state)
    assert len(sample.history) == len(path)


def _reachable(start: object, step: object, universe: list) -> set:  # type: ignore[type-arg]
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for nxt in universe:
            if nxt not in seen and step(current, nxt):  # type: ignore[operator]
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_state_is_reachable_from_a_new_submission() -> None:
    reached = _reachable(None, allowed_state, list(SampleState))
    assert reached - {None} == set(SampleState)


def test_every_status_is_reachable_from_a_new_sample() -> None:
    reached = _reachable(None, allowed_status, list(SampleStatus))
    assert reached - {None} == set(SampleStatus)


@pytest.mark.parametrize("state", [s for s in SampleState if not s.is_final])
def test_every_open_state_can_finish_through_written_moves(state: SampleState) -> None:
    """Without the error/abort escapes: the written table alone leads to a final state."""
    reached = _reachable(
        state, lambda b, a: a in STATE_MOVES.get(b, frozenset()), list(SampleState)
    )
    assert any(s.is_final for s in reached)


@pytest.mark.parametrize("status", list(SampleStatus))
def test_every_status_can_start_over(status: SampleStatus) -> None:
    reached = _reachable(status, allowed_status, list(SampleStatus))
    assert S.QUARANTINED in reached


def test_groups_are_respected_by_the_table() -> None:
    """Nothing goes back into transit once the back office has the sample."""
    for before, afters in STATE_MOVES.items():
        if before is not None and before.group in (StateGroup.PENDING, StateGroup.ACTIVE):
            assert not any(a.group is StateGroup.TRANSIT for a in afters)


@dataclass
class StateOnly:
    """A record that keeps a state only (a gateway submission, a back-office analysis)."""

    state: str | None = None
    history: list[Transition] = field(default_factory=list)

    def record_transition(self, entry: Transition) -> None:
        self.history.append(entry)


def test_a_state_only_record_moves_its_state_and_refuses_a_status() -> None:
    record = StateOnly()
    transition(record, at=AT, actor=Part.GATEWAY, reason="new", state=T.RECEIVING)
    assert record.state == "receiving" and [h.field for h in record.history] == ["state"]
    with pytest.raises(TypeError, match="keeps no status"):
        transition(record, at=AT, actor=Part.GATEWAY, reason="x", status=S.QUARANTINED)
    assert record.state == "receiving" and len(record.history) == 1

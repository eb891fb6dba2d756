"""Every enum value of the shared vocabulary, checked against the seed tables."""

from __future__ import annotations

import pytest

from dis_core.vocabulary import (
    AlertEvent,
    NextMove,
    SampleError,
    SampleState,
    SampleStatus,
    StateGroup,
    settled,
)
from dis_core.vocabulary.parts import Part
from dis_core.vocabulary.state import FINAL_STATES

from . import seed

SEED_GROUPS = {
    StateGroup.FINAL: seed.FINAL_STATES,
    StateGroup.TRANSIT: seed.TRANSIT_STATES,
    StateGroup.PENDING: seed.PENDING_STATES,
    StateGroup.ACTIVE: seed.ACTIVE_STATES,
}
SEED_STATE_GROUP = {name: group for group, names in SEED_GROUPS.items() for name in names}


def test_seed_lists_have_the_seed_counts() -> None:
    assert len(seed.status_names()) == 14
    assert len(SEED_STATE_GROUP) == 15 + 3 + 5 + 20
    assert len(seed.ERRORS) == 16
    assert len(seed.ALERT_EVENTS) == 23


def test_statuses_are_exactly_table_a1() -> None:
    assert sorted(s.value for s in SampleStatus) == sorted(seed.status_names())


@pytest.mark.parametrize("status", list(SampleStatus))
def test_status_has_a_meaning(status: SampleStatus) -> None:
    assert status.meaning.strip()
    assert status.meaning.endswith(".")


def test_states_are_exactly_tables_a2_to_a5() -> None:
    assert sorted(s.value for s in SampleState) == sorted(SEED_STATE_GROUP)


@pytest.mark.parametrize("group", list(StateGroup))
def test_each_group_holds_exactly_its_seed_table(group: StateGroup) -> None:
    members = sorted(s.value for s in SampleState if s.group is group)
    assert members == sorted(SEED_GROUPS[group])


@pytest.mark.parametrize("state", list(SampleState))
def test_state_group_meaning_and_finality(state: SampleState) -> None:
    assert state.group is SEED_STATE_GROUP[state.value]
    assert state.is_final is (state.value in seed.FINAL_STATES)
    assert (state in FINAL_STATES) is state.is_final
    assert state.meaning.strip()


def test_errors_are_exactly_table_a6() -> None:
    assert sorted(e.value for e in SampleError) == sorted(seed.ERRORS)


@pytest.mark.parametrize("error", list(SampleError))
def test_error_has_a_meaning(error: SampleError) -> None:
    assert error.meaning.strip()


def test_alert_events_are_exactly_table_3_2() -> None:
    assert len(AlertEvent) == 23
    assert [e.title for e in AlertEvent] == list(seed.ALERT_EVENTS)


@pytest.mark.parametrize("event", list(AlertEvent))
def test_event_has_title_meaning_and_stable_identifier(event: AlertEvent) -> None:
    assert event.meaning.strip() and event.meaning != event.title
    assert event.value == event.value.lower() and " " not in event.value
    assert event.concerns_sample is event.title.startswith("Sample:")


@pytest.mark.parametrize("enum", [SampleStatus, SampleState, SampleError, AlertEvent, Part])
def test_values_are_unique_and_round_trip_from_text(enum: type) -> None:
    values = [member.value for member in enum]  # type: ignore[attr-defined]
    assert len(values) == len(set(values))
    for value in values:
        assert enum(value).value == value


def test_unknown_values_are_refused() -> None:
    for enum in (SampleStatus, SampleState, SampleError, AlertEvent):
        with pytest.raises(ValueError):
            enum("no-such-value")


@pytest.mark.parametrize("state", list(SampleState))
def test_every_final_state_and_only_those_say_what_comes_next(state: SampleState) -> None:
    assert (state.next_move is not None) is state.is_final
    assert settled(state) is state.is_final
    if state.repair_works:
        assert state.next_move is NextMove.DEFINITIONS


def test_the_meanings_of_the_ends() -> None:
    by_move = {m: {s.value for s in SampleState if s.next_move is m} for m in NextMove}
    assert by_move[NextMove.DEFINITIONS] == {
        "infected", "norepair", "unsubmittable", "delete", "restore", "misfired",
    }  # fmt: skip
    assert by_move[NextMove.NOTHING] == {"uninfected", "uninfectable", "nodetect", "encrypted"}
    assert by_move[NextMove.PERSON] == {"declined", "attention"}
    assert by_move[NextMove.FAILURE] == {"error", "abort", "broken"}
    assert {s.value for s in SampleState if s.repair_works} == {"infected", "misfired"}
    assert {s.value for s in SampleState if not s.verdict_reusable} == {
        "error",
        "abort",
        "declined",
    }
    assert {s.value for s in SampleStatus if s.troubled} == {"attention", "error", "not installed"}
    assert settled(None) is False


def test_engine_holding_states_are_the_wait_control_replicate_loop_of_each_kind() -> None:
    held = {s.value for s in SampleState if s.holds_engine}
    assert held == {
        f"{kind}{step}"
        for kind in ("binary", "macro")
        for step in ("Wait", "Controlling", "Replicating")
    }


def test_scan_results_are_the_values_the_x_scan_result_attribute_accepts() -> None:
    from dis_core.vocabulary.attributes import lookup
    from dis_core.vocabulary.kinds import ScanResult

    attribute = lookup("X-Scan-Result")
    assert attribute is not None
    for result in ScanResult:
        assert attribute.parse(result.value) == result.value
    with pytest.raises(ValueError):
        attribute.parse("clean")


def test_known_ends_of_detection_categories() -> None:
    from dis_core.vocabulary.kinds import DetectionCategory as C

    ends = {c.value: c.known_end for c in C}
    assert ends == {
        "virus": None, "heuristic": None, "threat": SampleState.UNSUBMITTABLE,
        "artifact": SampleState.DELETE, "test": SampleState.DELETE,
    }  # fmt: skip


def test_every_error_that_carries_a_sample_error_is_a_coded_error() -> None:
    from backoffice.pipeline.errors import PermanentError
    from dis_core.definitions.errors import DefinitionError
    from dis_core.protocol.errors import ProtocolError
    from dis_core.vocabulary import CodedError
    from dis_core.vocabulary.attributes import AttributeProblem
    from quarantine_server.definitions import FetchFailed
    from quarantine_server.gateway import GatewayRefused

    made = [
        PermanentError(SampleError.CONTENT, "d"), DefinitionError(SampleError.CONTENT, "d"),
        ProtocolError(SampleError.CONTENT, "d"), AttributeProblem(SampleError.CONTENT, "X-A", "d"),
        FetchFailed(SampleError.CONTENT, "d"), GatewayRefused(400, SampleError.CONTENT, "d"),
    ]  # fmt: skip
    for error in made:
        assert isinstance(error, CodedError)
        assert (error.error, error.detail) == (SampleError.CONTENT, "d")
        assert "content" in str(error)
    assert str(made[3]) == "content: X-A: d" and str(made[5]) == "400 content: d"

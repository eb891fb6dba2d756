"""The one guarded way to change a sample's status or state, and the history it leaves.

Every part keeps status and/or state on its own records; all of them change those values
through :func:`transition`, which refuses a move that is not written in the tables below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dis_core.vocabulary import SampleState, SampleStatus, StateGroup
from dis_core.vocabulary.parts import Part

S = SampleStatus
T = SampleState

# Status moves on the Quarantine Server. Keys are the current status (None: new sample).
STATUS_MOVES: dict[SampleStatus | None, frozenset[SampleStatus]] = {
    None: frozenset({S.QUARANTINED}),
    S.QUARANTINED: frozenset(
        {S.HELD, S.RELEASED, S.UNNEEDED, S.DISTRIBUTE, S.AVAILABLE, S.ERROR, S.ATTENTION}
    ),
    S.HELD: frozenset(
        {S.RELEASED, S.UNNEEDED, S.DISTRIBUTE, S.AVAILABLE, S.ERROR, S.ATTENTION, S.RESTART}
    ),
    S.RELEASED: frozenset(
        {
            S.SUBMITTED,
            S.HELD,
            S.UNNEEDED,
            S.DISTRIBUTE,
            S.AVAILABLE,
            S.ERROR,
            S.ATTENTION,
            S.RESTART,
        }
    ),
    S.SUBMITTED: frozenset(
        {
            S.NEEDED,
            S.UNNEEDED,
            S.DISTRIBUTE,
            S.AVAILABLE,
            S.RELEASED,
            S.ERROR,
            S.ATTENTION,
            S.RESTART,
        }
    ),
    S.NEEDED: frozenset({S.AVAILABLE, S.DISTRIBUTE, S.UNNEEDED, S.ERROR, S.ATTENTION, S.RESTART}),
    S.AVAILABLE: frozenset({S.DISTRIBUTE, S.ERROR, S.ATTENTION, S.RESTART}),
    S.DISTRIBUTE: frozenset(
        {S.DISTRIBUTED, S.NOT_INSTALLED, S.AVAILABLE, S.ERROR, S.ATTENTION, S.RESTART}
    ),
    S.DISTRIBUTED: frozenset({S.INSTALLED, S.NOT_INSTALLED, S.ERROR, S.ATTENTION, S.RESTART}),
    S.INSTALLED: frozenset({S.RESTART}),
    S.NOT_INSTALLED: frozenset({S.DISTRIBUTE, S.RESTART}),
    S.UNNEEDED: frozenset({S.RESTART}),
    S.ATTENTION: frozenset({S.RESTART, S.RELEASED, S.HELD}),
    S.ERROR: frozenset({S.RESTART, S.RELEASED, S.HELD, S.ATTENTION}),
    S.RESTART: frozenset({S.QUARANTINED}),
}

_ALWAYS_FROM_ACTIVE = frozenset({T.ERROR, T.ABORT, T.ATTENTION, T.DEFER})
_FILTER_ENDS = frozenset(
    {
        T.INFECTED,
        T.UNINFECTED,
        T.NOREPAIR,
        T.UNSUBMITTABLE,
        T.DECLINED,
        T.MISFIRED,
        T.NODETECT,
        T.DELETE,
        T.RESTORE,
    }
)
_CLASSIFIED_ENDS = frozenset({T.UNINFECTABLE, T.ENCRYPTED, T.NODETECT, T.DECLINED})
_NO_REPLICATION_ENDS = frozenset(
    {T.UNINFECTED, T.UNSUBMITTABLE, T.NODETECT, T.DELETE, T.RESTORE, T.SIGNATURES}
)
_ARCHIVED_ENDS = frozenset(
    {
        T.INFECTED,
        T.NOREPAIR,
        T.UNSUBMITTABLE,
        T.MISFIRED,
        T.UNINFECTED,
        T.BROKEN,
        T.DELETE,
        T.RESTORE,
    }
)


def _engine_moves(kind: str) -> dict[SampleState | None, frozenset[SampleState]]:
    """The controller/replicator/scorer loop is the same for binaries and macros."""
    ready, wait = T(kind), T(f"{kind}Wait")
    control, replicate, score = (
        T(f"{kind}Controlling"),
        T(f"{kind}Replicating"),
        T(f"{kind}Scoring"),
    )
    return {
        ready: frozenset({wait}),
        wait: frozenset({control}),
        control: frozenset({replicate}) | _NO_REPLICATION_ENDS - {T.SIGNATURES},
        # nothing replicated: back to the controller for other starting conditions, or an end
        replicate: frozenset({score, control}) | _NO_REPLICATION_ENDS,
        score: frozenset({T.SIGNATURES, T.NOREPAIR, T.UNSUBMITTABLE}),
    }


# State moves at the gateway and in the back office. None: a submission seen for the first time.
STATE_MOVES: dict[SampleState | None, frozenset[SampleState]] = {
    None: frozenset(
        {T.RECEIVING, T.IMPORTED, T.IMPORTING}
    ),  # the back office's own row starts at importing
    T.RECEIVING: frozenset({T.ACCEPTED, T.DECLINED}),
    T.ACCEPTED: frozenset({T.IMPORTING}) | _FILTER_ENDS,
    T.IMPORTING: frozenset({T.IMPORTED}),
    T.IMPORTED: frozenset({T.CLASSIFYING, T.RESCAN}),
    T.RESCAN: frozenset({T.CLASSIFYING}) | _FILTER_ENDS,
    T.DEFER: frozenset({T.DEFERRING}),
    T.DEFERRING: frozenset({T.DEFERRED}),
    # an analyst settles a deferred sample by hand, or sends it round again
    T.DEFERRED: frozenset({T.RESCAN, T.IMPORTED}) | _FILTER_ENDS | _CLASSIFIED_ENDS,
    T.CLASSIFYING: frozenset({T.BINARY, T.MACRO}) | _CLASSIFIED_ENDS,
    **_engine_moves("binary"),
    **_engine_moves("macro"),
    T.SIGNATURES: frozenset({T.LOCKING}),
    T.LOCKING: frozenset({T.INCR_BUILDING, T.FULL_BUILDING}),
    T.INCR_BUILDING: frozenset({T.INCR_UNIT_TESTING, T.UNLOCKING}),
    T.INCR_UNIT_TESTING: frozenset({T.UNLOCKING}),
    T.FULL_BUILDING: frozenset({T.FULL_UNIT_TESTING, T.UNLOCKING}),
    T.FULL_UNIT_TESTING: frozenset({T.UNLOCKING}),
    T.UNLOCKING: frozenset({T.ARCHIVE, T.BROKEN}),
    T.ARCHIVE: frozenset({T.ARCHIVING}),
    T.ARCHIVING: _ARCHIVED_ENDS,
    # a signature that hit this clean file was withdrawn in a later set
    T.INFECTED: frozenset({T.MISFIRED}),
}


class IllegalTransition(ValueError):
    """A status or state change that the tables above do not allow."""


class Tracked(Protocol):
    """A record whose status and/or state change through :func:`transition`.

    A record keeps only the fields its part owns: the Quarantine Server's samples have both,
    the gateway's submissions and the back office's analyses a state only.
    """

    def record_transition(self, entry: Transition) -> None: ...


@dataclass(frozen=True)
class Transition:
    """One line of a sample's history: when, what changed, from what, to what, by whom, why."""

    at: datetime
    field: str  # "status" or "state" ("action" in a history line that changes neither)
    before: str | None
    after: str
    actor: Part
    reason: str


def allowed_status(before: SampleStatus | None, after: SampleStatus) -> bool:
    return after in STATUS_MOVES.get(before, frozenset())


def allowed_state(
    before: SampleState | None, after: SampleState, *, reported: bool = False
) -> bool:
    """Whether a state move is legal.

    ``reported`` is for a part that mirrors a state another part owns (the Quarantine Server
    polling the gateway): it sees only some of the steps, so any jump is accepted except
    leaving a final state (the one exception, infected to misfired, stays allowed).
    """
    if before is not None and before.group is StateGroup.FINAL:
        return after in STATE_MOVES.get(before, frozenset())
    if reported or before is None and after in _ALWAYS_FROM_ACTIVE:
        return True
    if before is not None and after in _ALWAYS_FROM_ACTIVE and before.group is not StateGroup.FINAL:
        return True
    return after in STATE_MOVES.get(before, frozenset())


def transition(
    record: Tracked,
    *,
    at: datetime,
    actor: Part,
    reason: str,
    status: SampleStatus | None = None,
    state: SampleState | None = None,
    reported: bool = False,
) -> list[Transition]:
    """Move ``record`` to a new status and/or state, or raise :class:`IllegalTransition`.

    Both moves are checked before either is applied, so a refused call changes nothing.
    A move to the value the record already has is not a move and leaves no history.
    """
    planned = [
        entry
        for entry in (
            _status_move(record, status, at, actor, reason),
            _state_move(record, state, at, actor, reason, reported),
        )
        if entry is not None
    ]
    for entry in planned:
        setattr(record, entry.field, entry.after)
        record.record_transition(entry)
    return planned


def _status_move(
    record: Tracked, status: SampleStatus | None, at: datetime, actor: Part, reason: str
) -> Transition | None:
    if status is None or status == _current(record, "status"):
        return None
    now = _current(record, "status")
    before = SampleStatus(now) if now else None
    if not allowed_status(before, status):
        raise IllegalTransition(f"status {before} -> {status} is not allowed ({reason})")
    return Transition(at, "status", now, status.value, actor, reason)


def _state_move(
    record: Tracked,
    state: SampleState | None,
    at: datetime,
    actor: Part,
    reason: str,
    reported: bool,
) -> Transition | None:
    if state is None or state == _current(record, "state"):
        return None
    now = _current(record, "state")
    before = SampleState(now) if now else None
    if not allowed_state(before, state, reported=reported):
        raise IllegalTransition(f"state {before} -> {state} is not allowed ({reason})")
    return Transition(at, "state", now, state.value, actor, reason)


def _current(record: Tracked, field: str) -> str | None:
    """The record's status or state; a record that keeps no such field cannot be moved in it."""
    if not hasattr(record, field):
        raise TypeError(f"{type(record).__name__} keeps no {field}")
    value: str | None = getattr(record, field)
    return value

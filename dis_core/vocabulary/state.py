"""Sample state: where a submitted sample is in the vendor's analysis network."""

from enum import StrEnum


class StateGroup(StrEnum):
    """The four kinds of analysis state."""

    FINAL = "final"
    TRANSIT = "transit"
    PENDING = "pending"
    ACTIVE = "active"


class NextMove(StrEnum):
    """What a final analysis state asks of the Quarantine Server next."""

    DEFINITIONS = "definitions"  # definitions handle it: the sender needs the set that has them
    NOTHING = "nothing"  # harmless, or nothing to analyse: no definitions are needed
    PERSON = "person"  # refused or given up on: an administrator looks at it
    FAILURE = "failure"  # processing failed: an error is recorded on the sample


class SampleState(StrEnum):
    """Analysis state reported by the gateway and back office (seed Tables A-2 to A-5)."""

    # final
    ABORT = "abort"
    ATTENTION = "attention"
    BROKEN = "broken"
    DECLINED = "declined"
    ERROR = "error"
    INFECTED = "infected"
    MISFIRED = "misfired"
    NODETECT = "nodetect"
    NOREPAIR = "norepair"
    UNINFECTABLE = "uninfectable"
    UNINFECTED = "uninfected"
    UNSUBMITTABLE = "unsubmittable"
    ENCRYPTED = "encrypted"
    DELETE = "delete"
    RESTORE = "restore"
    # transit
    RECEIVING = "receiving"
    ACCEPTED = "accepted"
    IMPORTING = "importing"
    # pending
    IMPORTED = "imported"
    DEFER = "defer"
    DEFERRING = "deferring"
    DEFERRED = "deferred"
    RESCAN = "rescan"
    # active
    CLASSIFYING = "classifying"
    BINARY = "binary"
    BINARY_WAIT = "binaryWait"
    BINARY_CONTROLLING = "binaryControlling"
    BINARY_REPLICATING = "binaryReplicating"
    BINARY_SCORING = "binaryScoring"
    MACRO = "macro"
    MACRO_WAIT = "macroWait"
    MACRO_CONTROLLING = "macroControlling"
    MACRO_REPLICATING = "macroReplicating"
    MACRO_SCORING = "macroScoring"
    SIGNATURES = "signatures"
    LOCKING = "locking"
    INCR_BUILDING = "incrBuilding"
    INCR_UNIT_TESTING = "incrUnitTesting"
    FULL_BUILDING = "fullBuilding"
    FULL_UNIT_TESTING = "fullUnitTesting"
    UNLOCKING = "unlocking"
    ARCHIVE = "archive"
    ARCHIVING = "archiving"

    @property
    def group(self) -> StateGroup:
        return STATE_GROUPS[self]

    @property
    def is_final(self) -> bool:
        return self.group is StateGroup.FINAL

    @property
    def meaning(self) -> str:
        return STATE_MEANINGS[self]

    @property
    def next_move(self) -> NextMove | None:
        """What the server does with a sample that ended here (None: not final yet)."""
        return _NEXT_MOVES.get(self)

    @property
    def repair_works(self) -> bool:
        """The definitions for a sample that ended here detect it and can repair the file
        (False for the ends whose advice is to delete or restore it, and for non-final states)."""
        return self in (SampleState.INFECTED, SampleState.MISFIRED)

    @property
    def troubled(self) -> bool:
        """An end someone should look at: a failure or a refusal."""
        return self.next_move in (NextMove.PERSON, NextMove.FAILURE)

    @property
    def verdict_reusable(self) -> bool:
        """A later copy of the same file may take this outcome over instead of being analysed
        again: not after a failure a new try might avoid, nor a policy refusal that may lift."""
        return self not in (SampleState.ERROR, SampleState.ABORT, SampleState.DECLINED)

    @property
    def holds_engine(self) -> bool:
        """A sample in this state keeps a replication engine of its kind busy."""
        return self.value.startswith(("binary", "macro")) and self.value.endswith(
            ("Wait", "Controlling", "Replicating")
        )


def settled(state: SampleState | str | None) -> bool:
    """Whether the analysis of a sample in ``state`` is over (None: nothing reported yet)."""
    return state is not None and SampleState(state).is_final


_GROUP_MEMBERS: dict[StateGroup, tuple[str, ...]] = {
    StateGroup.FINAL: (
        "abort",
        "attention",
        "broken",
        "declined",
        "error",
        "infected",
        "misfired",
        "nodetect",
        "norepair",
        "uninfectable",
        "uninfected",
        "unsubmittable",
        "encrypted",
        "delete",
        "restore",
    ),
    StateGroup.TRANSIT: ("receiving", "accepted", "importing"),
    StateGroup.PENDING: ("imported", "defer", "deferring", "deferred", "rescan"),
}

STATE_GROUPS: dict[SampleState, StateGroup] = {
    state: next(
        (g for g, names in _GROUP_MEMBERS.items() if state.value in names), StateGroup.ACTIVE
    )
    for state in SampleState
}

FINAL_STATES = frozenset(s for s in SampleState if s.group is StateGroup.FINAL)

_NEXT_MOVES: dict[SampleState, NextMove] = {
    **dict.fromkeys(
        (
            SampleState.INFECTED,
            SampleState.NOREPAIR,
            SampleState.UNSUBMITTABLE,
            SampleState.DELETE,
            SampleState.RESTORE,
            SampleState.MISFIRED,
        ),
        NextMove.DEFINITIONS,
    ),
    **dict.fromkeys(
        (
            SampleState.UNINFECTED,
            SampleState.UNINFECTABLE,
            SampleState.NODETECT,
            SampleState.ENCRYPTED,
        ),
        NextMove.NOTHING,
    ),
    **dict.fromkeys((SampleState.DECLINED, SampleState.ATTENTION), NextMove.PERSON),
    **dict.fromkeys((SampleState.ERROR, SampleState.ABORT, SampleState.BROKEN), NextMove.FAILURE),
}

STATE_MEANINGS: dict[SampleState, str] = {
    SampleState.ABORT: "An internal fault stopped transport or analysis; the traceback is kept.",
    SampleState.ATTENTION: "Needs a human at the vendor; automation gave up.",
    SampleState.BROKEN: "A virus was found but building its definitions failed.",
    SampleState.DECLINED: "Refused by policy at the gateway.",
    SampleState.ERROR: "Processing failed with a recorded error.",
    SampleState.INFECTED: "A virus was found and definitions that detect and repair it exist.",
    SampleState.MISFIRED: "An earlier signature wrongly flagged this clean file; newer sets fix it.",
    SampleState.NODETECT: "Not analysed further: nothing suspicious was found in it.",
    SampleState.NOREPAIR: "A virus was found but the host cannot be repaired; delete the file.",
    SampleState.UNINFECTABLE: "Holds no executable content, so no virus can live in it.",
    SampleState.UNINFECTED: "Analysed; no virus replicated from it.",
    SampleState.UNSUBMITTABLE: "Known malicious but not a virus (worm, trojan); delete it.",
    SampleState.ENCRYPTED: "Encrypted or password-protected; cannot be analysed as it is.",
    SampleState.DELETE: "Made by or made of malicious code; the only safe action is deletion.",
    SampleState.RESTORE: "Damaged beyond cleaning; restore the file from a backup.",
    SampleState.RECEIVING: "The gateway is receiving the sample.",
    SampleState.ACCEPTED: "The gateway accepted the sample; not yet handed to the back office.",
    SampleState.IMPORTING: "The back office is taking the sample in.",
    SampleState.IMPORTED: "In the back office, waiting for analysis.",
    SampleState.DEFER: "Automation cannot settle it; it will go to the expert desk.",
    SampleState.DEFERRING: "Being handed to the expert desk.",
    SampleState.DEFERRED: "Waiting on the expert desk for an analyst.",
    SampleState.RESCAN: "Newer definitions exist in the back office; it is scanned again.",
    SampleState.CLASSIFYING: "The back office is working out what kind of file it is.",
    SampleState.BINARY: "Classified as a program; waiting for the binary controller.",
    SampleState.BINARY_WAIT: "Waiting for a free binary replication engine.",
    SampleState.BINARY_CONTROLLING: "Choosing goats, dates and events for binary replication.",
    SampleState.BINARY_REPLICATING: "Running in the binary emulator against goat programs.",
    SampleState.BINARY_SCORING: "Goats were infected; choosing detection and repair signatures.",
    SampleState.MACRO: "Classified as a document with macros; waiting for the macro controller.",
    SampleState.MACRO_WAIT: "Waiting for a free macro replication engine.",
    SampleState.MACRO_CONTROLLING: "Choosing goat documents and events for macro replication.",
    SampleState.MACRO_REPLICATING: "Running in the simulated Office against goat documents.",
    SampleState.MACRO_SCORING: "Goat documents were infected; choosing macro signatures.",
    SampleState.SIGNATURES: "Signatures chosen; waiting for the definition builder.",
    SampleState.LOCKING: "Taking the definition builder's exclusive lock.",
    SampleState.INCR_BUILDING: "Adding the new signatures to the current definitions.",
    SampleState.INCR_UNIT_TESTING: "Testing the incrementally built definitions.",
    SampleState.FULL_BUILDING: "Building a complete definition set.",
    SampleState.FULL_UNIT_TESTING: "Testing the complete definition set.",
    SampleState.UNLOCKING: "Releasing the definition builder's lock.",
    SampleState.ARCHIVE: "Waiting to archive the analysis files.",
    SampleState.ARCHIVING: "Archiving goats, infected goats, scores and the chosen signature.",
}

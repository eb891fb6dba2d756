"""What the back office's stages learn about a sample and hand on to the stages after them.

Each stage returns the findings it made (an :class:`Findings` with only its own fields set);
the runner merges them into the sample's stored findings, and the next stage reads them back
typed. Stored as JSON on the analysis row, with only the fields that were ever set.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, TypedDict

Plan = dict[
    str, Any
]  # a starting condition for the emulator (backoffice.analysis.conditions.plans)
Round = dict[str, Any]  # one replication attempt's summary, with the plan's label


class Mode(StrEnum):
    """What the replicator concluded the sample does."""

    INFECTION = "infection"  # goats were infected: a virus to score
    THREAT = "threat"  # no infection, but malicious actions: a threat to score
    MISFIRE = "misfire"  # a heuristic signature fires on a file that does nothing malicious


class BuildInfo(TypedDict):
    """The definition set built for the sample, as the unit tester needs it."""

    sequence: int
    kind: str
    certified: bool
    new: list[str]
    removed: list[str]


@dataclass
class Findings:
    classification: str | None = None  # the classifier's description of the content
    plans: list[Plan] | None = None  # the starting conditions to try, in order
    plan: Plan | None = None  # the one the current round uses
    rounds: list[Round] | None = None  # every replication round so far
    mode: Mode | None = None
    threat_actions: list[str] | None = None  # malicious actions seen without infection
    signature: dict[str, Any] | None = None  # the signature chosen by the scorer
    end: str | None = None  # the final state the analysis reaches once definitions are out
    candidates_tried: int | None = None
    remove: list[str] | None = None  # signature ids the next set withdraws
    deferred_because: str | None = None  # why the automation handed it to an analyst
    build: BuildInfo | None = None
    build_failure: str | None = None  # why no set was published for it
    unit_tests: dict[str, Any] | None = None  # the unit tester's report

    @classmethod
    def from_json(cls, text: str | None) -> Findings:
        stored: dict[str, Any] = json.loads(text or "{}")
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in stored.items() if name in known}
        if values.get("mode") is not None:
            values["mode"] = Mode(values["mode"])
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.set_fields(), sort_keys=True)

    def set_fields(self) -> dict[str, Any]:
        """The fields that hold a value (None means the stage did not find that)."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def merged(self, newer: Findings) -> Findings:
        """These findings with ``newer``'s set fields laid over them."""
        return Findings(**{**self.set_fields(), **newer.set_fields()})

    def get(self, name: str) -> Any:
        """One finding by name (for the archive's analysis.json and templates)."""
        return getattr(self, name)

"""What a stage is: one job for the samples sitting in some states, run by the shared runner.

A stage never touches the database or the state itself. It gets a :class:`Job` (a snapshot
of the sample and the services), does its work, and returns an :class:`Outcome`: the states
to enter next (in order, each recorded in the history by the runner), fields to set on the
sample, findings to keep for later stages, or "come back later" (a busy pool or lock).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from backoffice.pipeline.errors import RetryableError
from backoffice.services import Services
from backoffice.store.findings import Findings
from backoffice.store.models import SampleKind
from backoffice.store.workspace import Workspace
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import EngineKind


@dataclass(frozen=True)
class Move:
    state: SampleState
    reason: str


@dataclass
class Outcome:
    moves: list[Move] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)  # Analysis columns to set
    findings: Findings = field(default_factory=Findings)  # merged into Analysis.findings
    retry_after_s: float | None = None  # stay where it is; try again after this long

    @classmethod
    def go(cls, state: SampleState, reason: str, **updates: Any) -> Outcome:
        return cls(moves=[Move(state, reason)], updates=updates)

    @classmethod
    def later(cls, seconds: float) -> Outcome:
        return cls(retry_after_s=seconds)

    def then(self, state: SampleState, reason: str) -> Outcome:
        self.moves.append(Move(state, reason))
        return self


@dataclass
class Job:
    """One step's view of a sample (a snapshot taken when the step began)."""

    cookie: str
    state: SampleState
    kind: SampleKind | None
    findings: Findings
    control_round: int
    services: Services
    content_file: str
    content_key: bytes
    sample_checksum: str
    worker: str

    @cached_property
    def content(self) -> bytes:
        try:
            return self.services.store.samples.get(self.content_file, self.content_key)
        except FileNotFoundError:  # restored from backup or on a slow share: try again later
            raise RetryableError(f"sample file {self.content_file} is missing") from None

    @property
    def workspace(self) -> Workspace:
        return self.services.workspace(self.cookie)

    @property
    def engine_kind(self) -> EngineKind:
        """Which engine family works on this sample."""
        if self.kind is None or self.kind.value not in tuple(EngineKind):
            raise ValueError(f"sample {self.cookie} has no engine kind ({self.kind})")
        return EngineKind(self.kind.value)

    def kind_state(self, suffix: str) -> SampleState:
        """binaryWait / macroWait etc. for this sample's kind."""
        return SampleState(self.engine_kind + suffix)


class Stage(ABC):
    """Base of every stage: its name, the states it picks samples up from, and its work."""

    name: ClassVar[str]
    picks_up: ClassVar[frozenset[SampleState]]

    def working_state(self, job: Job) -> SampleState | None:
        """The state entered (and committed, so it shows) before the work starts."""
        return None

    @abstractmethod
    def run(self, job: Job) -> Outcome:
        """The stage's work on one sample (each stage class says what it is)."""

    def cleanup(self, job: Job) -> None:  # noqa: B027  # a hook: most stages hold nothing
        """Give back what the step held when it failed (pools, locks)."""

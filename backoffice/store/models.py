"""The back office's database: one row per imported sample, its history, and builder bookkeeping.

The sample bytes themselves are not in the database: they sit scrambled in a folder (see
:mod:`backoffice.store.samples`) and the row keeps the per-sample scrambling key.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, mapped_column, relationship

from backoffice.store.findings import Findings
from dis_core.analysis import AnalysisResult
from dis_core.db import UtcDateTime
from dis_core.history import HistoryLine
from dis_core.lifecycle import Transition
from dis_core.vocabulary import SampleError, SampleState


class Base(DeclarativeBase):
    """Declarative base of the back-office database (its own, separate from other parts)."""


def _checked(enum_cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class SampleKind(StrEnum):
    """What the classifier decided the content is."""

    BINARY = "binary"
    MACRO = "macro"
    DATA = "data"
    ENCRYPTED = "encrypted"
    UNSUPPORTED = "unsupported"


class Analysis(Base):
    """One sample in the back office, keyed by the gateway's cookie."""

    __tablename__ = "analysis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cookie: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    sample_checksum: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_file: Mapped[str] = mapped_column(String(200))  # name inside the samples folder
    content_key: Mapped[bytes] = mapped_column(LargeBinary(32))  # scrambling key of that file
    attributes_json: Mapped[str] = mapped_column(Text, default="{}")
    # state only: the Quarantine Server's status is not the back office's business
    state: Mapped[str | None] = mapped_column(_checked(SampleState, "analysis_state"), index=True)
    kind: Mapped[SampleKind | None] = mapped_column(
        _checked(SampleKind, "analysis_kind"), nullable=True
    )
    virus_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    family: Mapped[str | None] = mapped_column(String(60), nullable=True)
    signature_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    repairable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    result: Mapped[AnalysisResult] = composite(
        AnalysisResult, "virus_name", "signature_id", "sequence", "repairable"
    )
    error: Mapped[SampleError | None] = mapped_column(
        _checked(SampleError, "analysis_error"), nullable=True
    )
    error_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    findings_json: Mapped[str] = mapped_column(Text, default="{}")  # stage results between steps
    control_round: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    date_imported: Mapped[datetime] = mapped_column(UtcDateTime)
    date_updated: Mapped[datetime] = mapped_column(UtcDateTime)
    date_analyzed: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    history: Mapped[list[StateChange]] = relationship(
        back_populates="analysis", order_by="StateChange.id", cascade="all, delete-orphan"
    )

    def record_transition(self, entry: Transition) -> None:
        """Called by :func:`dis_core.lifecycle.transition`: keep the history line."""
        self.history.append(StateChange.of(entry))
        self.date_updated = entry.at
        if entry.field == "state" and SampleState(entry.after).is_final:
            self.date_analyzed = entry.at

    @property
    def attributes(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads(self.attributes_json or "{}")
        return loaded

    @property
    def findings(self) -> Findings:
        return Findings.from_json(self.findings_json)

    def keep_findings(self, newer: Findings) -> None:
        """Lay a stage's new findings over the stored ones."""
        self.findings_json = self.findings.merged(newer).to_json()

    def state_path(self) -> list[str]:
        """The states this sample went through, in order."""
        return [h.after for h in self.history if h.field == "state"]


class StateChange(HistoryLine, Base):
    """One line of a sample's history (what :class:`dis_core.lifecycle.Transition` says)."""

    __tablename__ = "state_change"

    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("analysis.id", ondelete="CASCADE"), index=True
    )
    analysis: Mapped[Analysis] = relationship(back_populates="history")


class BuiltSignature(Base):
    """A signature the back office produced, with the unit tests it must keep passing."""

    __tablename__ = "built_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature_id: Mapped[str] = mapped_column(String(40), unique=True)
    cookie: Mapped[str | None] = mapped_column(String(64), nullable=True)
    virus_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    added_in: Mapped[int] = mapped_column(Integer)
    removed_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    test_dir: Mapped[str | None] = mapped_column(
        String(300), nullable=True
    )  # archive folder with goats


class Lock(Base):
    """A named exclusive lock held in a database row (the definition builder's lock)."""

    __tablename__ = "lock"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    holder: Mapped[str | None] = mapped_column(String(80), nullable=True)
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EngineSlot(Base):
    """One replication engine of a pool; a sample holds it from Wait until Scoring."""

    __tablename__ = "engine_slot"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), CheckConstraint("kind IN ('binary', 'macro')"))
    number: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)  # cookie
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BuildRecord(Base):
    """One definition build (incremental or full), its outcome, and the sequence it used."""

    __tablename__ = "build_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(
        String(16), CheckConstraint("kind IN ('full', 'incremental')")
    )
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(
        String(16), CheckConstraint("outcome IN ('published', 'abandoned')")
    )
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)

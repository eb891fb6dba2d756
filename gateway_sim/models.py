"""The gateway's tracking database: submissions, their history, their errors, and faults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, mapped_column, relationship

from dis_core.analysis import AnalysisResult
from dis_core.db import UtcDateTime, one_of
from dis_core.history import HistoryLine
from dis_core.lifecycle import Transition
from dis_core.vocabulary import SampleError, SampleState, settled


def _one_of(column: str, values: list[str]) -> CheckConstraint:
    return one_of(column, values, name=f"ck_{column}")


STATE_VALUES = [s.value for s in SampleState]
ERROR_VALUES = [e.value for e in SampleError]


class Base(DeclarativeBase):
    pass


class Submission(Base):
    """One submit request as the gateway saw it.

    Several submissions of the same sample share one cookie; exactly one of them (``owner``)
    carries the analysis, the others mirror its state.
    """

    __tablename__ = "submissions"
    __table_args__ = (_one_of("state", STATE_VALUES), _one_of("error", ERROR_VALUES))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cookie: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[bool] = mapped_column(Boolean, default=True)
    # state only: the Quarantine Server's status is not the gateway's business
    state: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    error: Mapped[str | None] = mapped_column(String(32), default=None)
    error_detail: Mapped[str | None] = mapped_column(Text, default=None)
    settled_by: Mapped[str | None] = mapped_column(String(32), default=None)
    sample_checksum: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    content_checksum: Mapped[str | None] = mapped_column(String(64), default=None)
    sample_size: Mapped[int | None] = mapped_column(Integer, default=None)
    content_length: Mapped[int | None] = mapped_column(Integer, default=None)
    bytes_received: Mapped[int] = mapped_column(Integer, default=0)
    content_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    customer_name: Mapped[str | None] = mapped_column(String(1024), default=None)
    customer_account: Mapped[str | None] = mapped_column(String(1024), default=None, index=True)
    contact_name: Mapped[str | None] = mapped_column(String(1024), default=None)
    contact_telephone: Mapped[str | None] = mapped_column(String(1024), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(1024), default=None)
    quarantine_server: Mapped[str | None] = mapped_column(String(1024), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    virus_name: Mapped[str | None] = mapped_column(String(256), default=None)
    signature_id: Mapped[str | None] = mapped_column(String(64), default=None)
    sequence: Mapped[int | None] = mapped_column(Integer, default=None)
    repairable: Mapped[bool | None] = mapped_column(Boolean, default=None)
    result: Mapped[AnalysisResult] = composite(
        AnalysisResult, "virus_name", "signature_id", "sequence", "repairable"
    )
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    date_analyzed: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    history: Mapped[list[HistoryRow]] = relationship(
        back_populates="submission", order_by="HistoryRow.id", cascade="all, delete-orphan"
    )
    errors: Mapped[list[ErrorRow]] = relationship(
        back_populates="submission", order_by="ErrorRow.id", cascade="all, delete-orphan"
    )

    def record_transition(self, entry: Transition) -> None:
        self.updated_at = entry.at
        self.history.append(HistoryRow.of(entry))

    def record_error(self, at: datetime, error: SampleError, detail: str) -> None:
        self.error = error.value
        self.error_detail = detail
        self.errors.append(ErrorRow(at=at, error=error.value, detail=detail))

    @property
    def is_final(self) -> bool:
        return settled(self.state)


class HistoryRow(HistoryLine, Base):
    """One state change of a submission, with its time, actor and reason."""

    __tablename__ = "submission_history"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    submission: Mapped[Submission] = relationship(back_populates="history")


class ErrorRow(Base):
    """One error met while handling a submission."""

    __tablename__ = "submission_errors"
    __table_args__ = (_one_of("error", ERROR_VALUES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="errors")


class FaultRow(Base):
    """One fault switched by the admin endpoint; absent keys fall back to configuration."""

    __tablename__ = "faults"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)

"""The Quarantine Server's database: samples, their history and errors, events, settings, users."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dis_core.db import UtcDateTime, one_of
from dis_core.history import HistoryLine
from dis_core.lifecycle import Transition
from dis_core.vocabulary import AlertEvent, SampleError, SampleState, SampleStatus


def _choices(column: str, values: list[str]) -> CheckConstraint:
    return one_of(column, values, name=f"ck_{column}_values")


class Base(DeclarativeBase):
    pass


SORTED_COLUMNS = (
    "file_name", "user", "computer", "received_at", "date_analyzed", "state",
    "definitions_needed", "status", "virus_name", "priority",
)  # fmt: skip


class Sample(Base):
    """One forwarded sample held in the quarantine folder."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint(
            "sample_checksum", "endpoint_sample_id", "computer", name="uq_sample_origin"
        ),
        _choices("status", [s.value for s in SampleStatus]),
        _choices("state", [s.value for s in SampleState]),
        CheckConstraint("priority >= 0 AND priority <= 1000", name="ck_priority_range"),
        # every sort the console and the API offer reads its page from an index, ties by id
        *(Index(f"ix_samples_{column}_id", column, "id") for column in SORTED_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_checksum: Mapped[str] = mapped_column(String(64), index=True)
    endpoint_sample_id: Mapped[str] = mapped_column(String(1024))
    computer: Mapped[str] = mapped_column(String(1024), index=True)
    user: Mapped[str] = mapped_column(String(1024))
    file_name: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(Integer)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    stored_bytes: Mapped[int] = mapped_column(Integer)
    attributes_json: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    state: Mapped[str | None] = mapped_column(String(40))
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    date_submitted: Mapped[datetime | None] = mapped_column(UtcDateTime)
    date_analyzed: Mapped[datetime | None] = mapped_column(UtcDateTime)
    date_finished: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cookie: Mapped[str | None] = mapped_column(String(200))
    virus_name: Mapped[str | None] = mapped_column(String(1024))
    definitions_needed: Mapped[int | None] = mapped_column(Integer)
    repairable: Mapped[bool | None] = mapped_column(Boolean)
    repaired: Mapped[bool | None] = mapped_column(Boolean)
    endpoint_sequence: Mapped[int] = mapped_column(Integer, default=0)
    platform_address: Mapped[str | None] = mapped_column(String(255))
    platform_port: Mapped[int | None] = mapped_column(Integer)
    scanned_sequence: Mapped[int] = mapped_column(Integer, default=0)

    history: Mapped[list[SampleHistory]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", order_by="SampleHistory.id"
    )
    errors: Mapped[list[SampleProblem]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", order_by="SampleProblem.id"
    )

    @property
    def attributes(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads(self.attributes_json or "{}")
        return loaded

    def set_attributes(self, values: dict[str, str]) -> None:
        self.attributes_json = json.dumps(values, sort_keys=True)

    def set_attribute(self, name: str, value: str) -> None:
        values = self.attributes
        values[name] = value
        self.set_attributes(values)

    def record_transition(self, entry: Transition) -> None:
        """Called by dis_core.lifecycle.transition: keep the history line, note status entry time."""
        if entry.field == "status":
            self.status_changed_at = entry.at
        self.history.append(SampleHistory.of(entry))

    def add_error(self, at: datetime, error: SampleError, detail: str, source: str) -> None:
        self.errors.append(
            SampleProblem(at=at, error=error.value, detail=detail[:2000], source=source)
        )


class SampleHistory(HistoryLine, Base):
    """One status or state change of a sample (the Actions tab)."""

    __tablename__ = "sample_history"
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    sample: Mapped[Sample] = relationship(back_populates="history")


class SampleProblem(Base):
    """One processing error recorded on a sample (the Errors tab)."""

    __tablename__ = "sample_errors"
    __table_args__ = (_choices("error", [e.value for e in SampleError]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    sample: Mapped[Sample] = relationship(back_populates="errors")


class EventRecord(Base):
    """One raised alert event (the event log)."""

    __tablename__ = "events"
    __table_args__ = (_choices("event", [e.value for e in AlertEvent]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    sample_id: Mapped[int | None] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)
    delivered: Mapped[str] = mapped_column(Text, default="")


class GeneralError(Base):
    """A server-wide error not tied to one sample (the General Errors tab)."""

    __tablename__ = "general_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    source: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


class Setting(Base):
    """A property set through the API; it overrides the file configuration."""

    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("section", "key", name="uq_setting"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    section: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(60))
    value_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def value(self) -> Any:
        return json.loads(self.value_json)


class User(Base):
    """A console/API user; the password is stored only as a salted scrypt hash."""

    __tablename__ = "users"
    __table_args__ = (_choices("role", ["admin", "viewer"]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored (quarantine_server/tokens.py)."""

    __tablename__ = "api_tokens"
    # NULL scope: a token made before scopes existed, which has its owner's role
    __table_args__ = (_choices("scope", ["admin", "viewer"]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scope: Mapped[str | None] = mapped_column(String(10), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    user: Mapped[User] = relationship()


class ConsoleSession(Base):
    """A logged-in console session: the cookie carries only its token, this row its life
    (logging out deletes it; idle and absolute timeouts end it)."""

    __tablename__ = "console_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user: Mapped[User] = relationship()


class Heartbeat(Base):
    """The last time a service (agent, scanner) showed it is alive."""

    __tablename__ = "heartbeats"
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    holder: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class InstalledSet(Base):
    """A definition set installed on this server (for the Definition Policy tab and the API)."""

    __tablename__ = "installed_sets"
    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, index=True)
    certified: Mapped[bool] = mapped_column(Boolean)
    installed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    how: Mapped[str] = mapped_column(String(20))  # "incremental" | "full"
    signatures: Mapped[int] = mapped_column(Integer)

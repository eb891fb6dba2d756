"""Database plumbing shared by the parts: engines, sessions, and SQLite settings.

Each part has its own database and its own declarative base; this module only makes
engines that behave well when several processes share one SQLite file (WAL, busy timeout),
and gives every request or job one unit of work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import CursorResult, Dialect, Result
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30000
# pre-ping: a pooled connection that a database restart cut is replaced, not handed out broken
POSTGRES_POOL: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def postgres_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's own default is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; for SQLite the folder is created and WAL mode is switched on; PostgreSQL
    goes through psycopg 3 with a checked connection pool."""
    url = postgres_url(url)
    if url.startswith("postgresql+psycopg://"):
        for key, value in POSTGRES_POOL.items():
            kwargs.setdefault(key, value)
    if url.startswith("sqlite:///"):
        _private_file(Path(url.removeprefix("sqlite:///").split("?", 1)[0]))
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_file(path: Path) -> None:
    """The database holds samples' origins and users' credentials: owner only. SQLite gives
    its -wal and -shm files the database file's permissions."""
    if str(path) in ("", ":memory:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)  # also a file an older version made readable to all


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged sample must survive a crash
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class UtcDateTime(TypeDecorator[datetime]):
    """The one datetime column type of every database: aware UTC in, aware UTC out.

    PostgreSQL keeps the instant (``timestamp with time zone``); SQLite keeps the UTC wall time
    as text and forgets the zone, which is put back on reading. A naive datetime is refused:
    every time in the system comes from the one clock, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows_changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a CursorResult; the typing says Result)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rows_changed needs the result of an UPDATE or DELETE")
    return result.rowcount


def one_of(column: str, values: Iterable[str], *, name: str) -> CheckConstraint:
    """A check that keeps an enum column to its values (NULL allowed): enums as checked strings."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IS NULL OR {column} IN ({quoted})", name=name)

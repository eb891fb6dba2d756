"""Database plumbing: SQLite engines in WAL mode and the unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dis_core.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    UtcDateTime,
    make_engine,
    session_factory,
    unit_of_work,
)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'test.sqlite3'}")
    Base.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


def test_sqlite_engine_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert (
                connection.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
            )
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert path.parent.is_dir() and path.exists()
    finally:
        engine.dispose()


def test_unit_of_work_commits(factory) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        session.add(Note(body="kept"))
    with unit_of_work(factory) as session:
        assert session.scalars(select(Note.body)).all() == ["kept"]


def test_unit_of_work_rolls_back_on_error(factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="boom"), unit_of_work(factory) as session:
        session.add(Note(body="lost"))
        session.flush()  # written inside the transaction, then undone
        raise RuntimeError("boom")
    with unit_of_work(factory) as session:
        assert session.scalars(select(Note)).all() == []


def test_objects_stay_readable_after_commit(factory) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        note = Note(body="after")
        session.add(note)
    assert note.body == "after" and note.id is not None  # expire_on_commit=False


def test_two_engines_share_one_file(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'test.sqlite3'}")
    try:
        with unit_of_work(factory) as session:
            session.add(Note(body="shared"))
        with unit_of_work(session_factory(other)) as session:
            assert session.scalars(select(Note.body)).one() == "shared"
    finally:
        other.dispose()


class Stamped(DeclarativeBase):
    pass


class Stamp(Stamped):
    __tablename__ = "stamps"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


def test_utc_column_stores_the_utc_wall_time_and_reads_back_aware(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'stamps.sqlite3'}")
    Stamped.metadata.create_all(engine)
    tokyo = datetime(2026, 12, 4, 11, 15, tzinfo=timezone(timedelta(hours=9)))
    with unit_of_work(session_factory(engine)) as session:
        session.add(Stamp(at=tokyo))
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT at FROM stamps"))
            .scalar_one()
            .startswith("2026-12-04 02:15:00")
        )
    with unit_of_work(session_factory(engine)) as session:
        read = session.scalars(select(Stamp)).one().at
    assert read == tokyo and read.tzinfo is UTC
    engine.dispose()


def test_utc_column_refuses_a_naive_datetime(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'stamps.sqlite3'}")
    Stamped.metadata.create_all(engine)
    with (
        pytest.raises(StatementError, match="naive datetime"),
        unit_of_work(session_factory(engine)) as session,
    ):
        session.add(Stamp(at=datetime(2026, 12, 4, 2, 15)))
    engine.dispose()


def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    older = tmp_path / "older.sqlite3"
    older.write_bytes(b"")
    older.chmod(0o644)  # as an earlier version left it
    for path in (tmp_path / "new" / "db.sqlite3", older):
        engine = make_engine(f"sqlite:///{path}")
        with unit_of_work(session_factory(engine)) as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert {f.stat().st_mode & 0o777 for f in files if f.exists()} == {0o600}, path
        assert path.with_name(path.name + "-wal").exists()
        engine.dispose()

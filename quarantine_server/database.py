"""The Quarantine Server's engine and sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dis_core.config import Config
from dis_core.db import make_engine, session_factory
from dis_core.migrate import ensure_schema
from quarantine_server.models import Base


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def database_url(config: Config) -> str:
    """The General tab's database URL, else SQLite in the data directory."""
    configured = config.general.database_url
    return configured or f"sqlite:///{config.path('quarantine_server.sqlite3').resolve()}"


def open_database(config: Config) -> Database:
    """Open (and create when new) the server's database."""
    engine = make_engine(database_url(config))
    ensure_schema(engine, Base.metadata, "quarantine_server")  # PostgreSQL: Alembic upgrade
    return Database(engine, session_factory(engine))

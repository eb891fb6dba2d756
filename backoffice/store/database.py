"""Opening the back-office database and its folders from configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backoffice.store.models import Base
from backoffice.store.samples import SampleStore
from dis_core.config import Config
from dis_core.db import make_engine, session_factory
from dis_core.layout import PUBLISHED_SETS_DIR, SIGNING_KEYS_DIR
from dis_core.migrate import ensure_schema


@dataclass
class BackOfficeStore:
    """The database engine, its session factory and the folders, opened once per process."""

    engine: Engine
    sessions: sessionmaker[Session]
    samples: SampleStore
    root: Path  # data_dir/backoffice

    @classmethod
    def open(cls, config: Config) -> BackOfficeStore:
        root = config.path("backoffice")
        root.mkdir(parents=True, exist_ok=True)
        engine = make_engine(config.database_url("backoffice"))
        ensure_schema(engine, Base.metadata, "backoffice")  # PostgreSQL: Alembic upgrade
        return cls(engine, session_factory(engine), SampleStore(root / "samples"), root)

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def published_dir(self) -> Path:
        return self.root.parent / PUBLISHED_SETS_DIR  # root is data_dir/backoffice

    @property
    def keys_dir(self) -> Path:
        return self.root.parent / SIGNING_KEYS_DIR

    def close(self) -> None:
        self.engine.dispose()

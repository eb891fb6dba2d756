"""Everything one gateway process holds: configuration, clock, database, faults, definitions, back office."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dis_core.analysis import AnalysisLink
from dis_core.clock import Clock
from dis_core.config import Config
from dis_core.db import make_engine, session_factory
from dis_core.migrate import ensure_schema
from dis_core.protocol import ProtocolError
from dis_core.vocabulary import SampleError
from gateway_sim.catalog import (
    DefinitionCatalog,
    Repository,
    ScannerFactory,
    default_scanner_factory,
    open_repository,
)
from gateway_sim.faults import FaultStore
from gateway_sim.known_clean import KnownCleanList
from gateway_sim.models import Base

MB = 1024 * 1024


def gateway_dir(config: Config) -> Path:
    return config.path("gateway")


def admin_token(config: Config) -> str:
    """The configured admin token, else the one in data_dir/gateway/admin.token (made once, 0600)."""
    if config.gateway.admin_token:
        return config.gateway.admin_token
    path = gateway_dir(config) / "admin.token"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def open_database(config: Config) -> Engine:
    """The tracking database, with its tables created if absent."""
    engine = make_engine(config.database_url("gateway"))
    ensure_schema(engine, Base.metadata, "gateway")  # PostgreSQL: Alembic upgrade
    return engine


class LinkProvider:
    """The back-office link, made on first use so a gateway without a back office still starts."""

    def __init__(self, make: Callable[[], AnalysisLink]) -> None:
        self._make = make
        self._link: AnalysisLink | None = None
        self._lock = threading.Lock()

    def get(self) -> AnalysisLink:
        with self._lock:
            if self._link is None:
                self._link = self._make()
            return self._link

    def close(self) -> None:
        """Release the link's resources (the back office's engine) if it was ever made."""
        with self._lock:
            close = getattr(self._link, "close", None)
            if callable(close):
                close()
            self._link = None


def backoffice_link(config: Config, clock: Clock) -> Callable[[], AnalysisLink]:
    def make() -> AnalysisLink:
        try:
            from backoffice.link import BackOfficeLink
        except ImportError as exc:
            raise ProtocolError(
                SampleError.INTERNAL, f"the back office is not installed: {exc}"
            ) from None
        link: AnalysisLink = BackOfficeLink(config, clock)
        return link

    return make


@dataclass
class GatewayServices:
    config: Config
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    faults: FaultStore
    catalog: DefinitionCatalog
    links: LinkProvider
    known_clean: KnownCleanList
    admin_token: str
    accept_lock: Path  # file lock that serialises accepting across worker processes

    @property
    def max_sample_bytes(self) -> int:
        return self.config.gateway.max_sample_mb * MB

    @property
    def max_body_bytes(self) -> int:
        """Packed bodies may be a little larger than the sample (incompressible data)."""
        return self.max_sample_bytes + self.max_sample_bytes // 100 + 64 * 1024

    def dispose(self) -> None:
        self.links.close()
        self.engine.dispose()


def build_services(
    config: Config,
    clock: Clock,
    *,
    link: AnalysisLink | None = None,
    repository_opener: Callable[[], Repository | None] | None = None,
    scanner_factory: ScannerFactory | None = None,
) -> GatewayServices:
    engine = open_database(config)
    sessions = session_factory(engine)
    known = config.gateway.known_clean_file
    opener = repository_opener or (lambda: open_repository(config))
    catalog = DefinitionCatalog(
        opener, scanner_factory or default_scanner_factory(config.definition_policy.engine)
    )
    links = LinkProvider((lambda: link) if link is not None else backoffice_link(config, clock))
    return GatewayServices(
        config=config,
        clock=clock,
        engine=engine,
        sessions=sessions,
        faults=FaultStore(sessions, config.gateway),
        catalog=catalog,
        links=links,
        known_clean=KnownCleanList(config.path(known) if known else None),
        admin_token=admin_token(config),
        accept_lock=gateway_dir(config) / "accept.lock",
    )

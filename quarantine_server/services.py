"""What every request and job shares: configuration, database, quarantine folder, clock.

``Services.work()`` is the one unit of work: it commits, then runs the side effects queued
during it (alert deliveries), so nothing leaves the server for a change that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.clock import Clock, clock_for
from dis_core.config import Config
from dis_core.db import unit_of_work
from dis_core.layout import VERIFY_KEY_PATH
from quarantine_server.database import Database, open_database
from quarantine_server.models import Sample
from quarantine_server.properties import effective_config
from quarantine_server.vault import Vault

log = logging.getLogger(__name__)
AFTER_COMMIT = "after_commit"


@dataclass
class Services:
    base_config: Config
    db: Database
    vault: Vault
    clock: Clock
    extra: dict[str, object] = field(default_factory=dict)

    def config(self, session: Session) -> Config:
        """The configuration in force now: file values overridden by stored properties."""
        return effective_config(self.base_config, session)

    @contextmanager
    def work(self) -> Iterator[Session]:
        with unit_of_work(self.db.sessions) as session:
            yield session
            pending: list[Callable[[], None]] = session.info.setdefault(AFTER_COMMIT, [])
            session.flush()
        for action in pending:
            try:
                action()
            except Exception:  # a failed delivery must not undo the committed work
                log.exception("after-commit action failed")

    @property
    def data_dir(self) -> Path:
        return Path(self.base_config.general.data_dir)

    def definitions_root(self, config: Config) -> Path:
        return config.path(config.definition_policy.definitions_dir)

    def verify_key_path(self) -> Path:
        return self.base_config.path(VERIFY_KEY_PATH)

    def ca_file(self, config: Config) -> Path:
        configured = config.web_communication.ca_file
        return Path(configured) if configured else config.certs_dir / "ca.pem"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the current unit of work has committed."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


def build_services(config: Config, clock: Clock | None = None) -> Services:
    """Open everything the server needs under ``config``'s data directory."""
    database = open_database(config)
    vault = Vault(config.path(config.general.quarantine_dir), config.path("quarantine.key"))
    return Services(config, database, vault, clock or clock_for(config))


def sweep_quarantine(services: Services, older_than: float | None = None) -> list[str]:
    """Remove quarantine files that were never acknowledged (crash between write and commit)."""
    with services.work() as session:
        known = set(session.scalars(select(Sample.stored_name)))
    return services.vault.sweep(known, older_than=older_than)

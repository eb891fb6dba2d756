"""``--db`` and ``--broker`` for ``dis up`` and ``dis replay``: the scaled-out loop.

``--db postgresql://host:port/dis`` puts the three databases on one PostgreSQL server
(``dis_quarantine_server``, ``dis_gateway``, ``dis_backoffice``; see
:func:`dis_core.migrate.part_url`), created and migrated before any part starts.
``--broker redis://host:port/0`` switches the back office to the Celery executor; its stage
steps then run in ``dis worker`` processes (started here with ``--workers N``, or anywhere else
that reaches the same broker, databases and data directory).

The settings reach the child processes as ``DIS_<SECTION>__<KEY>`` environment variables,
which win over the configuration file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dis_core.config import Config
from dis_core.db import make_engine, postgres_url
from dis_core.extras import MissingExtra, require
from dis_core.migrate import (
    MigrationError,
    create_database_if_missing,
    part_url,
    upgrade,
)
from launcher.databases import PARTS, metadata_of
from launcher.processes import ServiceProcess
from launcher.stack import Stack

# which configuration key holds each part's database URL
DATABASE_KEYS = {
    "quarantine_server": ("general", "database_url"),
    "gateway": ("gateway", "database_url"),
    "backoffice": ("backoffice", "database_url"),
}


@dataclass(frozen=True)
class ScaleOut:
    """What the command line asked for; empty strings leave the embedded defaults."""

    db: str = ""
    broker: str = ""
    workers: int = 0

    def settings(self) -> dict[str, str]:
        """Environment variables for every child process."""
        values: dict[str, str] = {}
        if self.db:
            for part, (section, key) in DATABASE_KEYS.items():
                values[f"DIS_{section.upper()}__{key.upper()}"] = part_url(self.db, part)
        if self.broker:
            values["DIS_BACKOFFICE__EXECUTOR"] = "celery"
            values["DIS_BACKOFFICE__BROKER_URL"] = self.broker
        return values

    def apply(self, config: Config) -> None:
        """Into this process's configuration and environment (inherited by the children)."""
        if self.db:
            for part, (section, key) in DATABASE_KEYS.items():
                setattr(getattr(config, section), key, part_url(self.db, part))
        if self.broker:
            config.backoffice.executor = "celery"
            config.backoffice.broker_url = self.broker
        os.environ.update(self.settings())

    def prepare(self, config: Config, say: Callable[[str], Any], *, fresh: bool) -> None:
        """Apply the settings, check the broker, and create (``fresh``: recreate) the databases."""
        self.apply(config)
        try:
            self._check_extras()
            if self.broker:
                self._ping_broker()
            if self.db and fresh:
                self.drop_databases()
            for url in self.prepare_databases() if self.db else []:
                say(f"database ready: {url}")
        except (ConnectionError, SQLAlchemyError, MigrationError, MissingExtra) as exc:
            raise click.ClickException(f"scale-out: {str(exc).splitlines()[0]}") from None
        if self.broker:
            say(f"back-office steps go to {self.broker}; {self.workers} local worker(s)")

    def _check_extras(self) -> None:
        """The packages ``--db`` and ``--broker`` need, before anything is started."""
        if self.db:
            require("psycopg", "--db postgresql://...")
        if self.broker:
            for module in ("celery", "redis"):
                require(module, "--broker redis://...")

    def _ping_broker(self) -> None:
        redis = require("redis", "--broker redis://...")
        try:
            redis.Redis.from_url(self.broker, socket_timeout=5).ping()
        except redis.RedisError as exc:
            raise ConnectionError(str(exc)) from None

    def drop_databases(self) -> None:
        """Remove the three databases (a replay starts from nothing, like its data directory)."""
        server = make_url(postgres_url(self.db)).set(database="postgres")
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for part in PARTS:
                    name = make_url(part_url(self.db, part)).database
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    def prepare_databases(self) -> list[str]:
        """Create and migrate the three databases; returns their URLs (passwords hidden)."""
        prepared = []
        for part in PARTS:
            url = part_url(self.db, part)
            create_database_if_missing(url)
            engine = make_engine(url)
            try:
                upgrade(engine, part, metadata_of(part))
            finally:
                engine.dispose()
            prepared.append(engine.url.render_as_string(hide_password=True))
        return prepared


def start_workers(stack: Stack, count: int) -> None:
    """Start ``count`` local ``dis worker`` processes (one step at a time each) with the stack."""
    for index in range(count):
        worker = ServiceProcess(
            f"worker-{index + 1}",
            ["worker", "--concurrency", "1", "--name", f"local-{index + 1}"],
            stack.data_dir / "logs",
            stack._env(),  # the same data directory, clock and settings as the parts
        )
        worker.start()
        stack.services.append(worker)  # stopped with the rest of the stack


def _check_db(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value and not value.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        raise click.BadParameter("expected a postgresql:// URL")
    return value or ""


def _check_broker(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value and not value.startswith(("redis://", "rediss://")):
        raise click.BadParameter("expected a redis:// URL")
    return value or ""


def SCALEOUT_OPTIONS(command: Callable[..., Any]) -> Callable[..., Any]:  # noqa: N802 - a decorator
    """Adds ``--db``, ``--broker`` and ``--workers``; the command receives ``scale: ScaleOut``."""

    @functools.wraps(command)
    def wrapper(*args: Any, db: str, broker: str, workers: int | None, **kwargs: Any) -> Any:
        if workers is not None and (workers < 0 or (workers and not broker)):
            raise click.BadParameter("needs --broker and must be 0 or more", param_hint="--workers")
        count = workers if workers is not None else (2 if broker else 0)
        return command(*args, scale=ScaleOut(db, broker, count), **kwargs)

    options = [
        click.option(
            "--db",
            callback=_check_db,
            help="PostgreSQL server for the three databases, e.g. postgresql://user@host:5432/dis "
            "(databases dis_quarantine_server, dis_gateway, dis_backoffice).",
        ),
        click.option(
            "--broker",
            callback=_check_broker,
            help="Redis broker: the back office's stage steps run in Celery workers.",
        ),
        click.option(
            "--workers",
            type=int,
            default=None,
            help="Local `dis worker` processes to start with --broker (default 2; 0: only "
            "workers started elsewhere).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper

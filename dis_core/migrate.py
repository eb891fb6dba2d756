"""Schema migrations (Alembic) for the three databases: Quarantine Server, gateway, back office.

Each part keeps one Alembic environment under ``migrations/<part>/``. An embedded SQLite
database still gets its tables from ``create_all`` (one process tree, one file, nothing to
migrate between releases yet); a PostgreSQL database is created when missing and upgraded to
the newest revision when a part opens it, under a PostgreSQL advisory lock so that many
processes starting at once (gunicorn workers, Celery workers) migrate it exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    TypeDecorator,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError, DBAPIError

from dis_core.db import postgres_url

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
ADVISORY_LOCK_KEY = 0x44495300  # "DIS\0": one schema change at a time per database
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """The database cannot be brought to the models' schema; the message says why."""


def alembic_config(part: str, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic configuration for ``part`` without an ini file (the CLI may use alembic.ini)."""
    if not (MIGRATIONS_DIR / part / "env.py").is_file():
        raise MigrationError(f"unknown database {part!r}: no migrations in {MIGRATIONS_DIR / part}")
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / part))
    config.attributes["part"] = part
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(part: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(part)).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found for {part} in {MIGRATIONS_DIR / part}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema(engine: Engine, metadata: MetaData, part: str) -> None:
    """What a part calls when it opens its database: SQLite gets ``create_all``, PostgreSQL
    is created if missing and upgraded to the newest revision."""
    if engine.dialect.name == "sqlite":
        try:
            metadata.create_all(engine)
            _add_missing_columns(engine, metadata, part)
            _add_missing_indexes(engine, metadata)
        except DatabaseError as exc:  # not a database at all, or damaged beyond opening
            raise MigrationError(
                f"{part}: {engine.url.database} is not a usable database ({exc.orig}); "
                "restore it from a backup or move it away"
            ) from None
        return
    create_database_if_missing(engine.url)
    upgrade(engine, part, metadata)


def _add_missing_columns(engine: Engine, metadata: MetaData, part: str) -> None:
    """A column added to the models since an embedded database was made is added to it; only
    optional columns can be (the rows that exist have no value for it)."""
    existing = inspect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            present = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    connection.execute(text(_add_column_sql(engine, table.name, column, part)))


def _add_column_sql(engine: Engine, table: str, column: Column[Any], part: str) -> str:
    if not column.nullable:
        raise MigrationError(
            f"{part}: {engine.url.database} lacks the required column {table}.{column.name}; "
            "start from a new data directory (or run `dis db upgrade` on PostgreSQL)"
        )
    kind = column.type.compile(dialect=engine.dialect)
    return f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {kind}'


def _add_missing_indexes(engine: Engine, metadata: MetaData) -> None:
    """create_all leaves the tables that exist as they are; an index added to the models
    since is made here (SQLite builds it in one pass over the table)."""
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def upgrade(engine: Engine, part: str, metadata: MetaData) -> str:
    """Bring the database to the newest revision; returns it. Safe to call from many processes."""
    with engine.connect() as connection:
        locked = connection.dialect.name == "postgresql"
        if locked:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()
        try:
            _upgrade_locked(connection, part, metadata)
            connection.commit()
        finally:
            if locked:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                connection.commit()
    return head_revision(part)


def _upgrade_locked(connection: Connection, part: str, metadata: MetaData) -> None:
    config = alembic_config(part, connection)
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE not in tables and tables & set(metadata.tables):
        _adopt(connection, part, metadata, config)  # made by create_all before migrations existed
        return
    command.upgrade(config, "head")


def _adopt(connection: Connection, part: str, metadata: MetaData, config: AlembicConfig) -> None:
    """A schema without history is accepted (stamped at head) only if it matches the models."""
    metadata.create_all(connection)  # tables added since are simply missing
    differences = schema_differences(connection, metadata)
    if differences:
        raise MigrationError(
            f"{part}: tables exist without migration history and differ from the models: "
            f"{differences[:3]}"
        )
    command.stamp(config, "head")
    log.info("%s: existing schema adopted at revision %s", part, head_revision(part))


def schema_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    """What autogenerate would still change (empty: database and models agree)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


# -- PostgreSQL databases per part ----------------------------------------------------------
def part_url(base_url: str, part: str) -> str:
    """The database of ``part`` on the server of ``base_url``: ``{part}`` in the database name
    is replaced, otherwise ``_<part>`` is appended (``.../dis`` -> ``.../dis_gateway``)."""
    url = make_url(postgres_url(base_url))
    name = url.database or "dis"
    database = name.replace("{part}", part) if "{part}" in name else f"{name}_{part}"
    return url.set(database=database).render_as_string(hide_password=False)


def create_database_if_missing(url: URL | str) -> bool:
    """Create the PostgreSQL database named in ``url`` when absent; True if it was created."""
    target = make_url(postgres_url(str(url)) if isinstance(url, str) else url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if _database_exists(connection, target.database):
                return False
            try:
                connection.execute(text(f'CREATE DATABASE "{_identifier(target.database)}"'))
            except DBAPIError:
                if _database_exists(connection, target.database):
                    return False  # another process created it at the same moment
                raise
            return True
    finally:
        admin.dispose()


def _database_exists(connection: Connection, name: str) -> bool:
    found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    return found.first() is not None


def _identifier(name: str) -> str:
    if not name.replace("_", "").replace("-", "").isalnum():
        raise MigrationError(f"database name {name!r}: only letters, digits, '_' and '-'")
    return name


# -- what every migrations/<part>/env.py runs ------------------------------------------------
def run_env(context: Any, metadata: MetaData, configured_url: Callable[[], str]) -> None:
    """Alembic's env.py body for a part's ``metadata``: a connection handed in, or a URL (the
    ini file's, else ``configured_url()`` from the part's configuration)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_online(context, connection, metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url") or configured_url()
    if context.is_offline_mode():
        context.configure(url=postgres_url(url), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(postgres_url(url))
    try:
        with engine.connect() as connection:
            _run_online(context, connection, metadata)
            connection.commit()
    finally:
        engine.dispose()


def _run_online(context: Any, connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _render_item(kind: str, obj: Any, _context: Any) -> str | bool:
    """Migrations name the stored column type, not a part's Python wrapper around it."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False

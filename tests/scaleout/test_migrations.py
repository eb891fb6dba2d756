"""Alembic migrations of the three databases on a real PostgreSQL server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect, text

from dis_core.db import make_engine
from dis_core.migrate import (
    MigrationError,
    alembic_config,
    create_database_if_missing,
    current_revision,
    ensure_schema,
    head_revision,
    part_url,
    schema_differences,
    upgrade,
)
from launcher.databases import PARTS
from launcher.databases import metadata_of as metadata_for
from launcher.main import main

CHECKS = (
    "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
)


def test_part_url_names_one_database_per_part() -> None:
    assert (
        part_url("postgresql://u:p@h:5/dis", "gateway")
        == "postgresql+psycopg://u:p@h:5/dis_gateway"
    )
    assert part_url("postgresql://h/x_{part}_y", "backoffice").endswith("/x_backoffice_y")


def test_unknown_part_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown database"):
        metadata_for("console")
    with pytest.raises(MigrationError, match="unknown database"):
        head_revision("console")


@pytest.mark.parametrize("part", list(PARTS))
def test_upgrade_builds_exactly_the_models_schema(pg_base: str, part: str) -> None:
    migrated, created = (
        make_engine(part_url(pg_base, part)),
        make_engine(part_url(pg_base + "c", part)),
    )
    for engine in (migrated, created):
        create_database_if_missing(engine.url)
    assert upgrade(migrated, part, metadata_for(part)) == head_revision(part)
    metadata_for(part).create_all(created)
    with migrated.connect() as a, created.connect() as b:
        assert schema_differences(a, metadata_for(part)) == []
        # autogenerate cannot see CHECK constraints; compare them with create_all's directly
        assert set(map(tuple, a.execute(text(CHECKS)))) == set(map(tuple, b.execute(text(CHECKS))))
        assert set(inspect(a).get_table_names()) == set(metadata_for(part).tables) | {
            "alembic_version"
        }
    assert current_revision(migrated) == head_revision(part)
    migrated.dispose()
    created.dispose()


def test_many_processes_starting_at_once_migrate_once(pg_base: str) -> None:
    url = part_url(pg_base, "backoffice")
    engines = [make_engine(url) for _ in range(6)]
    create_database_if_missing(url)
    with ThreadPoolExecutor(6) as pool:  # each engine its own connection: like separate processes
        revisions = list(
            pool.map(lambda e: upgrade(e, "backoffice", metadata_for("backoffice")), engines)
        )
    assert set(revisions) == {head_revision("backoffice")}
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    for engine in engines:
        engine.dispose()


def test_schema_made_by_create_all_is_adopted(pg_base: str) -> None:
    engine = make_engine(part_url(pg_base, "gateway"))
    create_database_if_missing(engine.url)
    metadata_for("gateway").create_all(engine)
    ensure_schema(engine, metadata_for("gateway"), "gateway")
    assert current_revision(engine) == head_revision("gateway")
    engine.dispose()


def test_foreign_schema_without_history_is_refused(pg_base: str) -> None:
    engine = make_engine(part_url(pg_base, "gateway"))
    create_database_if_missing(engine.url)
    metadata_for("gateway").create_all(engine)
    table = next(iter(metadata_for("gateway").tables))
    with engine.begin() as connection:
        connection.execute(text(f'ALTER TABLE "{table}" ADD COLUMN stray integer'))
    with pytest.raises(MigrationError, match="differ from the models"):
        ensure_schema(engine, metadata_for("gateway"), "gateway")
    engine.dispose()


def test_sqlite_keeps_create_all_without_history(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    ensure_schema(engine, metadata_for("backoffice"), "backoffice")
    names = set(inspect(engine).get_table_names())
    assert "analysis" in names and "alembic_version" not in names
    engine.dispose()


def test_parts_open_their_postgres_database_migrated(pg_base: str, tmp_path: Path) -> None:
    """The parts' own open functions create and upgrade their PostgreSQL database."""
    from backoffice.store.database import BackOfficeStore
    from dis_core.config import load_config
    from gateway_sim.services import open_database as open_gateway
    from quarantine_server.database import open_database as open_qs

    config = load_config(environ={}, overrides={
        "general": {"data_dir": str(tmp_path), "database_url": part_url(pg_base, "quarantine_server")},
        "gateway": {"database_url": part_url(pg_base, "gateway")},
        "backoffice": {"database_url": part_url(pg_base, "backoffice")},
    })  # fmt: skip
    store, gateway, qs = BackOfficeStore.open(config), open_gateway(config), open_qs(config)
    for engine, part in (
        (store.engine, "backoffice"),
        (gateway, "gateway"),
        (qs.engine, "quarantine_server"),
    ):
        assert engine.dialect.name == "postgresql"
        assert current_revision(engine) == head_revision(part)
        engine.dispose()


def test_dis_db_upgrade_and_current(
    pg_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIS_GENERAL__DATABASE_URL", part_url(pg_base, "quarantine_server"))
    monkeypatch.setenv("DIS_GATEWAY__DATABASE_URL", part_url(pg_base, "gateway"))
    monkeypatch.setenv("DIS_BACKOFFICE__DATABASE_URL", part_url(pg_base, "backoffice"))
    runner = CliRunner()
    before = runner.invoke(main, ["--data-dir", str(tmp_path), "db", "current"])
    assert before.exit_code == 1 and "does not exist" in before.output  # one readable line
    done = runner.invoke(main, ["--data-dir", str(tmp_path), "db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert done.output.count("at revision") == 3
    shown = runner.invoke(main, ["--data-dir", str(tmp_path), "db", "current", "--part", "gateway"])
    assert shown.exit_code == 0 and f"gateway: {head_revision('gateway')}" in shown.output


def test_dis_db_upgrade_reports_an_unreachable_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIS_GATEWAY__DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "db", "upgrade", "--part", "gateway"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: gateway:") and "Traceback" not in result.output


def test_revision_0002_keeps_each_stored_time_as_the_same_utc_instant(pg_base: str) -> None:
    """0001 stored naive UTC wall times; after 0002 they read back as the same aware instants,
    whatever time zone the database session uses."""
    engine = make_engine(part_url(pg_base, "gateway"))
    create_database_if_missing(engine.url)
    with engine.connect() as connection:
        command.upgrade(alembic_config("gateway", connection), "0001")
        connection.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        connection.execute(
            text(
                "INSERT INTO faults (name, value, set_at) VALUES ('x', '1', '2026-12-04 02:15:00')"
            )
        )
        command.upgrade(alembic_config("gateway", connection), "head")
        stored = connection.execute(text("SELECT set_at FROM faults")).scalar_one()
        connection.commit()
    assert stored == datetime(2026, 12, 4, 2, 15, tzinfo=UTC)
    assert current_revision(engine) == head_revision("gateway")
    engine.dispose()

"""``--db``, ``--broker`` and ``--workers`` of ``dis up`` and ``dis replay``."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from dis_core.config import load_config
from dis_core.db import make_engine
from dis_core.migrate import current_revision, head_revision, part_url
from launcher.main import main
from launcher.scaleout import ScaleOut

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_settings_name_one_database_per_part_and_the_celery_executor() -> None:
    scale = ScaleOut("postgresql://u@h:5/dis", "redis://h:6/0", 2)
    assert scale.settings() == {
        "DIS_GENERAL__DATABASE_URL": "postgresql+psycopg://u@h:5/dis_quarantine_server",
        "DIS_GATEWAY__DATABASE_URL": "postgresql+psycopg://u@h:5/dis_gateway",
        "DIS_BACKOFFICE__DATABASE_URL": "postgresql+psycopg://u@h:5/dis_backoffice",
        "DIS_BACKOFFICE__EXECUTOR": "celery",
        "DIS_BACKOFFICE__BROKER_URL": "redis://h:6/0",
    }
    assert ScaleOut().settings() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--db", "mysql://h/x"], "expected a postgresql:// URL"),
        (["up", "--broker", "amqp://h"], "expected a redis:// URL"),
        (["replay", str(FIXTURES), "--workers", "2"], "needs --broker"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output


@pytest.fixture(autouse=True)
def _restored_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ScaleOut.apply`` exports its settings for the child processes; undone after each test
    (setenv first, so that monkeypatch removes them again even if they were not set)."""
    for name in ScaleOut("postgresql://h/d", "redis://h/0").settings():
        monkeypatch.setenv(name, "")


def test_an_unreachable_broker_is_one_readable_line(tmp_path: Path) -> None:
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    with pytest.raises(click.ClickException, match="^scale-out: "):
        ScaleOut(broker="redis://127.0.0.1:1/0").prepare(config, print, fresh=False)


def test_a_replay_starts_from_fresh_migrated_databases(
    pg_base: str, broker: str, tmp_path: Path
) -> None:
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    scale = ScaleOut(pg_base, broker, 2)
    said: list[str] = []
    scale.prepare(config, said.append, fresh=True)
    engine = make_engine(part_url(pg_base, "gateway"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE leftover (id integer)"))
    engine.dispose()
    scale.prepare(config, said.append, fresh=True)
    engine = make_engine(part_url(pg_base, "gateway"))
    assert "leftover" not in inspect(engine).get_table_names()
    assert current_revision(engine) == head_revision("gateway")
    engine.dispose()
    assert config.backoffice.executor == "celery" and config.gateway.database_url.endswith(
        "_gateway"
    )
    assert sum("database ready" in line for line in said) == 6

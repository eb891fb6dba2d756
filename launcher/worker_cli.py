"""``dis worker`` (a Celery worker for the back office) and ``dis db`` (schema migrations)."""

from __future__ import annotations

import click

from dis_core.cli import Context, pass_context
from dis_core.extras import require


@click.command("worker")
@click.option(
    "--concurrency", default=1, show_default=True, help="Stage steps this worker runs at once."
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo", "threads"]),
    default="prefork",
    show_default=True,
    help="prefork: one child process per concurrent step (a crashed step costs one child).",
)
@click.option("--name", default=None, help="Worker node name (default: host and process id).")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_context
def worker(context: Context, concurrency: int, pool: str, name: str | None, loglevel: str) -> None:
    """Run back-office stage steps from the broker (backoffice.broker_url) until stopped."""
    for module in ("celery", "redis"):
        require(module, "dis worker")
    from backoffice.pipeline.distributed.worker import run_worker

    config = context.config
    if concurrency < 1:
        raise click.BadParameter("must be at least 1", param_hint="--concurrency")
    if config.backoffice.executor != "celery":
        click.echo(
            "note: backoffice.executor is not 'celery'; this worker only gets steps from a back "
            "office that sends them to the broker",
            err=True,
        )
    run_worker(config, concurrency=concurrency, pool=pool, name=name, loglevel=loglevel)


@click.group("db")
def db() -> None:
    """Schema migrations of the three databases (PostgreSQL upgrades itself at start too)."""


def _targets(context: Context, part: str | None) -> list[tuple[str, str]]:
    from launcher.databases import PARTS, url_of

    return [(p, url_of(context.config, p)) for p in PARTS if part in (None, p)]


PART_OPTION = click.option(
    "--part",
    type=click.Choice(["quarantine_server", "gateway", "backoffice"]),
    default=None,
    help="Only this database (default: all three).",
)


@db.command("upgrade")
@PART_OPTION
@pass_context
def db_upgrade(context: Context, part: str | None) -> None:
    """Create (PostgreSQL) and upgrade each database to the newest revision."""
    from sqlalchemy.exc import SQLAlchemyError

    from dis_core.db import make_engine
    from dis_core.migrate import MigrationError, create_database_if_missing, upgrade
    from launcher.databases import metadata_of

    for name, url in _targets(context, part):
        engine = make_engine(url)
        try:
            create_database_if_missing(engine.url)
            revision = upgrade(engine, name, metadata_of(name))
        except (MigrationError, SQLAlchemyError) as exc:
            raise click.ClickException(f"{name}: {str(exc).splitlines()[0]}") from None
        finally:
            engine.dispose()
        click.echo(f"{name}: at revision {revision} ({engine.url.render_as_string()})")


@db.command("current")
@PART_OPTION
@pass_context
def db_current(context: Context, part: str | None) -> None:
    """Show each database's revision and the newest one available."""
    from sqlalchemy.exc import SQLAlchemyError

    from dis_core.db import make_engine
    from dis_core.migrate import current_revision, head_revision

    for name, url in _targets(context, part):
        engine = make_engine(url)
        try:
            current = current_revision(engine)
        except SQLAlchemyError as exc:
            raise click.ClickException(f"{name}: {str(exc).splitlines()[0]}") from None
        finally:
            engine.dispose()
        click.echo(f"{name}: {current or 'no migration history'} (newest {head_revision(name)})")


COMMANDS = [worker, db]

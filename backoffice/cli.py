"""``dis backoffice``: run the back office (workers, certified-build scheduler, expert desk),
or work on single samples for debugging."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from dis_core.cli import Context, pass_context
from dis_core.config import Config


@click.group("backoffice", invoke_without_command=True)
@click.option(
    "--desk-port",
    type=int,
    default=None,
    help="Port of the expert desk (default: backoffice.desk_port; 0: any free port).",
)
@click.option("--no-desk", is_flag=True, help="Do not start the expert desk.")
@click.pass_context
def backoffice(ctx: click.Context, desk_port: int | None, no_desk: bool) -> None:
    """Run the back office until SIGINT/SIGTERM: analysis workers, certified builds, expert desk."""
    if ctx.invoked_subcommand is not None:
        return
    context: Context = ctx.obj
    _run(context, desk_port, no_desk)


def _run(context: Context, desk_port: int | None, no_desk: bool) -> None:
    from backoffice.desk import DeskServer, create_desk_app
    from backoffice.service import BackOffice

    config = context.part_config()
    office = BackOffice(config)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    office.start()
    desk = None
    if not no_desk:
        token, where = _desk_token(config)
        port = config.backoffice.desk_port if desk_port is None else desk_port
        desk = DeskServer(create_desk_app(office.services, token), port)
        desk.start()
        # the output goes to log files: name where the token is, never the token itself
        click.echo(f"expert desk: {desk.url} (add ?token=, the token is {where})")
    click.echo(
        f"back office running (data dir {config.general.data_dir}, {config.backoffice.workers} workers); Ctrl-C stops it"
    )
    stop.wait()
    click.echo("stopping: finishing the steps in progress")
    if desk is not None:
        desk.stop()
    office.stop()
    click.echo("back office stopped")


def _desk_token(config: Config) -> tuple[str, str]:
    """The desk token and where an analyst finds it (a generated one goes to a 0600 file)."""
    if config.backoffice.desk_token:
        return config.backoffice.desk_token, "the configured backoffice.desk_token"
    token = secrets.token_urlsafe(24)
    path = config.path("backoffice/desk.token")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, f"in {path}"


@backoffice.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cookie", default=None, help="Cookie to file it under (default: a new random one).")
@pass_context
def import_file(context: Context, path: Path, cookie: str | None) -> None:
    """Import a file as a new sample (as the gateway would), for debugging."""
    from backoffice.link import BackOfficeLink

    data = path.read_bytes()
    cookie = cookie or secrets.token_hex(8)
    link = BackOfficeLink(context.config)
    link.import_sample(
        cookie, hashlib.sha256(data).hexdigest(), data, {"X-Sample-File": path.name[:200]}
    )
    click.echo(cookie)


@backoffice.command("run-once")
@click.argument("cookie")
@pass_context
def run_once(context: Context, cookie: str) -> None:
    """Drive one sample through every step in this process and print its state path."""
    from backoffice.link import BackOfficeLink
    from backoffice.service import BackOffice

    link = BackOfficeLink(context.config)
    if link.status(cookie) is None:
        click.echo(f"error: no sample with cookie {cookie}", err=True)
        sys.exit(1)
    office = BackOffice(context.config)
    office.services.ensure_baseline()
    final = office.run_inline(cookie)
    _print_status(link, cookie)
    sys.exit(0 if final is not None else 1)


@backoffice.command("status")
@click.argument("cookie")
@pass_context
def status(context: Context, cookie: str) -> None:
    """Show how one sample stands, with its state history."""
    from backoffice.link import BackOfficeLink

    link = BackOfficeLink(context.config)
    if link.status(cookie) is None:
        click.echo(f"error: no sample with cookie {cookie}", err=True)
        sys.exit(1)
    _print_status(link, cookie)


def _print_status(link: object, cookie: str) -> None:
    from sqlalchemy import select

    from backoffice.link import BackOfficeLink
    from backoffice.store.models import Analysis

    assert isinstance(link, BackOfficeLink)
    with link.store.sessions() as session:
        row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
        click.echo(
            f"{row.cookie}: {row.state}  virus={row.virus_name or '-'}  sequence={row.sequence or '-'}  error={row.error or '-'}"
        )
        for entry in row.history:
            click.echo(
                f"  {entry.at.isoformat(timespec='milliseconds')}  {entry.before or '-':>18} -> {entry.after:<18} {entry.reason}"
            )


@backoffice.command("certified-build")
@pass_context
def certified_build(context: Context) -> None:
    """Build, unit-test and publish a certified full set now (if the builder is free)."""
    from backoffice.pipeline.publishing import certified_release
    from backoffice.service import BackOffice

    office = BackOffice(context.config)
    services = office.services
    services.ensure_baseline()
    done = certified_release(services)
    if done is None:
        click.echo("error: the definition builder is busy; try again later", err=True)
        sys.exit(1)
    if not done.published:
        click.echo(f"error: set {done.build.sequence} abandoned: {done.failure}", err=True)
        sys.exit(1)
    click.echo(f"certified set {done.build.sequence} published")


COMMANDS = [backoffice]

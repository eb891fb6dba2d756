"""`dis quarantine-server ...`: the web server, the agent, and user management."""

from __future__ import annotations

import sys
from typing import Any

import click

from dis_core.cli import Context, pass_context
from dis_core.config import Config


@click.group("quarantine-server")
def group() -> None:
    """The Central Quarantine Server: intake, REST API, agent."""


def _gunicorn_app(config: Config, options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    from quarantine_server.web.app import create_app

    class QuarantineWeb(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(config)

    return QuarantineWeb()


@group.command("web")
@click.option("--host", help="Listen address (default general.listen_host).")
@click.option("--port", type=int, help="Listen port (default general.listen_port).")
@click.option(
    "--workers", type=int, help="gunicorn worker processes (default general.web_workers)."
)
@pass_context
def web(context: Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve intake and the API with gunicorn (TLS with the local CA's server certificate)."""
    from dis_core.certs import CertPaths
    from quarantine_server.services import build_services, sweep_quarantine

    config = context.part_config()
    removed = sweep_quarantine(
        build_services(config)
    )  # no worker runs yet: every orphan is safe to drop
    if removed:
        click.echo(f"removed {len(removed)} unacknowledged quarantine file(s)", err=True)
    options: dict[str, Any] = {
        "bind": f"{host or config.general.listen_host}:{port if port is not None else config.general.listen_port}",
        "workers": workers or config.general.web_workers,
        # threads, not sync workers: two idle connections made the server unreachable for 120 s
        "worker_class": "gthread",
        "threads": config.general.web_threads,
        "timeout": 120,
        "accesslog": "-",
    }
    if config.general.listen_tls:
        certs = CertPaths(config.certs_dir)
        if not certs.complete():
            raise click.ClickException(f"no certificates in {certs.root}: run `dis certs` first")
        options.update(certfile=str(certs.server_cert), keyfile=str(certs.server_key))
    _gunicorn_app(config, options).run()


@group.command("agent")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@pass_context
def agent(context: Context, once: bool) -> None:
    """Run the Quarantine Agent (one per server; a second one refuses to start)."""
    from quarantine_server.agent import (
        Agent,
        AgentAlreadyRunning,
        release_lease,
        take_lease,
        take_lock,
    )
    from quarantine_server.monitor import holder_name
    from quarantine_server.scheduler import AgentScheduler
    from quarantine_server.services import build_services

    config = context.part_config()
    try:
        lock = take_lock(config.path("."))
    except AgentAlreadyRunning as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    try:
        services = build_services(config)
    except BaseException:  # an unusable database: give the lock back before saying why
        lock.release()
        raise
    holder = holder_name()
    try:
        take_lease(services, holder, config.alerting.heartbeat_timeout_s)
    except AgentAlreadyRunning as exc:
        lock.release()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    try:
        worker = Agent(services)
        if once:
            worker.run_once()
        else:
            AgentScheduler(services, worker).run()
    finally:
        release_lease(services, holder)
        lock.release()


@group.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="viewer", show_default=True)
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="DIS_QS_PASSWORD"
)
@pass_context
def create_user_command(context: Context, username: str, role: str, password: str) -> None:
    """Add a console/API user."""
    from quarantine_server.auth import UserError, create_user
    from quarantine_server.services import build_services

    services = build_services(context.config)
    try:
        with services.work() as session:
            create_user(session, username, password, role, services.clock.now())
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"user {username} ({role}) created")


@group.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.option(
    "--scope",
    type=click.Choice(["admin", "viewer"]),
    help="Role of the token (default: the user's).",
)
@click.option("--days", type=int, help="Days until the token expires (default: never).")
@pass_context
def create_token_command(
    context: Context, username: str, name: str, scope: str | None, days: int | None
) -> None:
    """Print a new API bearer token for an existing user."""
    from sqlalchemy import select

    from quarantine_server.models import User
    from quarantine_server.services import build_services
    from quarantine_server.tokens import TokenError, create_token

    services = build_services(context.config)
    with services.work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username}")
        try:
            secret, _ = create_token(
                session, user, name, services.clock.now(), scope=scope, days=days
            )
        except TokenError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(secret)


COMMANDS = [group]

"""``dis gateway``: run the gateway simulator under gunicorn over TLS."""

from __future__ import annotations

import click

from dis_core.cli import Context, pass_context
from gateway_sim.services import admin_token


@click.group("gateway", invoke_without_command=True)
@click.option("--host", help="Address to listen on (default: gateway.listen_host).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="TLS port (default: gateway.listen_port; 0 picks a free one).",
)
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn worker processes.")
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@click.pass_context
def gateway(
    click_context: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    access_log: bool,
) -> None:
    """Run the vendor gateway simulator (submission, status, definitions, fault injection)."""
    if click_context.invoked_subcommand is not None:
        return
    from gateway_sim.server import GatewayNotReady, serve

    context = click_context.find_object(Context)
    assert context is not None, "the dis group always provides its context"
    config = context.part_config()
    if host is not None:
        config.gateway.listen_host = host
    if port is not None:
        config.gateway.listen_port = port
    if workers is not None:
        config.gateway.workers = workers
    try:
        serve(config, access_log=access_log)
    except GatewayNotReady as exc:
        raise click.ClickException(str(exc)) from None


@gateway.command("token")
@pass_context
def token(context: Context) -> None:
    """Print the admin bearer token (made on first use, kept in data_dir/gateway/admin.token)."""
    click.echo(admin_token(context.config))


COMMANDS = [gateway]

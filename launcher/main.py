"""The ``dis`` command: one group holding every part's commands, listed here explicitly."""

from __future__ import annotations

import click

import backoffice.cli
import dis_core.cli
import dis_core.definitions.cli
import endpoint.cli
import gateway_sim.cli
import launcher.cli
import quarantine_server.cli
import simworld.cli
from dis_core import __version__
from dis_core.cli import Context
from dis_core.extras import MissingExtra
from dis_core.migrate import MigrationError

PART_COMMANDS = (
    dis_core.cli.COMMANDS  # dis certs, dis config
    + dis_core.definitions.cli.COMMANDS  # dis defs, dis scan
    + simworld.cli.COMMANDS  # dis fixtures
    + gateway_sim.cli.COMMANDS  # dis gateway
    + backoffice.cli.COMMANDS  # dis backoffice
    + quarantine_server.cli.COMMANDS  # dis quarantine-server
    + endpoint.cli.COMMANDS  # dis endpoint
    + launcher.cli.COMMANDS  # dis up, demo, replay, step, scenario, worker, db
)


class Dis(click.Group):
    """The ``dis`` command; a database a part cannot use, or a missing optional package, stops it
    with one readable line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (MigrationError, MissingExtra) as problem:
            raise click.ClickException(str(problem)) from None


@click.group(cls=Dis)
@click.version_option(__version__, prog_name="dis")
@click.option(
    "--config",
    "config_path",
    envvar="DIS_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML configuration file.",
)
@click.option(
    "--data-dir", envvar="DIS_DATA_DIR", help="Data directory (overrides general.data_dir)."
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, data_dir: str | None) -> None:
    """Digital Immune System: quarantine, gateway, back office and definitions on one machine."""
    ctx.obj = Context(config_path, data_dir)


for _command in PART_COMMANDS:
    main.add_command(_command)

"""The ``dis`` command: one entry point; each part adds its own subcommands.

A part contributes commands by exposing ``COMMANDS`` (a list of click commands) in the
module named in :data:`PART_COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from dis_core import __version__
from dis_core.config import Config, ConfigError, describe, load_config

PART_COMMAND_MODULES = (
    "dis_core.definitions.cli",
    "dis_core.simworld.cli",
    "gateway_sim.cli",
    "backoffice.cli",
    "quarantine_server.cli",
    "endpoint.cli",
    "launcher.cli",
)


class Context:
    """What every subcommand gets: the configuration, loaded once."""

    def __init__(self, config_path: str | None, data_dir: str | None) -> None:
        self.config_path = config_path
        self.data_dir = data_dir
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            overrides = {"general": {"data_dir": self.data_dir}} if self.data_dir else None
            try:
                self._config = load_config(self.config_path, overrides=overrides)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"config error: {problem}", err=True)
                raise SystemExit(2) from None
        return self._config


pass_context = click.make_pass_decorator(Context)


@click.group()
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


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for the certificates (default: data_dir/certs).",
)
@click.option("--force", is_flag=True, help="Replace existing certificates.")
@pass_context
def certs(context: Context, out: str | None, force: bool) -> None:
    """Create a local CA plus server and client certificates."""
    from dis_core.certs import generate

    target = Path(out) if out else context.config.certs_dir
    paths = generate(target, force=force)
    click.echo(f"CA certificate:     {paths.ca_cert}")
    click.echo(f"server certificate: {paths.server_cert} (localhost, 127.0.0.1, ::1)")
    click.echo(f"client certificate: {paths.client_cert}")


@main.group("config")
def config_group() -> None:
    """Show or check the configuration."""


@config_group.command("show")
@pass_context
def config_show(context: Context) -> None:
    """Print every key with its value and meaning (secrets masked)."""
    section = ""
    for name, key, value, doc in describe(context.config):
        if name != section:
            click.echo(f"[{name}]")
            section = name
        click.echo(f"  {key} = {value!r}  # {doc}")


@config_group.command("check")
@pass_context
def config_check(context: Context) -> None:
    """Validate the configuration; exit 2 with one line per problem."""
    _ = context.config
    click.echo("configuration OK")


def _add_part_commands() -> None:
    for module_name in PART_COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part is not built into this installation
            raise
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_add_part_commands()

if __name__ == "__main__":
    # Under ``python -m dis_core.cli`` this file runs as __main__, a second copy of the module
    # whose Context class the parts' commands (bound to dis_core.cli) would not find.
    from dis_core.cli import main as canonical_main

    sys.exit(canonical_main())

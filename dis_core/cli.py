"""What every ``dis`` subcommand shares: the :class:`Context` (configuration loaded once) and
the core's own commands (``dis certs``, ``dis config``). The ``dis`` group itself, which lists
every part's commands, is ``launcher.main``: the core names no part."""

from __future__ import annotations

from pathlib import Path

import click

from dis_core.config import Config, ConfigError, address_notes, describe, load_config
from dis_core.logs import configure_logging


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

    def part_config(self) -> Config:
        """The configuration of a part's long-running process, whose logging it sets up."""
        configure_logging(self.config.general.log_format)
        return self.config


pass_context = click.make_pass_decorator(Context)


@click.command()
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


@click.group("config")
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
    """Validate the configuration; exit 2 with one line per problem. Addresses set apart from
    the local ports they would follow are named (one note each)."""
    for note in address_notes(context.config):
        click.echo(note)
    click.echo("configuration OK")


COMMANDS = [certs, config_group]

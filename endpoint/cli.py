"""``dis endpoint``: run simulated client computers, or use one of them once."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dis_core.cli import Context, pass_context
from endpoint.identity import Identity, IdentityError

if TYPE_CHECKING:
    from endpoint.fleet import Fleet
    from endpoint.machine import Endpoint
    from endpoint.reports import ForwardReport


@click.group("endpoint")
def endpoint_group() -> None:
    """Simulated client computers: local quarantine, forwarding, Defcast, repair."""


def _open(context: Context, computer: str) -> Endpoint:
    from dis_core.clock import clock_for
    from dis_core.definitions import DefinitionError, InstallError
    from endpoint.fleet import known_identity
    from endpoint.machine import Endpoint

    try:
        identity = known_identity(context.config, computer)
        return Endpoint(context.config, identity, clock_for(context.config))
    except (IdentityError, OSError, ValueError, DefinitionError, InstallError) as exc:
        raise click.ClickException(str(exc)) from None


def _identities(
    computers: tuple[str, ...], count: int, prefix: str, domain: str, context: Context
) -> list[Identity]:
    from endpoint.fleet import fleet_identities, known_identity

    if computers:
        return [known_identity(context.config, name) for name in computers]
    return fleet_identities(count, prefix, domain)


@endpoint_group.command("run")
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(1, 500), help="How many computers."
)
@click.option(
    "--computer", "computers", multiple=True, help="Run these named computers instead (repeatable)."
)
@click.option(
    "--prefix",
    default="ws",
    show_default=True,
    help="Computer names are <prefix>-001, <prefix>-002, ...",
)
@click.option(
    "--domain", default="SIMCORP", show_default=True, help="Domain of the generated computers."
)
@click.option(
    "--defcast-port",
    type=int,
    default=None,
    help="First Defcast port (one per computer); default endpoint.defcast_port, 0: poll only.",
)
@click.option(
    "--any-port", is_flag=True, help="Give every Defcast listener a free port chosen by the system."
)
@pass_context
def run(
    context: Context,
    count: int,
    computers: tuple[str, ...],
    prefix: str,
    domain: str,
    defcast_port: int | None,
    any_port: bool,
) -> None:
    """Run computers that scan their folders, forward, listen for Defcast, until stopped."""
    from dis_core.clock import clock_for
    from dis_core.definitions import DefinitionError, InstallError
    from endpoint.fleet import Fleet

    config = context.part_config()
    try:
        fleet = Fleet(
            config, _identities(computers, count, prefix, domain, context), clock_for(config)
        )
    except (IdentityError, OSError, ValueError, DefinitionError, InstallError) as exc:
        raise click.ClickException(str(exc)) from None
    base = (
        0 if any_port else (config.endpoint.defcast_port if defcast_port is None else defcast_port)
    )
    listening = any_port or base > 0
    try:
        ports = fleet.start(base if listening else None)
    except OSError as exc:
        fleet.stop()
        raise click.ClickException(f"cannot start a Defcast listener: {exc}") from None
    for endpoint in fleet.endpoints:
        where = (
            f"Defcast on {config.endpoint.defcast_host}:{ports[endpoint.computer]}"
            if listening
            else "polling"
        )
        click.echo(f"{endpoint.computer}: watching {endpoint.folders.watch} ({where})")
    _wait_for_signal(fleet)


def _wait_for_signal(fleet: Fleet) -> None:
    def stop(signum: int, frame: object) -> None:
        fleet.request_stop()

    signal.signal(signal.SIGTERM, stop)
    try:
        fleet.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()


@endpoint_group.command("forward")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--computer", required=True, help="Which computer finds the files.")
@click.option(
    "--force", is_flag=True, help="Quarantine and forward files the scan finds clean too."
)
@pass_context
def forward(context: Context, files: tuple[Path, ...], computer: str, force: bool) -> None:
    """Copy FILES onto a computer, scan, quarantine and forward them once."""
    endpoint = _open(context, computer)
    try:
        for taken in endpoint.take_in(list(files), force=force):
            if taken.repaired_in_place:
                click.echo(f"{taken.source}: repaired on {computer} by its own definitions")
            elif taken.item is None:
                click.echo(f"{taken.source}: clean for {computer}; not forwarded (use --force)")
        sent = endpoint.forward_pending()
    finally:
        endpoint.stop()
    _report_forward(sent)


def _report_forward(sent: ForwardReport) -> None:
    for item in sent.forwarded:
        click.echo(
            f"{item.side_effects.path}: forwarded, sample {item.server_id} ({item.server_status})"
        )
    for item in sent.retry_later:
        click.echo(f"{item.side_effects.path}: not forwarded yet, retried later: {item.last_error}")
    for item in sent.refused:
        click.echo(f"{item.side_effects.path}: refused: {item.last_error}")
    if sent.retry_later or sent.refused:
        raise SystemExit(1)


@endpoint_group.command("scan")
@click.option("--computer", required=True)
@pass_context
def scan(context: Context, computer: str) -> None:
    """One round on one computer: scan its folder, forward what is due, send confirmations."""
    endpoint = _open(context, computer)
    try:
        report = endpoint.scan_once()
        sent = endpoint.forward_pending()
    finally:
        endpoint.stop()
    click.echo(
        f"{computer}: scanned {report.scanned}, quarantined {len(report.quarantined)}, "
        f"repaired in place {len(report.repaired_in_place)}, forwarded {len(sent.forwarded)}, "
        f"waiting {len(sent.retry_later)}, confirmations sent {sent.confirmations_sent}"
    )


@endpoint_group.command("status")
@click.option("--computer", "computers", multiple=True, help="Only these computers (default: all).")
@pass_context
def status(context: Context, computers: tuple[str, ...]) -> None:
    """List each computer's definitions and quarantined items."""
    root = Path(context.config.general.data_dir) / "endpoints"
    names = computers or tuple(
        sorted(p.name for p in root.glob("*") if (p / "identity.json").exists())
    )
    if not names:
        click.echo(f"no endpoints under {root}")
    for name in names:
        endpoint = _open(context, name)
        try:
            _print_status(endpoint)
        finally:
            endpoint.stop()


def _print_status(endpoint: Endpoint) -> None:
    identity = endpoint.identity
    click.echo(
        f"{identity.computer} ({identity.user}@{identity.domain}, {identity.address}): "
        f"definitions {endpoint.active_sequence()}, confirmations waiting {len(endpoint.outbox.pending())}"
    )
    for item in endpoint.items():
        fate = item.outcome.value if item.outcome else "quarantined"
        click.echo(
            f"  {item.id}  {item.scan_result.value:<12} {item.forward_status.value:<10} "
            f"sample={item.server_id or '-':<6} {fate:<12} {item.side_effects.path}"
        )


@endpoint_group.command("install")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--computer", required=True)
@pass_context
def install(context: Context, package: Path, computer: str) -> None:
    """Install a signed full definition package on a computer, then repair and confirm."""
    from dis_core.definitions import DefinitionError, InstallError

    endpoint = _open(context, computer)
    try:
        installed = endpoint.install_definitions(package.read_bytes())
        decided = endpoint.resolve_quarantine()
        endpoint.forward_pending()
    except (DefinitionError, InstallError) as exc:
        raise click.ClickException(f"not installed: {exc}") from None
    finally:
        endpoint.stop()
    click.echo(
        f"{computer}: definitions {installed.sequence} active; {len(decided)} item(s) repaired or restored"
    )


@endpoint_group.command("pull")
@click.option("--computer", required=True)
@pass_context
def pull(context: Context, computer: str) -> None:
    """Fetch the Quarantine Server's active definitions; install when newer."""
    from dis_core.definitions import DefinitionError, InstallError
    from endpoint.intake_client import IntakeRefused, IntakeUnavailable

    endpoint = _open(context, computer)
    try:
        changed = endpoint.pull_definitions()
    except (DefinitionError, InstallError, IntakeRefused, IntakeUnavailable) as exc:
        raise click.ClickException(f"pull failed: {exc}") from None
    finally:
        endpoint.stop()
    click.echo(
        f"{computer}: definitions {endpoint.active_sequence()} ({'updated' if changed else 'already current'})"
    )


@endpoint_group.command("restore")
@click.argument("item_id")
@click.option("--computer", required=True)
@pass_context
def restore(context: Context, item_id: str, computer: str) -> None:
    """Give a quarantined file back unchanged."""
    from endpoint.vault import VaultError

    endpoint = _open(context, computer)
    try:
        path = endpoint.restore(item_id)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        endpoint.stop()
    click.echo(f"restored to {path}")


COMMANDS = [endpoint_group]

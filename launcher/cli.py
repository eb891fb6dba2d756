"""``dis up``, ``dis demo``, ``dis replay``, ``dis scenario`` and ``dis step``."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.live import Live

from dis_core.cli import Context, pass_context
from dis_core.config import address_notes
from launcher.display import journey_table
from launcher.journey import Journey, wait_all
from launcher.manifest import ManifestError, compare, family_consistency, load_manifest
from launcher.reports import Outcome, write_html, write_junit
from launcher.scaleout import SCALEOUT_OPTIONS, ScaleOut, start_workers
from launcher.session import LoopSession
from launcher.worker_cli import COMMANDS as WORKER_COMMANDS

F = TypeVar("F", bound=Callable[..., Any])
REPO_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO_FAMILIES = (
    "appender_ep",
    "polymorphic",
    "prepender",
    "worm",
    "overwriter",
    "macro_autoopen",
    "eicar",
    "known",
    "clean_simvm",
    "data",
    "encrypted",
)


def own_data_dir(default: str) -> Callable[[F], F]:
    """The --data-dir option of the commands that start a fresh loop of their own."""
    return click.option(
        "--data-dir",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help="Its own data directory, wiped at start.",
    )


def fixtures_option() -> Callable[[F], F]:
    return click.option(
        "--fixtures",
        "corpus",
        type=click.Path(file_okay=False, path_type=Path),
        default=REPO_FIXTURES,
        show_default=True,
        help="Fixture corpus with its manifest.json.",
    )


def _start(session: LoopSession, console: Console) -> None:
    console.print(
        f"starting the loop in {session.stack.data_dir} (clock x{session.config.clock.speed:g}) …"
    )
    try:
        session.start()
    except Exception as exc:
        session.stop()
        raise click.ClickException(f"the loop did not start: {exc}") from None


def _follow(session: LoopSession, journeys: list[Journey], timeout: float, title: str) -> bool:
    console = Console()
    with Live(journey_table(journeys, title), console=console, refresh_per_second=4) as live:
        return wait_all(
            journeys, session.observer(), timeout, lambda js: live.update(journey_table(js, title))
        )


def _outcomes(journeys: list[Journey]) -> list[Outcome]:
    outcomes = []
    consistency = family_consistency([(j.expectation, j.actual()) for j in journeys])
    for journey in journeys:
        problems = (
            compare(journey.expectation, journey.actual())
            if journey.settled
            else ["did not finish in time"]
        )
        problems += consistency.get(journey.expectation.virus_family or "", [])
        outcomes.append(
            Outcome(
                journey.expectation.file,
                journey.expectation.family,
                _expected(journey),
                journey.actual(),
                journey.seconds,
                problems,
            )
        )
    return outcomes


def _expected(journey: Journey) -> dict[str, object]:
    e = journey.expectation
    return {
        "status": e.status,
        "state": e.state,
        "virus_family": e.virus_family,
        "repairable": e.repairable,
    }


def _summary(outcomes: list[Outcome], console: Console) -> int:
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        console.print(f"[red]MISMATCH[/] {outcome.file}: {'; '.join(outcome.mismatches)}")
    console.print(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} samples reached their expected end."
    )
    return 1 if failed else 0


@click.command("demo")
@own_data_dir(".dis-data/demo")
@click.option(
    "--clock-speed", default=60.0, show_default=True, help="Simulated seconds per real second."
)
@fixtures_option()
@click.option(
    "--timeout", default=240.0, show_default=True, help="Real seconds to wait for every sample."
)
def demo(data_dir: Path, clock_speed: float, corpus: Path, timeout: float) -> None:
    """Run the whole loop on a mixed set of fixtures and show each sample's journey live."""
    console = Console()
    expectations = _demo_set(corpus)
    session = LoopSession.quick(data_dir, clock_speed, fresh=True)
    _start(session, console)
    try:
        journeys = session.forward(corpus, expectations)
        _follow(session, journeys, timeout, "Digital Immune System demo")
    finally:
        session.stop()
    outcomes = _outcomes(journeys)
    console.print(journey_table(journeys, "Summary"))
    sys.exit(_summary(outcomes, console))


def _demo_set(corpus: Path):
    try:
        rows = load_manifest(corpus)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    chosen = []
    for family in DEMO_FAMILIES:
        chosen += [r for r in rows if r.family == family][:1]
    return chosen or rows


@click.command("replay")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report."
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an HTML report.",
)
@own_data_dir(".dis-data/replay")
@click.option("--clock-speed", default=120.0, show_default=True)
@click.option(
    "--computers", default=3, show_default=True, help="Simulated endpoints that forward the corpus."
)
@click.option(
    "--timeout", default=900.0, show_default=True, help="Real seconds to wait for the whole corpus."
)
@SCALEOUT_OPTIONS
def replay(
    corpus: Path,
    junit: Path | None,
    html_path: Path | None,
    data_dir: Path,
    clock_speed: float,
    computers: int,
    timeout: float,
    scale: ScaleOut,
) -> None:
    """Replay a fixture corpus through the full loop and compare with its manifest."""
    console = Console()
    try:
        expectations = load_manifest(corpus)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    session = LoopSession.quick(data_dir, clock_speed, fresh=True, computers=computers)
    scale.prepare(session.config, console.print, fresh=True)  # wiped like the data directory
    _start(session, console)
    try:
        start_workers(session.stack, scale.workers)
        journeys = session.forward(corpus, expectations)
        with console.status("replaying") as status:
            wait_all(
                journeys,
                session.observer(),
                timeout,
                lambda js: status.update(
                    f"replaying: {sum(j.settled for j in js)}/{len(js)} settled"
                ),
            )
    finally:
        session.stop()
    outcomes = _outcomes(journeys)
    if junit:
        write_junit(outcomes, junit)
    if html_path:
        write_html(outcomes, html_path, f"Replay of {corpus}")
    sys.exit(_summary(outcomes, console))


def _print_addresses(console: Console, session: LoopSession, computers: int) -> None:
    """What each part really uses, so a changed port shows where the samples go."""
    stack, config = session.stack, session.stack.config
    console.print(f"console: {stack.console_url}  ({session.login_hint})")
    console.print(f"gateway: {stack.gateway_url}   logs: {stack.data_dir / 'logs'}")
    console.print(f"the Quarantine Server submits to {config.web_communication.gateway_url}")
    if computers:
        console.print(f"the endpoints forward to {config.endpoint.server_url}")
    for note in address_notes(config):
        console.print(note)


@click.command("up")
@click.option(
    "--clock-speed",
    type=float,
    default=None,
    help="Simulated seconds per real second (default clock.speed).",
)
@click.option(
    "--endpoints",
    "computers",
    default=0,
    show_default=True,
    help="Also run this many simulated endpoints.",
)
@SCALEOUT_OPTIONS
@pass_context
def up(context: Context, clock_speed: float | None, computers: int, scale: ScaleOut) -> None:
    """Start gateway, back office, Quarantine Server web and agent; stop with Ctrl-C."""
    config = context.config
    if clock_speed is not None:
        config.clock.speed = clock_speed
    scale.prepare(config, Console().print, fresh=False)
    session = LoopSession(
        config, Path(context.config_path) if context.config_path else None, computers
    )
    console = Console()
    _start(session, console)
    start_workers(session.stack, scale.workers)
    _print_addresses(console, session, computers)
    console.print("press Ctrl-C to stop")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (background)
    try:
        while all(s.running() for s in session.stack.services):
            time.sleep(0.5)
        stopped = [s.name for s in session.stack.services if not s.running()]
        console.print(f"[red]stopped unexpectedly:[/] {', '.join(stopped)}")
    except KeyboardInterrupt:
        console.print("stopping …")
    finally:
        session.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group("step")
def step() -> None:
    """Step mode for teaching: samples pause before every move until you let them go."""


@step.command("on")
@pass_context
def step_on(context: Context) -> None:
    """Switch step mode on for the running loop."""
    _gate(context).switch(True)
    click.echo("step mode on")


@step.command("off")
@pass_context
def step_off(context: Context) -> None:
    """Switch step mode off (every waiting sample goes on)."""
    _gate(context).switch(False)
    click.echo("step mode off")


@step.command("list")
@pass_context
def step_list(context: Context) -> None:
    """Show the samples waiting for a go."""
    for waiting in _gate(context).waiting():
        click.echo(f"{waiting.key}\t{waiting.part}\t{waiting.before} -> {waiting.after}")


@step.command("go")
@click.argument("key", required=False)
@pass_context
def step_go(context: Context, key: str | None) -> None:
    """Let one sample (by key) or every waiting sample make its next move."""
    click.echo(f"released {_gate(context).release(key)}")


def _gate(context: Context):
    from dis_core.stepping import StepGate

    return StepGate(Path(context.config.general.data_dir), enabled=context.config.clock.step_mode)


COMMANDS = [up, demo, replay, step]


SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@click.command("scenario")
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@fixtures_option()
@own_data_dir(".dis-data/scenario")
@click.option("--clock-speed", default=60.0, show_default=True)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    help="Real seconds to wait for samples after the timeline.",
)
def scenario(
    scenario_file: Path, corpus: Path, data_dir: Path, clock_speed: float, timeout: float
) -> None:
    """Play a trainer scenario (a YAML file, or the name of a bundled one) on a fresh loop."""
    from launcher.scenario import ScenarioError, load_scenario
    from launcher.scenario_runner import ScenarioFailed, ScenarioRunner

    path = (
        scenario_file
        if scenario_file.exists()
        else SCENARIOS / f"{scenario_file.name.removesuffix('.yaml')}.yaml"
    )
    try:
        plan = load_scenario(path)
        expectations = load_manifest(corpus)
    except (ScenarioError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None
    console = Console()
    session = LoopSession.quick(data_dir, clock_speed, fresh=True)
    _start(session, console)
    runner = ScenarioRunner(session, corpus, expectations)
    try:
        runner.run(plan)
        settled = (
            wait_all(runner.journeys, session.observer(), timeout)
            if plan.expect_all_settled
            else True
        )
    except ScenarioFailed as exc:
        raise click.ClickException(f"scenario {plan.name!r}: {exc}") from None
    finally:
        session.stop()
    for line in runner.log:
        console.print(f"  {line}")
    if not settled:
        raise click.ClickException(f"scenario {plan.name!r}: not every sample completed")
    console.print(journey_table(runner.journeys, f"Scenario: {plan.name}"))
    sys.exit(_summary(_outcomes(runner.journeys), console))


COMMANDS.append(scenario)
COMMANDS += WORKER_COMMANDS  # dis worker, dis db (scale-out)

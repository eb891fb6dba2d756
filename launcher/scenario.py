"""Trainer scenarios: a YAML file of timed steps that make the seed's events happen on cue.

Example::

    name: gateway outage
    steps:
      - at: 0
        forward: [binary/appender_ep-0001.exe]
      - at: 0
        gateway_down: 1800        # simulated seconds
      - at: 0
        expect_event: gateway_unreachable
        within: 3600
    expect_all_settled: true

``at`` and every duration are simulated seconds from the start of the scenario, so the
same file runs in real time or sped up with ``--clock-speed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

ACTIONS = {
    "forward": "forward these fixture files (paths relative to the corpus) from an endpoint",
    "gateway_down": "the gateway refuses connections for N seconds",
    "gateway_slow": "the gateway answers every request N seconds late (for 'duration' seconds)",
    "drop_transfers": "the gateway drops transfers half-way for N seconds",
    "corrupt_next_definitions": "the next definition set the gateway serves is corrupted",
    "fill_quarantine": "shrink the quarantine maximum so the folder is this many percent full",
    "stop_agent": "stop the Quarantine Agent for N seconds",
    "expect_event": "fail unless this alert event is raised within 'within' seconds",
}


class ScenarioError(ValueError):
    """The scenario file is not valid."""


@dataclass(frozen=True)
class Step:
    at: float
    action: str
    value: Any
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: list[Step]
    expect_all_settled: bool = True


class ScenarioDriver(Protocol):
    """What a running loop must offer a scenario (implemented by the launcher's runner)."""

    def perform(self, step: Step) -> None: ...


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ScenarioError(f"{path}: a scenario is a mapping with a 'steps' list")
    steps = [_step(raw, index, path) for index, raw in enumerate(data["steps"])]
    steps.sort(key=lambda s: s.at)
    return Scenario(
        str(data.get("name", path.stem)), steps, bool(data.get("expect_all_settled", True))
    )


def _step(raw: Any, index: int, path: Path) -> Step:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: step {index + 1} is not a mapping")
    at = raw.get("at", 0)
    actions = [k for k in raw if k in ACTIONS]
    if len(actions) != 1:
        raise ScenarioError(
            f"{path}: step {index + 1} needs exactly one action of {', '.join(ACTIONS)}"
        )
    if not isinstance(at, int | float) or at < 0:
        raise ScenarioError(f"{path}: step {index + 1}: 'at' must be a number of seconds >= 0")
    options = {k: v for k, v in raw.items() if k not in {"at", actions[0]}}
    return Step(float(at), actions[0], raw[actions[0]], options)

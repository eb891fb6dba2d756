"""Scenario files and the step-mode gate."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dis_core.stepping import StepGate
from launcher.scenario import ScenarioError, load_scenario


def test_scenario_steps_sorted_with_options(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: outage\nsteps:\n  - at: 60\n    gateway_down: 600\n"
        "  - at: 0\n    forward: [a.exe]\n  - expect_event: gateway_unreachable\n    within: 900\n"
    )
    scenario = load_scenario(path)
    assert scenario.name == "outage"
    assert [s.action for s in scenario.steps] == ["forward", "expect_event", "gateway_down"]
    assert scenario.steps[1].options == {"within": 900}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: 3", "a 'steps' list"),
        ("steps:\n  - at: 1\n", "exactly one action"),
        ("steps:\n  - at: -1\n    stop_agent: 5\n", "'at' must be"),
        ("steps:\n  - [1, 2]\n", "not a mapping"),
        ("steps: [", "cannot read"),
    ],
)
def test_bad_scenarios_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_step_gate_holds_until_released(tmp_path: Path) -> None:
    gate = StepGate(tmp_path, enabled=True)
    passed = threading.Event()

    def move() -> None:
        gate.pause("cookie-1", "backoffice", "imported", "classifying")
        passed.set()

    worker = threading.Thread(target=move)
    worker.start()
    deadline = time.monotonic() + 5
    while not gate.waiting() and time.monotonic() < deadline:
        time.sleep(0.02)
    [waiting] = gate.waiting()
    assert (waiting.key, waiting.after) == ("cookie-1", "classifying")
    assert not passed.wait(0.3)
    assert gate.release("cookie-1") == 1
    worker.join(5)
    assert passed.is_set() and gate.waiting() == []


def test_step_gate_off_never_blocks_and_switch_releases(tmp_path: Path) -> None:
    assert StepGate(tmp_path, enabled=False).pause("k", "qs", None, "quarantined") is True
    gate = StepGate(tmp_path, enabled=False)
    gate.switch(True)
    assert gate.active()
    assert gate.pause("k", "qs", None, "quarantined", timeout_s=0.2) is False
    gate.switch(False)
    assert not gate.active() and gate.waiting() == []

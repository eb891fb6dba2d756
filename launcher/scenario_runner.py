"""Plays a scenario against a running loop: faults on cue, fixtures forwarded, events awaited.

Times in the scenario are simulated seconds; the runner converts them with the loop's clock,
so a trainer's two-hour outage passes in two minutes at ``--clock-speed 60``.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from dis_core.clock import clock_for
from launcher.journey import Journey
from launcher.manifest import Expectation
from launcher.scenario import Scenario, Step
from launcher.session import LoopSession

POLL_S = 0.2


class ScenarioFailed(RuntimeError):
    """An expectation of the scenario did not hold."""


@dataclass
class ScenarioRunner:
    """Runs one scenario's timeline on a started :class:`LoopSession`."""

    session: LoopSession
    corpus: Path
    expectations: list[Expectation]
    journeys: list[Journey] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    _timeline: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _awaited: list[tuple[float, str]] = field(default_factory=list)

    def run(self, scenario: Scenario) -> None:
        """Play every step at its time; return when the timeline and awaited events are done."""
        clock = clock_for(self.session.config)
        start = time.monotonic()
        for step in scenario.steps:
            self._at(clock.real_seconds(step.at), partial(self._perform, step, clock.real_seconds))
        while self._timeline or self._awaited:
            self._tick(time.monotonic() - start)
            time.sleep(POLL_S)

    def _at(self, real_offset: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timeline, (real_offset, next(self._order), action))

    def _tick(self, elapsed: float) -> None:
        while self._timeline and self._timeline[0][0] <= elapsed:
            heapq.heappop(self._timeline)[2]()
        self._check_events(elapsed)

    def _note(self, text: str) -> None:
        self.log.append(text)

    def _perform(self, step: Step, real: Callable[[float], float]) -> None:
        self._note(f"{step.action}: {step.value}")
        handler = getattr(self, f"_do_{step.action}")
        handler(step, real)

    # --- actions ------------------------------------------------------------------------
    def _do_forward(self, step: Step, real: Callable[[float], float]) -> None:
        wanted = set(step.value if isinstance(step.value, list) else [step.value])
        chosen = [e for e in self.expectations if e.file in wanted or e.family in wanted]
        if not chosen:
            raise ScenarioFailed(f"forward: nothing in the corpus matches {sorted(wanted)}")
        self.journeys += self.session.forward(self.corpus, chosen)

    def _do_gateway_down(self, step: Step, real: Callable[[float], float]) -> None:
        self._fault_for(
            {"refuse_connections": True}, {"refuse_connections": False}, real(float(step.value))
        )

    def _do_gateway_slow(self, step: Step, real: Callable[[float], float]) -> None:
        duration = float(step.options.get("duration", 600))
        self._fault_for({"delay_s": float(step.value)}, {"delay_s": 0.0}, real(duration))

    def _do_drop_transfers(self, step: Step, real: Callable[[float], float]) -> None:
        self._fault_for(
            {"drop_transfers": True}, {"drop_transfers": False}, real(float(step.value))
        )

    def _do_corrupt_next_definitions(self, step: Step, real: Callable[[float], float]) -> None:
        self._gateway_faults({"corrupt_next_definitions": True})

    def _do_stop_agent(self, step: Step, real: Callable[[float], float]) -> None:
        agent = self.session.stack.service("qserver-agent")
        agent.stop()
        self._at(self._elapsed_after(real(float(step.value))), agent.start)

    def _do_fill_quarantine(self, step: Step, real: Callable[[float], float]) -> None:
        self.session.fill_quarantine(float(step.value))

    def _do_expect_event(self, step: Step, real: Callable[[float], float]) -> None:
        within = real(float(step.options.get("within", 3600)))
        self._awaited.append((self._elapsed_after(within), str(step.value)))

    # --- helpers ------------------------------------------------------------------------
    _started: float = field(default_factory=time.monotonic)

    def _elapsed_after(self, real_seconds: float) -> float:
        return time.monotonic() - self._started + real_seconds

    def _fault_for(self, on: dict[str, Any], off: dict[str, Any], real_seconds: float) -> None:
        self._gateway_faults(on)
        self._at(self._elapsed_after(real_seconds), lambda: self._gateway_faults(off))

    def _gateway_faults(self, values: dict[str, Any]) -> None:
        self.session.gateway_admin("PATCH", "/faults", values)

    def _check_events(self, elapsed: float) -> None:
        if not self._awaited:
            return
        seen = self.session.event_kinds()
        still = []
        for deadline, event in self._awaited:
            if event in seen:
                self._note(f"event seen: {event}")
            elif elapsed > deadline:
                raise ScenarioFailed(f"event {event} was not raised in time")
            else:
                still.append((deadline, event))
        self._awaited = still

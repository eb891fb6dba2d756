"""The running back office: a dispatcher that hands due steps to the executor, and the
scheduler of certified full builds. ``dis backoffice`` runs one of these plus the expert desk.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import or_, select

from backoffice.pipeline.executor import Executor, InProcessExecutor, StepFunction
from backoffice.pipeline.publishing import certified_release
from backoffice.pipeline.runner import StageRunner
from backoffice.pipeline.stages import stage_for, working_states
from backoffice.pipeline.stages.locking import certified_build_due
from backoffice.services import Goodware, Services
from backoffice.store.models import Analysis
from dis_core.clock import Clock
from dis_core.config import Config
from dis_core.db import unit_of_work
from dis_core.extras import require
from dis_core.vocabulary import SampleState, settled

log = logging.getLogger(__name__)
DISPATCH_BATCH = 200


def executor_for(config: Config, step: StepFunction) -> Executor:
    """The executor ``backoffice.executor`` names in the configuration. Celery and Redis are
    imported only here, so the embedded default runs without the scale-out extra."""
    if config.backoffice.executor != "celery":
        return InProcessExecutor(step, config.backoffice.workers)
    for module in ("celery", "redis"):
        require(module, "backoffice.executor = 'celery'")
    from backoffice.pipeline.distributed.executor import CeleryExecutor

    return CeleryExecutor(config)


class BackOffice:
    """Workers (through the executor), the dispatcher loop and the certified-build scheduler."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        *,
        goodware: Goodware | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.services = Services.open(config, clock, goodware)
        self.executor: Executor = executor or executor_for(config, self.step)
        self.runner = StageRunner(self.services, on_next=self.executor.submit)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def step(self, stage_name: str, cookie: str) -> None:
        """What the executor runs: one idempotent step of one sample."""
        self.runner.run(stage_name, cookie)

    def start(self) -> None:
        self.services.ensure_baseline()
        for target, name in (
            (self._dispatch_loop, "dispatcher"),
            (self._schedule_loop, "certified-builds"),
        ):
            thread = threading.Thread(target=target, name=f"backoffice-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.executor.shutdown(wait=True)
        self.services.close()

    # -- dispatching -------------------------------------------------------------------
    def dispatch_once(self) -> int:
        """Submit a step for every sample that is due; returns how many."""
        now = self.services.clock.now()
        with unit_of_work(self.services.store.sessions) as session:
            due = session.execute(
                select(Analysis.cookie, Analysis.state)
                .where(Analysis.state.in_([s.value for s in working_states()]))
                .where(or_(Analysis.claimed_until.is_(None), Analysis.claimed_until < now))
                .where(or_(Analysis.not_before.is_(None), Analysis.not_before <= now))
                .order_by(Analysis.id)
                .limit(DISPATCH_BATCH)
            ).all()
        for cookie, state in due:
            stage = stage_for(state)
            if stage is not None:
                self.executor.submit(stage.name, cookie)
        return len(due)

    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("dispatch failed")
            self._stop.wait(self.config.backoffice.poll_interval_s)

    # -- certified builds ----------------------------------------------------------------
    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.certified_build_if_due()
            except Exception:
                log.exception("certified build failed")
            self._stop.wait(
                min(
                    60.0,
                    max(
                        1.0,
                        self.services.clock.real_seconds(
                            self.config.backoffice.certified_build_interval_s
                        )
                        / 10,
                    ),
                )
            )

    def certified_build_if_due(self) -> int | None:
        """Build, test and publish a certified full set when the schedule says so.

        Returns the sequence published (None when not due, the builder is busy, or the
        unit tests failed: then the sequence is abandoned)."""
        services = self.services
        if not certified_build_due(services):
            return None
        done = certified_release(services)
        if done is None:
            return None
        if not done.published:
            log.error("certified set %s abandoned: %s", done.build.sequence, done.failure)
            return None
        return done.build.sequence

    # -- helpers for tests, the benchmark and run-once ----------------------------------
    def wait_final(self, cookies: list[str], timeout_s: float) -> dict[str, str | None]:
        """Poll until every sample reaches a final (or deferred) state or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            states = self.states(cookies)
            if all(_at_rest(s) for s in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(0.05)

    def states(self, cookies: list[str]) -> dict[str, str | None]:
        with unit_of_work(self.services.store.sessions) as session:
            rows = session.execute(
                select(Analysis.cookie, Analysis.state).where(Analysis.cookie.in_(cookies))
            ).all()
        return {cookie: state for cookie, state in rows}

    def run_inline(self, cookie: str, limit: int = 200) -> str | None:
        """Drive one sample step by step in this thread (debugging, ``run-once``)."""
        runner = StageRunner(self.services)
        for _ in range(limit):
            state = self.states([cookie]).get(cookie)
            stage = stage_for(state)
            if stage is None:
                return state
            with unit_of_work(self.services.store.sessions) as session:
                row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
                row.not_before = None
            runner.run(stage.name, cookie)
        return self.states([cookie]).get(cookie)


def _at_rest(state: str | None) -> bool:
    """Over, or waiting for an analyst: nothing more happens to it on its own."""
    return settled(state) or state == SampleState.DEFERRED.value

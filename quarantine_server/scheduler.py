"""Running the agent's jobs on APScheduler, with intervals that follow the properties."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dis_core.config import Config
from quarantine_server.agent import Agent, AgentAlreadyRunning, renew_lease
from quarantine_server.monitor import holder_name
from quarantine_server.services import Services, sweep_quarantine

log = logging.getLogger(__name__)
MIN_REAL_SECONDS = 0.2
RESCHEDULE_CHECK_S = 5.0


def job_intervals(config: Config) -> dict[str, float]:
    """Simulated seconds between runs of each job."""
    queue = float(config.sample_policy.queue_check_interval_s)
    status = float(config.sample_policy.status_query_interval_s)
    return {
        "scan": queue,
        "submit": queue,
        "defcast": queue,
        "poll": status,
        "definitions": status,
        "certified": float(config.definition_policy.certified_interval_s),
        "monitor": max(1.0, min(60.0, config.alerting.heartbeat_timeout_s / 3)),
    }


def job_functions(
    agent: Agent, monitor: Callable[[], object] | None = None
) -> dict[str, Callable[[], object]]:
    return {
        "scan": agent.scan_pass,
        "submit": agent.submit_pass,
        "defcast": agent.defcast_pass,
        "poll": agent.poll_pass,
        "definitions": agent.definitions_pass,
        "certified": agent.certified_pass,
        "monitor": monitor or agent.monitor_pass,
    }


# What a job's returned count means, for its one log line when it did something
WORK_DONE = {
    "scan": "scanned {} sample(s)",
    "submit": "submitted {} sample(s)",
    "poll": "asked the gateway about {} sample(s)",
    "definitions": "{} sample(s) moved on with new definitions",
    "defcast": "pushed definitions for {} sample(s)",
}


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            done = job()
        except Exception:
            log.exception("agent job %s failed", name)
            return
        if name in WORK_DONE and isinstance(done, int) and done > 0:
            log.info("%s: %s", name, WORK_DONE[name].format(done))

    return run


class AgentScheduler:
    """One BlockingScheduler; every few seconds it re-reads the intervals from the properties."""

    def __init__(self, services: Services, agent: Agent) -> None:
        self.services = services
        self.agent = agent
        self.scheduler = BlockingScheduler(timezone="UTC")
        self.current: dict[str, float] = {}

    def _real(self, simulated: float) -> float:
        return max(MIN_REAL_SECONDS, self.services.clock.real_seconds(simulated))

    def apply_intervals(self) -> None:
        wanted = {k: self._real(v) for k, v in job_intervals(self.agent.config()).items()}
        functions = job_functions(self.agent, self._monitor)
        for name, seconds in wanted.items():
            if self.current.get(name) == seconds:
                continue
            trigger = IntervalTrigger(seconds=seconds)
            if name in self.current:
                self.scheduler.reschedule_job(name, trigger=trigger)
            else:
                self.scheduler.add_job(
                    _guarded(name, functions[name]),
                    trigger,
                    id=name,
                    max_instances=1,
                    coalesce=True,
                )
            self.current[name] = seconds

    def run(self) -> None:
        sweep_quarantine(self.services, older_than=_ten_minutes_ago())
        self.agent.monitor_pass()
        self.apply_intervals()
        self.scheduler.add_job(
            _guarded("reschedule", self.apply_intervals),
            IntervalTrigger(seconds=RESCHEDULE_CHECK_S),
            id="reschedule",
        )
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._stop)
        log.info("Quarantine Agent running: %s", self.current)
        self.scheduler.start()

    def _monitor(self) -> None:
        """The monitor job also renews the database lease; losing it stops this agent."""
        try:
            renew_lease(self.services, holder_name())
        except AgentAlreadyRunning:
            log.error("database lease lost: another agent runs; stopping")
            self.scheduler.shutdown(wait=False)
            return
        self.agent.monitor_pass()

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.scheduler.shutdown(wait=False)


def _ten_minutes_ago() -> float:
    import time

    return time.time() - 600

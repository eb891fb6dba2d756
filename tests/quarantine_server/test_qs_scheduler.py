"""The agent's schedule: intervals from the properties, scaled by the clock, re-read live."""

from __future__ import annotations

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from conftest import Server

from dis_core.clock import ScaledClock
from quarantine_server.agent import Agent
from quarantine_server.scheduler import AgentScheduler, job_intervals
from quarantine_server.services import Services


def _seconds(scheduler: AgentScheduler, job: str) -> float:
    trigger = scheduler.scheduler.get_job(job).trigger
    assert isinstance(trigger, IntervalTrigger)
    return trigger.interval.total_seconds()


def test_intervals_follow_properties_and_clock_speed(server: Server) -> None:
    fast = Services(
        server.services.base_config,
        server.services.db,
        server.services.vault,
        ScaledClock(speed=60),
    )
    schedule = AgentScheduler(fast, Agent(fast))
    server.set_properties("sample_policy", queue_check_interval_s=120, status_query_interval_s=600)
    schedule.apply_intervals()
    assert _seconds(schedule, "scan") == 2.0 and _seconds(schedule, "poll") == 10.0
    assert _seconds(schedule, "certified") == job_intervals(server.config)["certified"] / 60
    server.set_properties("sample_policy", queue_check_interval_s=30)
    schedule.apply_intervals()
    assert _seconds(schedule, "scan") == 0.5 and _seconds(schedule, "submit") == 0.5
    server.set_properties("sample_policy", queue_check_interval_s=1)
    schedule.apply_intervals()
    assert _seconds(schedule, "scan") == 0.2  # never busier than five runs a second


def test_database_lease_keeps_a_second_agent_out(server: Server) -> None:
    from quarantine_server.agent import AgentAlreadyRunning, release_lease, renew_lease, take_lease

    take_lease(server.services, "host-a:1", 300)
    take_lease(server.services, "host-a:1", 300)  # ours already: renewed
    with pytest.raises(AgentAlreadyRunning, match="host-a:1"):
        take_lease(server.services, "host-b:2", 300)
    server.clock.advance(301)  # host-a stopped renewing
    take_lease(server.services, "host-b:2", 300)
    with pytest.raises(AgentAlreadyRunning):
        renew_lease(server.services, "host-a:1")
    release_lease(server.services, "host-b:2")
    take_lease(server.services, "host-c:3", 300)

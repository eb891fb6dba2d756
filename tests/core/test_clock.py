"""The one clock: scaled real time and a manual clock for tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from dis_core.clock import Clock, ManualClock, ScaledClock, utc_now

START = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def test_scaled_clock_runs_an_hour_per_real_second_at_speed_3600() -> None:
    clock = ScaledClock(speed=3600, start=START)
    real_start = time.monotonic()
    time.sleep(0.25)
    simulated = (clock.now() - START).total_seconds()
    real = time.monotonic() - real_start
    assert real * 3600 * 0.8 <= simulated <= (real + 0.05) * 3600 * 1.2
    assert simulated >= 0.2 * 3600


def test_real_time_clock_starts_now_and_follows_the_wall() -> None:
    clock = ScaledClock()
    assert abs((clock.now() - utc_now()).total_seconds()) < 1
    assert clock.now().tzinfo is not None
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() > first


def test_scaled_sleep_takes_simulated_seconds() -> None:
    clock = ScaledClock(speed=36000, start=START)
    assert clock.real_seconds(3600) == pytest.approx(0.1)
    started = time.monotonic()
    clock.sleep(3600)  # an hour at 36000x: a tenth of a real second
    assert 0.09 <= time.monotonic() - started < 1.0
    assert clock.now() - START >= timedelta(hours=1)
    clock.sleep(-5)  # negative is no sleep at all


@pytest.mark.parametrize("speed", [0, -1])
def test_scaled_clock_refuses_non_positive_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        ScaledClock(speed=speed)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    time.sleep(0.01)
    assert clock.now() == START
    assert clock.advance(90) == START + timedelta(seconds=90)
    clock.sleep(3600)
    assert clock.now() == START + timedelta(seconds=3690)
    assert clock.real_seconds(1e6) == 0.0
    clock.set(START)
    assert clock.now() == START


def test_manual_clock_default_start_is_fixed_and_aware() -> None:
    assert ManualClock().now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_manual_clock_is_safe_across_threads() -> None:
    clock = ManualClock(START)
    threads = [
        threading.Thread(target=lambda: [clock.advance(1) for _ in range(500)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == START + timedelta(seconds=2000)


def test_both_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [ScaledClock(), ManualClock()]
    for clock in clocks:
        assert isinstance(clock.now(), datetime)

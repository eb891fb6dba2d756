"""The one clock every part reads time from.

Intervals in configuration are real units (seconds). A trainer speeds the clock up
(``speed=60``: a simulated hour passes in a real minute); tests use :class:`ManualClock`
and move time by hand. Simulated time starts at the real time when the clock is made.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def real_seconds(self, simulated_seconds: float) -> float: ...


class ScaledClock:
    """Wall-clock time, optionally running ``speed`` times faster than real time."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be greater than 0")
        self.speed = speed
        self._origin_sim = start or datetime.now(UTC)
        self._origin_real = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin_real) * self.speed
        return self._origin_sim + timedelta(seconds=elapsed)

    def real_seconds(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.speed

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of simulated time."""
        time.sleep(max(0.0, self.real_seconds(seconds)))


class ManualClock:
    """A clock that moves only when told; ``sleep`` advances it at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def real_seconds(self, simulated_seconds: float) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)

"""The one clock every part reads time from.

Intervals in configuration are real units (seconds). A trainer speeds the clock up
(``speed=60``: a simulated hour passes in a real minute); tests use :class:`ManualClock`
and move time by hand. Simulated time starts at the real time when the clock is made.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dis_core.config import Config


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


EPOCH_FILE = "clock.json"


def shared_clock(data_dir: Path, speed: float) -> ScaledClock:
    """A scaled clock whose origin every process of one installation shares.

    With a speed other than 1, each process's own start time would give it a different
    simulated "now"; the first process writes the origin (real and simulated) into
    ``data_dir/clock.json`` and later ones read it, so all parts agree on the time.
    """
    path = data_dir / EPOCH_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return _clock_from_epoch(json.loads(path.read_text(encoding="utf-8")), speed)
    epoch = {"real": time.time(), "simulated": datetime.now(UTC).isoformat(), "speed": speed}
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(epoch, handle)
    return _clock_from_epoch(epoch, speed)


def _clock_from_epoch(epoch: dict[str, Any], speed: float) -> ScaledClock:
    speed = float(epoch.get("speed", speed))
    real_elapsed = time.time() - float(epoch["real"])
    simulated_origin = datetime.fromisoformat(str(epoch["simulated"]))
    return ScaledClock(speed, simulated_origin + timedelta(seconds=real_elapsed * speed))


def clock_for(config: Config) -> Clock:
    """The clock every process of an installation should use."""
    return shared_clock(Path(config.general.data_dir), config.clock.speed)

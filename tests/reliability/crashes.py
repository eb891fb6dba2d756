"""kill -9 of the loop's processes at random moments while endpoints forward samples, then a
restart of what was killed; shared by test_crashes.py and bench/soak_crashes.py."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from .loadgen import LoadResult, run_load
from .loop import RunningLoop

PROCESSES = ("qserver-web", "qserver-agent", "gateway", "backoffice")


@dataclass
class CrashLog:
    seed: int
    kills: list[tuple[float, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"seed {self.seed}: " + ", ".join(f"{name}@{at:.1f}s" for at, name in self.kills)


def kill_and_restart(loop: RunningLoop, name: str, down_s: float) -> None:
    service = loop.stack.service(name)
    service.stop(kill=True)  # SIGKILL to the whole process group: no clean-up code runs
    time.sleep(down_s)
    service.start()
    service.wait_ready(90)


def crash_while_forwarding(
    loop: RunningLoop,
    endpoints: int,
    samples: int,
    *,
    seed: int,
    rounds: int = 1,
    pace_s: float = 1.5,
) -> tuple[LoadResult, CrashLog]:
    """Forward in the background; meanwhile kill each process (in random order) at random times."""
    rng = random.Random(seed)
    log = CrashLog(seed)
    outcome: dict[str, LoadResult] = {}
    forwarding = threading.Thread(
        target=lambda: outcome.setdefault(
            "load", run_load(loop, endpoints, samples, resend_every=7, pace_s=pace_s)
        )
    )
    started = time.monotonic()
    forwarding.start()
    for _ in range(rounds):
        for name in rng.sample(PROCESSES, len(PROCESSES)):
            time.sleep(rng.uniform(0.2, 1.5))
            log.kills.append((time.monotonic() - started, name))
            kill_and_restart(loop, name, rng.uniform(0.1, 1.0))
    forwarding.join()
    return outcome["load"], log

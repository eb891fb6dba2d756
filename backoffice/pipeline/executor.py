"""Where stage steps run. The pipeline only ever calls ``Executor.submit(stage_name, cookie)``;
a step is idempotent and keyed by the sample, with all state in the database, so any executor
that eventually calls ``runner.run(stage_name, cookie)`` once or more is correct.

:class:`InProcessExecutor` runs steps on a thread pool in this process (the embedded default);
a Celery executor (a later issue) only has to implement the same two methods.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

log = logging.getLogger(__name__)

StepFunction = Callable[[str, str], None]


class Executor(Protocol):
    def submit(self, stage_name: str, cookie: str) -> None:
        """Run one step of ``stage_name`` for the sample ``cookie`` some time soon."""
        ...

    def shutdown(self, wait: bool = True) -> None: ...


class InProcessExecutor:
    """A bounded thread pool; a step already queued or running for a sample is not queued twice."""

    def __init__(self, step: StepFunction, workers: int) -> None:
        self._step = step
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backoffice")
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, stage_name: str, cookie: str) -> None:
        key = (stage_name, cookie)
        with self._lock:
            if self._closed or key in self._busy:
                return
            self._busy.add(key)
        future = self._pool.submit(self._step, stage_name, cookie)
        future.add_done_callback(lambda f: self._done(key, f))

    def _done(self, key: tuple[str, str], future: Future[None]) -> None:
        with self._lock:
            self._busy.discard(key)
        error = future.exception()
        if error is not None:  # the runner records failures itself; this is a bug in it
            log.error("step %s for %s escaped the runner: %r", key[0], key[1], error)

    def busy(self) -> int:
        with self._lock:
            return len(self._busy)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

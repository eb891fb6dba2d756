"""The back office's one Celery task, run one stage step, and what a worker process opens
for it.

Delivery is at-least-once by design: a task is acknowledged only after it ran
(``acks_late``), and a worker process that dies mid-step (killed, out of memory) hands its
task back to the broker (``reject_on_worker_lost``). Running a step twice is harmless because
the runner claims the sample in the database first and every stage is idempotent; a step whose
worker died keeps its claim until the lease runs out, after which the dispatcher (or the
redelivered task) takes the sample over. So a sample reaches its final state exactly once.
The sender (the dispatcher's executor) needs none of this module: it sends by task name.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass

from celery import Task

from backoffice.pipeline.distributed.app import STEP_TASK, app, current_config
from backoffice.pipeline.distributed.executor import CeleryExecutor
from backoffice.pipeline.distributed.lease import LeaseKeeper
from backoffice.pipeline.runner import StageRunner
from backoffice.services import Goodware, Services
from dis_core.config import Config

log = logging.getLogger(__name__)
MAX_TASK_RETRIES = 5
RETRY_BACKOFF_MAX_S = 30


@dataclass
class WorkerRuntime:
    """What one worker process opens once: the back office's services and a runner."""

    services: Services
    runner: StageRunner
    executor: CeleryExecutor
    pid: int


_runtime: WorkerRuntime | None = None
_preloaded_goodware: Goodware | None = None  # loaded before the pool forks


def runtime() -> WorkerRuntime:
    """Opened in the process that runs the task (after the fork), never inherited from a parent."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        config = current_config()
        services = Services.open(config, goodware=_preloaded_goodware)
        _prepare_goodware(services)
        executor = CeleryExecutor(config)
        _runtime = WorkerRuntime(
            services, StageRunner(services, on_next=executor.submit), executor, os.getpid()
        )
    return _runtime


def preload_goodware(config: Config) -> None:
    """Load the goodware model in the worker's main process, before the pool forks: every
    pool process then shares it (copy-on-write) and is ready for its first step at once.
    Only the model is kept; the database engine used to find it is closed before the fork."""
    global _preloaded_goodware
    services = Services.open(config)
    try:
        _prepare_goodware(services)
        _preloaded_goodware = services.goodware
    finally:
        services.close()


def _prepare_goodware(services: Services) -> None:
    """Load (or build, once) the goodware model before the first step: several worker
    processes starting together would otherwise all build it and race writing its cache."""
    lock_path = services.store.root / "ngram.lock"
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the first process builds; the others then load
        try:
            _ = services.goodware
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@app.task(
    name=STEP_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_TASK_RETRIES,
    ignore_result=True,
)
def run_step(task: Task, stage_name: str, cookie: str) -> None:
    """One stage step. Stage failures are recorded on the sample by the runner; what escapes
    it (the database or broker unreachable) is retried with a growing delay."""
    worker = runtime()
    worker.executor.started(stage_name, cookie)
    try:
        with LeaseKeeper(worker.services, cookie, worker.runner.worker):
            worker.runner.run(stage_name, cookie)
    except Exception as exc:
        delay = min(RETRY_BACKOFF_MAX_S, 2 ** (task.request.retries or 0))
        log.warning(
            "step %s for %s failed outside the runner; retrying",
            stage_name,
            cookie,
            exc_info=exc,
        )
        raise task.retry(exc=exc, countdown=delay) from exc

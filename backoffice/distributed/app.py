"""The Celery application of the back office and its one task: run one stage step.

Delivery is at-least-once by design: a task is acknowledged only after it ran
(``acks_late``), and a worker process that dies mid-step (killed, out of memory) hands its
task back to the broker (``reject_on_worker_lost``). Running a step twice is harmless because
the runner claims the sample in the database first and every stage is idempotent; a step whose
worker died keeps its claim until the lease runs out, after which the dispatcher (or the
redelivered task) takes the sample over. So a sample reaches its final state exactly once.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task

from dis_core.config import Config, load_config

log = logging.getLogger(__name__)

STEP_TASK = "backoffice.step"
QUEUE = "dis-backoffice"
MAX_TASK_RETRIES = 5
RETRY_BACKOFF_MAX_S = 30
# a broker message whose consumer vanished without a word comes back after this long
VISIBILITY_SLACK_S = 60.0

app = Celery("dis-backoffice")
_config: Config | None = None


def configure(config: Config) -> Celery:
    """Point the application at the configured broker; every process calls this first."""
    global _config
    if _config is not None and _config.backoffice.broker_url != config.backoffice.broker_url:
        _forget_connections()
    _config = config
    app.conf.update(
        broker_url=config.backoffice.broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout_s(config)},
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,  # a busy worker does not sit on steps others could run
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
    )
    return app


def _forget_connections() -> None:
    """Celery keeps its broker connections and producers for the app's lifetime; after the
    broker changes (one process configured twice, as in tests) they would keep sending to
    the old one. Celery has no public call for this, so its two caches are dropped here."""
    pool = app.__dict__.get("_pool")
    if pool is not None:
        pool.force_close_all()
        app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def visibility_timeout_s(config: Config) -> int:
    return int(config.backoffice.lease_s + VISIBILITY_SLACK_S)


def current_config() -> Config:
    """The configuration :func:`configure` was given, else the one from the environment."""
    global _config
    if _config is None:
        _config = load_config()
    return _config


@dataclass
class WorkerRuntime:
    """What one worker process opens once: the back office's services and a runner."""

    services: Any  # backoffice.services.Services (imported lazily: the sender needs none of it)
    runner: Any  # backoffice.runner.StageRunner
    executor: Any  # backoffice.distributed.executor.CeleryExecutor
    pid: int


_runtime: WorkerRuntime | None = None
_preloaded_goodware: Any = None  # backoffice.services.Goodware, loaded before the pool forks


def runtime() -> WorkerRuntime:
    """Opened in the process that runs the task (after the fork), never inherited from a parent."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        from backoffice.distributed.executor import CeleryExecutor
        from backoffice.runner import StageRunner
        from backoffice.services import Services

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
    from backoffice.services import Services

    services = Services.open(config)
    try:
        _prepare_goodware(services)
        _preloaded_goodware = services.goodware
    finally:
        services.close()


def _prepare_goodware(services: Any) -> None:
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
def run_step(task: Task, stage_name: str, cookie: str) -> None:  # type: ignore[type-arg]
    """One stage step. Stage failures are recorded on the sample by the runner; what escapes
    it (the database or broker unreachable) is retried with a growing delay."""
    from backoffice.distributed.lease import LeaseKeeper

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

"""The Celery application of the back office: its broker settings and queue (the task that
runs one stage step is in :mod:`backoffice.pipeline.distributed.tasks`).
"""

from __future__ import annotations

from celery import Celery

from dis_core.config import Config, load_config

STEP_TASK = "backoffice.step"
QUEUE = "dis-backoffice"
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

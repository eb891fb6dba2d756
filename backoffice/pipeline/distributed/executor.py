"""The Celery executor: ``submit`` sends a stage step to the broker, any worker runs it.

The dispatcher looks for due samples several times a second; without care every look would
queue the same step again while it waits in the broker. A short-lived Redis key per queued
step (``SET NX`` with an expiry) keeps one copy queued; the worker deletes the key when the
step starts, so a step that is due again later can be queued again. A duplicate that slips
through (broker other than Redis, expired key) costs one no-op claim attempt, nothing more.
"""

from __future__ import annotations

import logging
import threading

import redis

from backoffice.pipeline.distributed.app import QUEUE, STEP_TASK, configure, visibility_timeout_s
from dis_core.config import Config

log = logging.getLogger(__name__)
MARK_PREFIX = "dis:backoffice:queued"
MIN_MARK_TTL_S = 30.0


class CeleryExecutor:
    """Implements :class:`backoffice.pipeline.executor.Executor` on a Celery broker."""

    def __init__(self, config: Config) -> None:
        self.app = configure(config)
        broker = config.backoffice.broker_url
        self._marks = redis.Redis.from_url(broker) if broker.startswith("redis") else None
        self._mark_ttl_s = mark_ttl_s(config)
        self._closed = threading.Event()

    def submit(self, stage_name: str, cookie: str) -> None:
        if self._closed.is_set() or not self._mark(stage_name, cookie):
            return
        try:
            self.app.send_task(STEP_TASK, args=[stage_name, cookie], queue=QUEUE)
        except Exception:  # the sample stays due; the dispatcher sends it again later
            self.started(stage_name, cookie)
            log.exception("could not queue %s for %s", stage_name, cookie)

    def started(self, stage_name: str, cookie: str) -> None:
        """Called by the worker as the step begins: the step may be queued again from now on."""
        if self._marks is not None:
            self._marks.delete(_key(stage_name, cookie))

    def queued(self, stage_name: str, cookie: str) -> bool:
        return self._marks is not None and bool(self._marks.exists(_key(stage_name, cookie)))

    def shutdown(self, wait: bool = True) -> None:
        """Stop sending; queued steps stay in the broker for the workers (nothing is lost)."""
        self._closed.set()
        if self._marks is not None:
            self._marks.close()

    def _mark(self, stage_name: str, cookie: str) -> bool:
        if self._marks is None:
            return True
        try:
            return bool(
                self._marks.set(_key(stage_name, cookie), "1", nx=True, ex=self._mark_ttl_s)
            )
        except redis.RedisError:
            log.exception("broker unreachable; %s for %s not queued now", stage_name, cookie)
            return False


def mark_ttl_s(config: Config) -> int:
    """How long a queued-step mark lives (real seconds). A sender that dies between setting
    the mark and sending leaves it behind, holding the step back until it expires, so it is
    about one lease (the delay a dead worker causes anyway), at least half a minute so that a
    step waiting in a long queue is not queued again and again, and never beyond the broker's
    visibility timeout."""
    lease_real_s = config.backoffice.lease_s / config.clock.speed
    return int(min(visibility_timeout_s(config), max(MIN_MARK_TTL_S, lease_real_s)))


def _key(stage_name: str, cookie: str) -> str:
    return f"{MARK_PREFIX}:{stage_name}:{cookie}"

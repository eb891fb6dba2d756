"""The Celery executor against a real Redis broker (no worker: what lands in the queue)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import redis

from backoffice.pipeline.distributed.app import QUEUE, STEP_TASK, visibility_timeout_s
from backoffice.pipeline.distributed.executor import CeleryExecutor, mark_ttl_s
from backoffice.pipeline.executor import InProcessExecutor
from backoffice.service import executor_for
from dis_core.config import Config, load_config


def _config(tmp_path: Path, broker: str, **backoffice: object) -> Config:
    settings: dict[str, object] = {"executor": "celery", "broker_url": broker}
    settings.update(backoffice)
    return load_config(
        environ={}, overrides={"general": {"data_dir": str(tmp_path)}, "backoffice": settings}
    )


def _queued(broker: str) -> list[tuple[str, list[str]]]:
    client = redis.Redis.from_url(broker)
    messages = [json.loads(raw) for raw in client.lrange(QUEUE, 0, -1)]
    client.close()
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_a_step_is_queued_once_until_a_worker_starts_it(tmp_path: Path, broker: str) -> None:
    executor = CeleryExecutor(_config(tmp_path, broker))
    executor.submit("classifier", "c-1")
    executor.submit("classifier", "c-1")  # the dispatcher looks again before a worker took it
    executor.submit("scorer", "c-2")
    assert sorted(_queued(broker)) == [
        (STEP_TASK, ["classifier", "c-1"]),
        (STEP_TASK, ["scorer", "c-2"]),
    ]
    assert executor.queued("classifier", "c-1")
    executor.started("classifier", "c-1")  # a worker began it: due again later means queued again
    executor.submit("classifier", "c-1")
    assert len(_queued(broker)) == 3
    executor.shutdown()


@pytest.mark.parametrize(
    ("lease_s", "speed", "expected"),
    [(3.0, 1.0, 30), (600.0, 1.0, 600), (600.0, 120.0, 30), (90.0, 1.0, 90)],
)
def test_queued_marks_expire_after_about_one_lease(
    tmp_path: Path, broker: str, lease_s: float, speed: float, expected: int
) -> None:
    config = _config(tmp_path, broker, lease_s=lease_s)
    config.clock.speed = speed
    assert mark_ttl_s(config) == expected <= visibility_timeout_s(config)
    executor = CeleryExecutor(config)
    executor.submit("classifier", "c-9")
    ttl = redis.Redis.from_url(broker).ttl("dis:backoffice:queued:classifier:c-9")
    assert expected - 2 <= ttl <= expected
    executor.shutdown()


def test_nothing_is_sent_after_shutdown(tmp_path: Path, broker: str) -> None:
    executor = CeleryExecutor(_config(tmp_path, broker))
    executor.shutdown()
    executor.submit("classifier", "c-1")
    assert _queued(broker) == []


def test_an_unreachable_broker_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    executor = CeleryExecutor(_config(tmp_path, "redis://127.0.0.1:1/0"))
    executor.submit("classifier", "c-1")  # the sample stays due: the next dispatch sends it
    assert "broker unreachable; classifier for c-1 not queued now" in caplog.text
    executor.shutdown()


def test_configuration_chooses_the_executor(tmp_path: Path, broker: str) -> None:
    celery = executor_for(_config(tmp_path, broker), lambda s, c: None)
    assert isinstance(celery, CeleryExecutor)
    celery.shutdown()
    embedded = executor_for(_config(tmp_path, broker, executor="inprocess"), lambda s, c: None)
    assert isinstance(embedded, InProcessExecutor)
    embedded.shutdown()

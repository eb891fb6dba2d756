"""Process logging: text or JSON lines, the scheduler's chatter quiet, one line per agent job
that did something."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dis_core.cli import Context
from dis_core.config import ConfigError, load_config
from dis_core.logs import JsonLines
from quarantine_server.scheduler import _guarded

EMIT = """
import logging
from dis_core.logs import configure_logging
configure_logging("json")
log = logging.getLogger("dis.test")
log.info("forwarded %s", "日本語-wörm.exe")
logging.getLogger("apscheduler.executors.default").info("Running job ...")
try:
    raise ValueError("bad chunk")
except ValueError:
    log.exception("intake failed")
"""


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Whatever a test does to the root logger is undone after it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def test_json_logs_are_one_object_per_line_and_the_scheduler_is_quiet() -> None:
    done = subprocess.run(
        [sys.executable, "-c", EMIT], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(r["level"], r["logger"]) for r in lines] == [
        ("INFO", "dis.test"),
        ("ERROR", "dis.test"),
    ]
    assert lines[0]["message"] == "forwarded 日本語-wörm.exe"
    assert lines[0]["at"].endswith("+00:00")
    assert "ValueError: bad chunk" in lines[1]["exception"]


def test_a_parts_process_logs_in_the_configured_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    monkeypatch.setenv("DIS_GENERAL__LOG_FORMAT", "json")
    Context(None, str(tmp_path)).part_config()
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonLines)
    assert not logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.INFO)


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="log_format"):
        load_config(None, overrides={"general": {"log_format": "xml"}})


def test_an_agent_job_logs_one_line_when_it_did_something(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="quarantine_server.scheduler")
    _guarded("submit", lambda: 3)()
    _guarded("submit", lambda: 0)()
    _guarded("certified", lambda: 7)()  # returns the active sequence, not work done
    assert caplog.messages == ["submit: submitted 3 sample(s)"]

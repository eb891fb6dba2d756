"""Fixtures: the whole loop as real processes (the launcher's Stack) in a temporary data
directory, with known secrets so the tests can look for them in the logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .loop import RunningLoop, start_loop


@pytest.fixture(autouse=True)
def _no_dis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the shell that runs it."""
    for name in list(os.environ):
        if name.startswith("DIS_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLoop]:
    running = start_loop(tmp_path_factory.mktemp("loop") / "data")
    yield running
    running.stop()


@pytest.fixture
def fresh_loop(tmp_path: Path) -> Iterator[RunningLoop]:
    running = start_loop(tmp_path / "data")
    yield running
    running.stop()

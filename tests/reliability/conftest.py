"""Fixtures: the whole loop as real processes (the launcher's Stack) in a temporary data
directory, with known secrets so the tests can look for them in the logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .loop import RunningLoop, start_loop


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

"""Fixtures every test gets."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# The README's test command (scripts/test.sh) runs with this profile: property tests draw the same
# examples on every run, so CI's verdict on a commit is repeatable. Running pytest directly keeps
# Hypothesis's random exploration, which is how new counterexamples are found.
settings.register_profile("repeatable", derandomize=True)


@pytest.fixture(autouse=True)
def _no_dis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the shell that runs it (the developer's own
    DIS_ variables must not leak into what a test sees)."""
    for name in list(os.environ):
        if name.startswith("DIS_"):
            monkeypatch.delenv(name)

"""Fixtures every test gets."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_dis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the shell that runs it (the developer's own
    DIS_ variables must not leak into what a test sees)."""
    for name in list(os.environ):
        if name.startswith("DIS_"):
            monkeypatch.delenv(name)

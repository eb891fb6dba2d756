"""Shared helpers for the simulated-world tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dis_core.simworld.goats import Goat, binary_goats, document_goats
from dis_core.simworld.vfs import Event, VirtualFS

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FRIDAY_13 = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)


def goat_vfs(goats: list[Goat]) -> VirtualFS:
    vfs = VirtualFS()
    for goat in goats:
        vfs.write(goat.path, goat.data)
    return vfs


def open_events(goats: list[Goat]) -> list[Event]:
    return [Event("open", goat.path) for goat in goats]


@pytest.fixture(scope="session")
def bgoats() -> list[Goat]:
    return binary_goats(11)


@pytest.fixture(scope="session")
def dgoats() -> list[Goat]:
    return document_goats(11)

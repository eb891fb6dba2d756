"""Shared helpers for the simulated-world tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simworld.goats import Goat, binary_goats, document_goats
from simworld.vfs import Event, VirtualFS

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


def quiet_olevba():  # noqa: ANN201 - returns the oletools.olevba module
    """oletools.olevba, imported with pyparsing's deprecation warnings silenced (pytest makes
    warnings errors, and olevba calls a renamed pyparsing function at import time)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools import olevba
    return olevba


def extract_macros(name: str, data: bytes) -> dict[str, str]:
    """{module file name: code} as olevba extracts them."""
    import warnings

    olevba = quiet_olevba()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parser = olevba.VBA_Parser(name, data=data)
        try:
            if not parser.detect_vba_macros():
                return {}
            return {stream: code for _f, _s, stream, code in parser.extract_macros()}
        finally:
            parser.close()

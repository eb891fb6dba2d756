"""Optional packages. The embedded default needs none of them; the scale-out loop (PostgreSQL,
Celery workers, a Redis broker) needs the ``scaleout`` extra, and says so in one line when the
extra is missing instead of failing with an import traceback."""

from __future__ import annotations

import importlib
from types import ModuleType

SCALEOUT_INSTALL = "pip install 'digital-immune-system[scaleout]'"


class MissingExtra(RuntimeError):
    """A feature was asked for whose optional package is not installed."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or explain which extra provides it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as missing:
        raise MissingExtra(
            f"{feature} needs the Python package {missing.name!r}, which is not installed "
            f"(install the scale-out extra: {SCALEOUT_INSTALL})"
        ) from None

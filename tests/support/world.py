"""The one test world: the configuration every part's tests build their runs from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dis_core.config import Config, load_config


def config_for(data_dir: Path, **sections: Mapping[str, Any]) -> Config:
    """A test's configuration: its own data directory, nothing from the shell's environment or
    a file, and the given sections laid over the defaults (``general={...}`` included)."""
    overrides: dict[str, dict[str, Any]] = {"general": {"data_dir": str(data_dir)}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(None, environ={}, overrides=overrides)

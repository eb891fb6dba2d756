"""Where the real files nobody here wrote live: ``../shared/corpus`` beside the project (its
README says tests read them from there), else the folder DIS_TEST_CORPUS names, else the
workplace's shared folder (CI may clone the project somewhere else on the same machine)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
WORKPLACE_CORPUS = Path("/work/shared/corpus")


def _corpus() -> Path:
    named = os.environ.get("DIS_TEST_CORPUS")
    if named:
        return Path(named)
    beside = PROJECT.parent / "shared" / "corpus"
    return beside if beside.is_dir() else WORKPLACE_CORPUS


SHARED_CORPUS = _corpus()

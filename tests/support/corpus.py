"""Where the real files nobody here wrote live: ``../shared/corpus`` beside the project (its
README says tests read them from there), or the folder DIS_TEST_CORPUS names."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SHARED_CORPUS = Path(os.environ.get("DIS_TEST_CORPUS") or PROJECT.parent / "shared" / "corpus")

"""Shared fixtures for the core tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from dis_core.certs import CertPaths, generate

# Hypothesis keeps caches in .hypothesis/ of the working directory; keep the repository clean.
set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "dis-core-hypothesis"))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """One throwaway CA with server and client certificates for the whole session."""
    return generate(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def other_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """A second, unrelated CA: nothing it signs may be trusted by the first."""
    return generate(tmp_path_factory.mktemp("other-certs"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path

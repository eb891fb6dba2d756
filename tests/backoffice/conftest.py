"""Shared fixtures: a bounded goodware corpus (one n-gram model per session) and helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backoffice.analysis.goodware import CorpusLimits, GoodwareCorpus
from backoffice.link import BackOfficeLink
from backoffice.service import BackOffice
from backoffice.services import Goodware
from dis_core.clock import ScaledClock
from dis_core.config import Config
from tests.support.corpus import SHARED_CORPUS
from tests.support.world import config_for

# A Monday in March that is not the 13th: date triggers must be found, not stumbled upon.
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SMALL_CORPUS = CorpusLimits(documents=8 * 2**20, python_pe=3 * 2**20, elf=3 * 2**20, extra=0)


def shared_corpus() -> Path:
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def goodware(tmp_path_factory: pytest.TempPathFactory) -> Goodware:
    """The real goodware sources, bounded so the model builds in a couple of seconds."""
    corpus = GoodwareCorpus.discover([], SMALL_CORPUS)
    return Goodware.prepare(corpus, tmp_path_factory.mktemp("ngram"), bucket_bits=20)


def make_config(data_dir: Path, **backoffice: object) -> Config:
    return config_for(data_dir, backoffice={"workers": 2, "poll_interval_s": 0.05, **backoffice})


@pytest.fixture
def office_factory(goodware: Goodware) -> Iterator[object]:
    """Build back offices on temporary data directories; stopped at the end of the test."""
    made: list[BackOffice] = []

    def make(data_dir: Path, **backoffice: object) -> BackOffice:
        office = BackOffice(
            make_config(data_dir, **backoffice), ScaledClock(start=MONDAY), goodware=goodware
        )
        office.services.ensure_baseline()
        made.append(office)
        return office

    yield make
    for office in made:
        office.stop()


def submit(link: BackOfficeLink, cookie: str, data: bytes) -> None:
    link.import_sample(cookie, hashlib.sha256(data).hexdigest(), data, {})

"""The back office's metrics and readiness. Analyses by state (each working state is a stage's
queue) and the newest published set are read from the database and the repository at scrape
time; stage durations are measured where the steps run, in this process's registry (steps that
Celery workers run are timed in the workers, which keep their own)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import Metric

from backoffice.services import Services
from backoffice.store.models import Analysis
from dis_core.operations import counts_by, database_problems, gauge, labelled_gauge

STAGE_DURATIONS = CollectorRegistry(auto_describe=True)
STAGE_SECONDS = Histogram(
    "dis_backoffice_stage_seconds",
    "Wall seconds per stage step, by stage and how it ended (moved, retry, error)",
    ["stage", "outcome"],
    registry=STAGE_DURATIONS,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def scrape(services: Services) -> Iterator[Metric]:
    with services.store.sessions() as session:
        by_state = counts_by(session, Analysis.state)
    yield labelled_gauge("dis_backoffice_analyses", "Analyses by state", "state", by_state)
    yield gauge(
        "dis_backoffice_published_sequence",
        "Newest published definition set (0: none)",
        services.repository.newest_sequence() or 0,
    )


def readiness(services: Services) -> list[str]:
    return database_problems(services.store.sessions, "database")

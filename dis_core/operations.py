"""What operations tooling asks every part: ``/metrics`` (Prometheus text format), ``/livez``
(the process answers) and ``/readyz`` (it can do its work: database reachable, folders usable).

None of the three needs credentials, so a load balancer or Prometheus can reach them; they
carry counts and problems, never sample content, names or secrets. Figures a part keeps in its
database are read at scrape time, so every worker process of a part reports the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

Scrape = Callable[[], Iterable[Metric]]
ReadinessCheck = Callable[[], list[str]]  # the problems found; empty when ready


class ScrapeCollector(Collector):
    """A collector whose metrics are computed afresh by ``scrape`` on every request."""

    def __init__(self, scrape: Scrape) -> None:
        self._scrape = scrape

    def collect(self) -> Iterator[Metric]:
        yield from self._scrape()


def counts_by(session: Session, column: InstrumentedAttribute[Any]) -> dict[str, int]:
    """Rows per value of ``column`` (a missing value counts as "none")."""
    rows = session.execute(select(column, func.count()).group_by(column))
    return {str(value) if value is not None else "none": count for value, count in rows}


def labelled_gauge(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in sorted(values.items()):
        family.add_metric([value], count)
    return family


def labelled_counter(
    name: str, doc: str, label: str, values: dict[str, int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for value, count in sorted(values.items()):
        family.add_metric([value], count)
    return family


def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def operations_blueprint(
    part: str,
    scrape: Scrape,
    readiness: ReadinessCheck,
    registries: Iterable[CollectorRegistry] = (),
) -> Blueprint:
    """The three routes for one part. ``registries`` hold in-process metrics (for example the
    back office's stage durations) shown after the scraped ones."""
    blueprint = Blueprint("operations", __name__)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(ScrapeCollector(scrape))
    sources = [scraped, *registries]

    @blueprint.get("/metrics")
    def metrics() -> Response:
        body = b"".join(generate_latest(registry) for registry in sources)
        return Response(body, content_type=CONTENT_TYPE_LATEST)

    @blueprint.get("/livez")
    def livez() -> Response:
        return jsonify({"part": part, "live": True})

    @blueprint.get("/readyz")
    def readyz() -> tuple[Response, int]:
        problems = readiness()
        return jsonify({"part": part, "ready": not problems, "problems": problems}), (
            503 if problems else 200
        )

    return blueprint


def database_problems(session_factory: Callable[[], Session], what: str) -> list[str]:
    """[] when a ``SELECT 1`` works, else one line saying why not."""
    try:
        with session_factory() as session:
            session.execute(select(1))
    except Exception as exc:  # any failure means not ready; the reason is the answer
        return [f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
    return []

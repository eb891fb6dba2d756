"""The gateway's metrics and readiness, read from its database at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from dis_core.operations import counts_by, database_problems, gauge, labelled_gauge
from dis_core.protocol.errors import ProtocolError
from gateway_sim.models import Submission
from gateway_sim.services import GatewayServices


def scrape(gateway: GatewayServices) -> Iterator[Metric]:
    with gateway.sessions() as session:
        by_state = counts_by(session, Submission.state)
    yield labelled_gauge(
        "dis_gateway_submissions", "Submissions by vendor state", "state", by_state
    )
    yield gauge(
        "dis_gateway_definitions_sequence",
        "Newest definition set the gateway serves (0: none published)",
        _newest(gateway),
    )


def _newest(gateway: GatewayServices) -> int:
    try:
        return gateway.catalog.repository().newest_sequence() or 0
    except ProtocolError:  # nothing published yet
        return 0


def readiness(gateway: GatewayServices) -> list[str]:
    return database_problems(gateway.sessions, "database")

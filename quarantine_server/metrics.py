"""The Quarantine Server's metrics and readiness, read from its database and folders at scrape
time. Each status is a queue of the guide's model (quarantined samples wait to be scanned and
submitted, submitted ones wait for the vendor, released ones for delivery), so samples by status
are the queue depths."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client.metrics_core import Metric
from sqlalchemy import select

from dis_core.operations import (
    counts_by,
    database_problems,
    gauge,
    labelled_counter,
    labelled_gauge,
)
from quarantine_server.definitions import DefinitionsUnavailable, open_definitions
from quarantine_server.intake import quarantine_usage
from quarantine_server.models import EventRecord, Heartbeat, Sample
from quarantine_server.services import Services


def scrape(services: Services) -> Iterator[Metric]:
    with services.work() as session:
        config = services.config(session)
        by_status = counts_by(session, Sample.status)
        events = counts_by(session, EventRecord.event)
        beats = {h.service: h.beat_at for h in session.scalars(select(Heartbeat))}
        used = quarantine_usage(session)
    now = services.clock.now()
    yield labelled_gauge("dis_quarantine_samples", "Samples by status", "status", by_status)
    yield labelled_counter(
        "dis_quarantine_alert_events", "Alert events raised, by event", "event", events
    )
    yield labelled_gauge(
        "dis_quarantine_heartbeat_age_seconds",
        "Seconds since each service last showed it is alive",
        "service",
        {name: int((now - at).total_seconds()) for name, at in beats.items()},
    )
    yield gauge("dis_quarantine_used_bytes", "Bytes held in the quarantine folder", used)
    limit = config.general.quarantine_max_mb * 1024 * 1024
    yield gauge("dis_quarantine_max_bytes", "Configured quarantine size limit", limit)
    yield gauge(
        "dis_quarantine_free_disk_bytes",
        "Free bytes on the quarantine's disk",
        services.vault.free_disk_bytes(),
    )
    yield gauge(
        "dis_quarantine_definitions_sequence",
        "Sequence number of the active definition set (0: none)",
        _active_sequence(services),
    )


def _active_sequence(services: Services) -> int:
    with services.work() as session:
        config = services.config(session)
    try:
        return open_definitions(services, config).active_sequence
    except DefinitionsUnavailable:
        return 0


def readiness(services: Services) -> list[str]:
    """The database answers and the quarantine folder can be written."""
    problems = database_problems(services.db.sessions, "database")
    if not os.access(services.vault.root, os.W_OK | os.X_OK):
        problems.append(f"quarantine folder {services.vault.root} is not writable")
    return problems

"""Watching the server: heartbeats, samples that stay too long in one status, disk space."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.vocabulary import AlertEvent, SampleStatus
from quarantine_server.alerts import raise_event
from quarantine_server.models import Heartbeat, Sample

S = SampleStatus
AGENT, SCANNER = "agent", "scanner"
TOO_LONG: dict[SampleStatus, tuple[str, AlertEvent]] = {
    S.QUARANTINED: ("too_long_quarantined_s", AlertEvent.SAMPLE_TOO_LONG_QUARANTINED),
    S.RELEASED: ("too_long_released_s", AlertEvent.SAMPLE_TOO_LONG_RELEASED),
    S.SUBMITTED: ("too_long_submitted_s", AlertEvent.SAMPLE_TOO_LONG_SUBMITTED),
    S.NEEDED: ("too_long_needed_s", AlertEvent.SAMPLE_TOO_LONG_NEEDED),
    S.DISTRIBUTE: ("too_long_distribute_s", AlertEvent.SAMPLE_TOO_LONG_DISTRIBUTE),
    S.DISTRIBUTED: ("too_long_distributed_s", AlertEvent.SAMPLE_TOO_LONG_DISTRIBUTED),
}
STOPPED: dict[str, AlertEvent] = {
    AGENT: AlertEvent.AGENT_STOPPED,
    SCANNER: AlertEvent.SCANNER_UNREACHABLE,
}


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(session: Session, service: str, at: datetime, detail: str = "") -> None:
    """Record that ``service`` is alive now."""
    row = session.get(Heartbeat, service)
    if row is None:
        row = Heartbeat(service=service, beat_at=at)
        session.add(row)
    row.beat_at, row.holder, row.detail = at, holder_name(), detail


def beat_recently(session: Session, config: Config, at: datetime, service: str) -> bool:
    """``service`` beat within the heartbeat timeout. When the checking process itself did not
    (it just started, or the clock jumped ahead), another service's old beat says nothing yet:
    that service has not had its turn since."""
    row = session.get(Heartbeat, service)
    limit = timedelta(seconds=config.alerting.heartbeat_timeout_s)
    return row is not None and at - row.beat_at <= limit


def check_heartbeats(
    session: Session, config: Config, at: datetime, services: tuple[str, ...] = (AGENT, SCANNER)
) -> list[str]:
    """Raise the 'stopped' event for each service whose last beat is too old; return them."""
    limit = timedelta(seconds=config.alerting.heartbeat_timeout_s)
    stale = []
    for service in services:
        row = session.get(Heartbeat, service)
        if row is None or at - row.beat_at > limit:
            stale.append(service)
            last = row.beat_at.isoformat() if row else "never"
            key = f"since-{row.beat_at.isoformat()}" if row else "never"
            raise_event(
                session,
                config,
                at,
                STOPPED[service],
                f"no {service} heartbeat since {last}",
                key=key,
            )
    return stale


def check_too_long(session: Session, config: Config, at: datetime) -> int:
    """One event per sample and stay for every status held longer than its threshold."""
    raised = 0
    for status, (setting, event) in TOO_LONG.items():
        limit = at - timedelta(seconds=getattr(config.alerting, setting))
        query = select(Sample).where(Sample.status == status, Sample.status_changed_at < limit)
        for sample in session.scalars(query):
            since = sample.status_changed_at.isoformat()
            text = f"sample {sample.id} ({sample.file_name}) has been {status.value} since {since}"
            if raise_event(
                session, config, at, event, text, sample=sample, key=f"{status.value}@{since}"
            ):
                raised += 1
    return raised

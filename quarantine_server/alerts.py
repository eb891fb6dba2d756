"""Alerting: raise an event of the seed's Table 3-2, log it, and deliver it.

Every raised event is written to the ``events`` table in the same unit of work as the change
that caused it; delivery to syslog (RFC 5424 over UDP), e-mail (SMTP) and a webhook happens
after the commit. An event switched off in the Alerting tab is not raised at all.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.tls import http_session
from dis_core.vocabulary import AlertEvent
from quarantine_server.models import EventRecord, GeneralError, Sample
from quarantine_server.services import after_commit

log = logging.getLogger(__name__)
FACILITY_LOCAL0 = 16
SEVERITY = {"error": 3, "warning": 4, "notice": 5}
_ERRORS = {
    AlertEvent.GATEWAY_UNREACHABLE,
    AlertEvent.DEFCAST_ERROR,
    AlertEvent.TARGET_INSTALL_FAILED,
    AlertEvent.DEFINITION_DIR_UNAVAILABLE,
    AlertEvent.SCANNER_UNREACHABLE,
    AlertEvent.AGENT_STOPPED,
    AlertEvent.SAMPLE_INSTALL_FAILED,
    AlertEvent.SAMPLE_PROCESSING_ERROR,
}
_NOTICES = {AlertEvent.CERTIFIED_DEFS_ARRIVED, AlertEvent.UNCERTIFIED_DEFS_ARRIVED}


def severity(event: AlertEvent) -> str:
    if event in _ERRORS:
        return "error"
    return "notice" if event in _NOTICES else "warning"


def enabled(config: Config, event: AlertEvent) -> bool:
    chosen = config.alerting.enabled_events
    return not chosen or event.value in chosen


def raise_event(
    session: Session,
    config: Config,
    at: datetime,
    event: AlertEvent,
    message: str,
    *,
    sample: Sample | None = None,
    key: str = "",
    quiet_for_s: float | None = None,
) -> EventRecord | None:
    """Record ``event`` and queue its delivery; None when disabled or already raised.

    ``key`` names one occurrence (an event with the same kind, sample and key is raised once);
    ``quiet_for_s`` instead suppresses repeats within that many seconds.
    """
    if not enabled(config, event) or _already(session, at, event, sample, key, quiet_for_s):
        return None
    record = EventRecord(
        at=at, event=event.value, sample_id=sample.id if sample else None, key=key, message=message
    )
    session.add(record)
    payload = _payload(record, event)
    after_commit(session, lambda: deliver(config, payload))
    return record


def _already(
    session: Session,
    at: datetime,
    event: AlertEvent,
    sample: Sample | None,
    key: str,
    quiet_for_s: float | None,
) -> bool:
    query = select(EventRecord.id).where(
        EventRecord.event == event.value,
        EventRecord.sample_id == (sample.id if sample else None),
    )
    if quiet_for_s is not None:
        query = query.where(EventRecord.at > at - timedelta(seconds=quiet_for_s))
    elif key:
        query = query.where(EventRecord.key == key)
    else:
        return False
    return session.scalar(query.limit(1)) is not None


def _payload(record: EventRecord, event: AlertEvent) -> dict[str, object]:
    return {
        "event": event.value,
        "title": event.title,
        "meaning": event.meaning,
        "severity": severity(event),
        "at": record.at.isoformat(),
        "sample_id": record.sample_id,
        "message": record.message,
    }


def general_error(session: Session, at: datetime, source: str, message: str) -> None:
    """Add a line to the General Errors history."""
    session.add(GeneralError(at=at, source=source, message=message[:4000]))


def deliver(config: Config, payload: dict[str, object]) -> None:
    """Send one event to every configured destination; a failing one does not stop the others."""
    alerting = config.alerting
    ca_file = (
        Path(config.web_communication.ca_file)
        if config.web_communication.ca_file
        else config.certs_dir / "ca.pem"
    )
    targets = [
        (alerting.syslog_address, lambda: send_syslog(alerting.syslog_address, config, payload)),
        (
            alerting.smtp_address,
            lambda: send_mail(alerting.smtp_address, alerting.mail_to, payload),
        ),
        (alerting.webhook_url, lambda: send_webhook(alerting.webhook_url, payload, ca_file)),
    ]
    for address, send in targets:
        if not address:
            continue
        try:
            send()
        except (OSError, requests.RequestException, smtplib.SMTPException) as exc:
            log.warning("alert delivery to %s failed: %s", address, exc)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def syslog_line(config: Config, payload: dict[str, object]) -> bytes:
    """An RFC 5424 message: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG."""
    pri = FACILITY_LOCAL0 * 8 + SEVERITY[str(payload["severity"])]
    sample = payload["sample_id"] if payload["sample_id"] is not None else "-"
    structured = f'[dis@32473 event="{payload["event"]}" sample="{sample}"]'
    host = config.general.server_name.replace(" ", "_") or "-"
    text = f"{payload['title']}: {payload['message']}"
    line = (
        f"<{pri}>1 {payload['at']} {host} dis-quarantine - {payload['event']} {structured} {text}"
    )
    return line.encode("utf-8")


def send_syslog(address: str, config: Config, payload: dict[str, object]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(syslog_line(config, payload), _host_port(address))


def send_mail(address: str, to: str, payload: dict[str, object]) -> None:
    if not to:
        return
    message = EmailMessage()
    message["From"] = "dis-quarantine@localhost"
    message["To"] = to
    message["Subject"] = f"[DIS quarantine] {payload['title']}"
    message.set_content(json.dumps(payload, indent=2))
    host, port = _host_port(address)
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.send_message(message)


def send_webhook(url: str, payload: dict[str, object], ca_file: Path) -> None:
    if url.startswith("https://"):
        with http_session(ca_file) as session:
            session.post(url, json=payload, timeout=10).raise_for_status()
        return
    with requests.Session() as plain:
        plain.trust_env = False
        plain.post(url, json=payload, timeout=10).raise_for_status()

"""Intake: a sample forwarded by an endpoint becomes a durable, encrypted quarantine entry.

Order matters for durability: the content is checked, encrypted, written, fsynced and renamed
into the folder, and only then the row is committed; the HTTP reply comes after the commit.
A crash before the commit leaves at most an unreferenced file, which the sweep removes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.lifecycle import transition
from dis_core.protocol import ProtocolError, SampleMessage, unpack_sample
from dis_core.vocabulary import AlertEvent, SampleError, SampleStatus
from dis_core.vocabulary.attributes import Message, format_value, lookup, text_from_header
from dis_core.vocabulary.parts import Part
from quarantine_server.alerts import raise_event
from quarantine_server.models import Sample
from quarantine_server.services import Services

MB = 1024 * 1024
GCM_OVERHEAD = 64  # magic + nonce + tag, with room to spare


class QuotaExceeded(Exception):
    """The quarantine folder has no room for this sample."""

    http_status = 507

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def as_json(self) -> dict[str, str]:
        return {"error": SampleError.DECLINED.value, "message": self.detail}


@dataclass(frozen=True)
class IntakeResult:
    id: int
    status: str
    created: bool
    definitions_needed: int | None = None


def max_sample_bytes(config: Config) -> int:
    return config.general.quarantine_max_mb * MB


def receive(services: Services, headers: Mapping[str, str], body: bytes) -> IntakeResult:
    """Check, store and record one forwarded sample; raise ProtocolError or QuotaExceeded."""
    with services.work() as session:
        config = services.config(session)
    message = unpack_sample(headers, body, Message.FORWARD, max_size=max_sample_bytes(config))
    remember_listener(services, message)
    existing = find_resend(services, message)
    if existing is not None:
        return existing
    try:
        _check_quota(services, config, len(message.content))
    except QuotaExceeded as full:
        with services.work() as session:
            raise_event(
                session,
                config,
                services.clock.now(),
                AlertEvent.QUOTA_LOW,
                f"sample refused: {full.detail}",
                quiet_for_s=600,
            )
        raise
    stored_name, stored_bytes = services.vault.store(message.content)
    try:
        return _record(services, config, message, stored_name, stored_bytes)
    except IntegrityError:
        services.vault.remove(stored_name)  # another worker recorded the same resend first
        again = find_resend(services, message)
        if again is None:
            raise
        return again


def _origin(message: SampleMessage) -> tuple[str, str, str]:
    attrs = message.attributes
    return message.sample_checksum, str(attrs["X-Sample-Id"]), str(attrs["X-Platform-Computer"])


def remember_listener(services: Services, message: SampleMessage) -> None:
    """A computer's Defcast listener is where its newest forward says: an endpoint restarted
    on another port (or without a listener) still gets the cures of its earlier samples."""
    attrs = message.attributes
    address, port = attrs.get("X-Platform-Address"), attrs.get("X-Platform-Port")
    moved = (Sample.computer == str(attrs["X-Platform-Computer"])) & or_(
        Sample.platform_address.is_distinct_from(address),
        Sample.platform_port.is_distinct_from(port),
    )
    with services.work() as session:  # read first: most forwards change nothing
        if session.scalar(select(Sample.id).where(moved).limit(1)) is not None:
            session.execute(
                update(Sample).where(moved).values(platform_address=address, platform_port=port)
            )


def find_resend(services: Services, message: SampleMessage) -> IntakeResult | None:
    checksum, sample_id, computer = _origin(message)
    with services.work() as session:
        sample = session.scalar(
            select(Sample).where(
                Sample.sample_checksum == checksum,
                Sample.endpoint_sample_id == sample_id,
                Sample.computer == computer,
            )
        )
        if sample is None:
            return None
        return IntakeResult(sample.id, str(sample.status), False, sample.definitions_needed)


def quarantine_usage(session: Session) -> int:
    """Bytes the committed samples take in the folder (cheaper than listing the folder)."""
    return int(session.scalar(select(func.coalesce(func.sum(Sample.stored_bytes), 0))) or 0)


def _check_quota(services: Services, config: Config, size: int) -> None:
    limit = max_sample_bytes(config)
    with services.work() as session:
        used = quarantine_usage(session)
    if used + size + GCM_OVERHEAD > limit:
        raise QuotaExceeded(
            f"quarantine folder full: {used} of {limit} bytes used, sample needs {size}"
        )


def _record(
    services: Services, config: Config, message: SampleMessage, stored_name: str, stored_bytes: int
) -> IntakeResult:
    now = services.clock.now()
    with services.work() as session:
        sample = new_sample(config, message, stored_name, stored_bytes, now)
        session.add(sample)
        transition(
            sample,
            at=now,
            actor=Part.QUARANTINE_SERVER,
            reason="forwarded by endpoint",
            status=SampleStatus.QUARANTINED,
        )
        session.flush()
        check_space(session, services, config, now)
        return IntakeResult(sample.id, str(sample.status), True)


def stored_attributes(message: SampleMessage) -> dict[str, str]:
    """The endpoint's own X- attributes as received, and how the message was packed (without
    the one-off scrambling key). What this server, the gateway or the back office set
    (X-Date-Submitted, X-Date-Finished, X-Analysis-*, ...) is theirs to say: ignored."""
    kept = {}
    for name, raw in message.headers.items():
        attribute = lookup(name)
        if attribute is None or attribute.name == "X-Content-Scrambling-Key":
            continue
        if attribute.owner is Part.ENDPOINT or attribute.name.startswith("X-Content-"):
            kept[attribute.name] = text_from_header(raw)  # stored as the sender meant it
    return kept


def new_sample(
    config: Config, message: SampleMessage, stored_name: str, stored_bytes: int, now: datetime
) -> Sample:
    attrs = message.attributes
    priority = (
        config.sample_policy.default_priority if config.sample_policy.automatic_submission else 0
    )
    sample = Sample(
        sample_checksum=message.sample_checksum,
        endpoint_sample_id=str(attrs["X-Sample-Id"]),
        computer=str(attrs["X-Platform-Computer"]),
        user=str(attrs["X-Platform-User"]),
        file_name=str(attrs["X-Sample-File"]),
        size=len(message.content),
        stored_name=stored_name,
        stored_bytes=stored_bytes,
        status=None,
        state=None,
        status_changed_at=now,
        priority=priority,
        received_at=now,
        endpoint_sequence=int(attrs.get("X-Scan-Signatures-Sequence") or 0),
        platform_address=attrs.get("X-Platform-Address"),
        platform_port=attrs.get("X-Platform-Port"),
        history=[],
        errors=[],
    )
    values = stored_attributes(message)
    values["X-Sample-Priority"] = str(priority)
    values["X-Date-Forwarded"] = values.get("X-Date-Forwarded", format_value(now))
    sample.set_attributes(values)
    return sample


def check_space(session: Session, services: Services, config: Config, now: datetime) -> None:
    """Raise the quota-low and free-disk events when they apply (once per hour at most)."""
    limit = max_sample_bytes(config)
    used = quarantine_usage(session)
    if used * 100 >= limit * config.general.quota_low_percent:
        raise_event(
            session,
            config,
            now,
            AlertEvent.QUOTA_LOW,
            f"quarantine folder holds {used} of {limit} bytes ({used * 100 // limit}%)",
            quiet_for_s=3600,
        )
    free = services.vault.free_disk_bytes()
    if free < limit:
        raise_event(
            session,
            config,
            now,
            AlertEvent.FREE_SPACE_BELOW_MAX,
            f"{free} bytes free on the disk, quarantine may grow to {limit}",
            quiet_for_s=3600,
        )


__all__ = ["IntakeResult", "ProtocolError", "QuotaExceeded", "receive"]

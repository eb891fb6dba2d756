"""The Quarantine Scanner: scan samples with the server's active definitions.

What the active set detects and can repair is settled here and never goes to the gateway:
the set is queued for delivery to the sender (distribute), held (available), or not needed at
all when the sender already runs that sequence (unneeded).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.definitions import Detection, Scanner
from dis_core.vocabulary import AlertEvent, SampleError, SampleStatus
from quarantine_server.alerts import raise_event
from quarantine_server.lifecycle import lock_and_refresh, move
from quarantine_server.models import Sample
from quarantine_server.policy import release_or_hold
from quarantine_server.services import Services
from quarantine_server.vault import VaultError

S = SampleStatus


def best_detection(detections: list[Detection]) -> Detection | None:
    """A repairable detection if there is one, else the first."""
    repairable = [d for d in detections if d.repairable]
    chosen = repairable or detections
    return chosen[0] if chosen else None


def deliver_or_hold(
    session: Session, config: Config, sample: Sample, sequence: int, at: datetime, why: str
) -> None:
    """The cure (set ``sequence``) is on the server: deliver it, hold it, or skip it."""
    sample.definitions_needed = sequence
    if sample.endpoint_sequence >= sequence:
        move(
            sample,
            S.UNNEEDED,
            at,
            f"{why}; the sender already has sequence {sample.endpoint_sequence}",
        )
    elif config.definition_policy.hold_delivery:
        move(sample, S.AVAILABLE, at, f"{why}; delivery held by the Definition Policy")
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_DEFS_HELD,
            f"sample {sample.id}: set {sequence} held for delivery",
            sample=sample,
            key=f"seq-{sequence}",
        )
    else:
        move(sample, S.DISTRIBUTE, at, f"{why}; queued for delivery")


def note_repair(
    session: Session, config: Config, sample: Sample, repaired: bool, at: datetime
) -> None:
    sample.repaired = repaired
    if not repaired:
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_NOT_REPAIRED,
            f"sample {sample.id} ({sample.file_name}) was not repaired",
            sample=sample,
            key="not-repaired",
        )


def scan_content(
    services: Services, session: Session, sample: Sample, at: datetime
) -> bytes | None:
    """The sample's plain content, or None after recording why it could not be read."""
    try:
        return services.vault.read(sample.stored_name)
    except VaultError as exc:
        sample.add_error(at, SampleError.INTERNAL, str(exc), "scanner")
        move(sample, S.ERROR, at, "quarantine file unreadable")
        raise_event(
            session,
            services.config(session),
            at,
            AlertEvent.SAMPLE_PROCESSING_ERROR,
            str(exc),
            sample=sample,
        )
        return None


def first_scan(
    services: Services,
    session: Session,
    config: Config,
    sample: Sample,
    scanner: Scanner | None,
    sequence: int,
    at: datetime,
) -> None:
    """Scan a quarantined (or held) sample: settle it locally, or release/hold it."""
    content = scan_content(services, session, sample, at)
    if content is None:
        return
    sample.scanned_sequence = sequence
    detection = best_detection(scanner.scan_bytes(content)) if scanner else None
    if scanner is not None and detection is not None and scanner.repair_works(content, detection):
        sample.virus_name, sample.repairable = detection.virus_name, True
        note_repair(session, config, sample, True, at)
        deliver_or_hold(
            session,
            config,
            sample,
            sequence,
            at,
            f"settled by this server's set {sequence} ({detection.virus_name})",
        )
    elif sample.status == S.QUARANTINED:
        found = (
            f"detected as {detection.virus_name} but not repairable"
            if detection
            else "not detected"
        )
        release_or_hold(session, config, sample, at, f"scanned with set {sequence}: {found}")


def rescan_after_install(
    services: Services,
    session: Session,
    config: Config,
    sample: Sample,
    scanner: Scanner,
    sequence: int,
    at: datetime,
) -> None:
    """A needed sample once the set it waits for is active: repair check, then delivery."""
    content = scan_content(services, session, sample, at)
    if content is None:
        return
    detection = best_detection(scanner.scan_bytes(content))
    works = detection is not None and scanner.repair_works(content, detection)
    lock_and_refresh(session, sample)  # the endpoint may have confirmed while we scanned
    if sample.status != S.NEEDED:
        return
    sample.scanned_sequence = sequence
    if detection is not None:
        sample.virus_name = sample.virus_name or detection.virus_name
        sample.repairable = detection.repairable
        note_repair(session, config, sample, works, at)
    deliver_or_hold(
        session, config, sample, sequence, at, f"set {sequence} installed on this server"
    )


def samples_to_scan(session: Session, active: int) -> list[Sample]:
    """New samples, and held ones not yet scanned with the active set."""
    query = (
        select(Sample)
        .where(
            or_(
                Sample.status == S.QUARANTINED,
                (Sample.status == S.HELD) & (Sample.scanned_sequence < active),
            )
        )
        .order_by(Sample.id)
    )
    return list(session.scalars(query))

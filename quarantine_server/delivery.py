"""Getting cures to the senders: Defcast pushes, and the endpoints' install confirmations."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.tls import http_session
from dis_core.vocabulary import AlertEvent, SampleStatus
from dis_core.vocabulary.kinds import ConfirmationOutcome
from dis_core.vocabulary.parts import Part
from quarantine_server.alerts import general_error, raise_event
from quarantine_server.lifecycle import lock_and_refresh, move
from quarantine_server.models import Sample

S = SampleStatus
OUTCOMES = frozenset(o.value for o in ConfirmationOutcome)


class DefcastFailed(Exception):
    """The endpoint's Defcast listener could not be reached or refused the set."""

    def __init__(self, detail: str, *, refused: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.refused = refused


class DefcastClient:
    """Talks to one endpoint's Defcast listener over TLS checked against the local CA."""

    def __init__(self, ca_file: Path, timeout: float) -> None:
        self.session = http_session(ca_file)
        self.timeout = timeout

    def close(self) -> None:
        self.session.close()

    def _url(self, address: str, port: int, path: str) -> str:
        host = f"[{address}]" if ":" in address else address
        return f"https://{host}:{port}{path}"

    def sequence(self, address: str, port: int) -> int:
        try:
            response = self.session.get(
                self._url(address, port, "/defcast/v1/sequence"), timeout=self.timeout
            )
            response.raise_for_status()
            return int(response.json()["sequence"])
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise DefcastFailed(
                f"{address}:{port}: sequence query failed: {exc}", refused=False
            ) from None

    def push(self, address: str, port: int, package: bytes) -> int:
        url = self._url(address, port, "/defcast/v1/definitions")
        try:
            response = self.session.post(
                url,
                data=package,
                timeout=self.timeout,
                headers={"Content-Type": "application/octet-stream"},
            )
        except requests.RequestException as exc:
            raise DefcastFailed(f"{address}:{port}: push failed: {exc}", refused=False) from None
        body = _json(response)
        if response.status_code >= 400 or not body.get("installed"):
            raise DefcastFailed(
                f"{address}:{port} refused the set: {body.get('error')}: {body.get('message')}",
                refused=True,
            )
        return int(body.get("sequence", 0))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def waiting_delivery(session: Session) -> dict[tuple[str, int] | None, list[Sample]]:
    """Samples in distribute grouped by Defcast listener (None: the sender has none)."""
    groups: dict[tuple[str, int] | None, list[Sample]] = defaultdict(list)
    for sample in session.scalars(
        select(Sample).where(Sample.status == S.DISTRIBUTE).order_by(Sample.id)
    ):
        target = (
            (sample.platform_address, sample.platform_port)
            if sample.platform_address and sample.platform_port
            else None
        )
        groups[target].append(sample)
    return groups


def defcast_group(
    session: Session,
    config: Config,
    client: DefcastClient,
    target: tuple[str, int],
    samples: list[Sample],
    package: bytes,
    active: int,
    at: datetime,
) -> None:
    """Deliver the active set to one endpoint for all of its waiting samples.

    The set is pushed even when the endpoint already runs it: the endpoint may have judged
    these files with it before they had a server id (so it could not say so), and only a
    delivery makes it judge and confirm them now. A sample is ``distributed`` only once the
    endpoint accepted that push.
    """
    address, port = target
    try:
        have = client.sequence(address, port)
        if have > active:  # a push would be refused as older: wait for its confirmation
            return
        pushed = client.push(address, port, package)
    except DefcastFailed as failure:
        _defcast_failed(session, config, samples, failure, at)
        return
    why = f"Defcast: {address}:{port} accepted set {pushed}" + (
        f" (it already ran {have}; asked to confirm these samples)" if have >= pushed else ""
    )
    for sample in samples:
        _delivered(session, sample, pushed, at, why)


def _delivered(session: Session, sample: Sample, pushed: int, at: datetime, why: str) -> None:
    lock_and_refresh(session, sample)  # the endpoint may have confirmed during the push
    if sample.status == S.DISTRIBUTE and pushed >= (sample.definitions_needed or 0):
        move(sample, S.DISTRIBUTED, at, why)
        sample.endpoint_sequence = max(sample.endpoint_sequence, pushed)


def _defcast_failed(
    session: Session, config: Config, samples: list[Sample], failure: DefcastFailed, at: datetime
) -> None:
    general_error(session, at, "defcast", failure.detail)
    if failure.refused:
        for sample in samples:
            move(sample, S.NOT_INSTALLED, at, failure.detail)
            raise_event(
                session,
                config,
                at,
                AlertEvent.TARGET_INSTALL_FAILED,
                failure.detail,
                sample=sample,
                key=f"refused@{at.isoformat()}",
            )
    else:
        raise_event(session, config, at, AlertEvent.DEFCAST_ERROR, failure.detail, quiet_for_s=3600)


def announce_unmanaged(
    session: Session, config: Config, samples: list[Sample], at: datetime
) -> None:
    """Senders without a Defcast listener must fetch the set themselves: say so once each."""
    for sample in samples:
        raise_event(
            session,
            config,
            at,
            AlertEvent.TARGET_INSTALL_FAILED,
            f"sample {sample.id}: {sample.computer} has no Defcast listener; set {sample.definitions_needed} is available for it to fetch",
            sample=sample,
            key="unmanaged",
        )


class ConfirmationProblem(Exception):
    """A confirmation body that does not follow the protocol."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def parse_confirmation(payload: Any) -> tuple[str, int, list[tuple[int, str]]]:
    """Check a confirmation body; raise ConfirmationProblem with what is wrong."""
    if not isinstance(payload, dict):
        raise ConfirmationProblem("body must be a JSON object")
    computer, sequence, results = (
        payload.get("computer"),
        payload.get("sequence"),
        payload.get("results"),
    )
    if not isinstance(computer, str) or not computer:
        raise ConfirmationProblem("computer: a non-empty string is required")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ConfirmationProblem("sequence: a non-negative integer is required")
    if not isinstance(results, list):
        raise ConfirmationProblem("results: a list is required")
    parsed = []
    for item in results:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("sample_id"), int | str)
            or item.get("outcome") not in OUTCOMES
        ):
            raise ConfirmationProblem(
                f"results: each needs sample_id and an outcome of {sorted(OUTCOMES)}"
            )
        parsed.append((_server_id(item["sample_id"]), str(item["outcome"])))
    return computer, sequence, parsed


MAX_SAMPLE_ID = 2**63 - 1  # the largest row id either database can hold


def _server_id(value: int | str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfirmationProblem(f"sample_id {value!r} is not a server sample id") from None
    if not 0 < number <= MAX_SAMPLE_ID:
        raise ConfirmationProblem(f"sample_id {value!r} is not a server sample id")
    return number


def confirm(
    session: Session,
    config: Config,
    computer: str,
    sequence: int,
    results: list[tuple[int, str]],
    at: datetime,
) -> list[dict[str, Any]]:
    """Apply an endpoint's install results; each sample must belong to that computer."""
    answers = []
    for sample_id, outcome in results:
        sample = session.get(Sample, sample_id)
        if sample is None or sample.computer != computer:
            answers.append(
                {
                    "sample_id": sample_id,
                    "applied": False,
                    "reason": "no such sample from this computer",
                }
            )
            continue
        answers.append(_apply_outcome(session, config, sample, sequence, outcome, at))
    return answers


# A confirmation settles these; in the others it is a repeat (answered as done) or too late.
NO_LONGER_OPEN = frozenset({S.INSTALLED, S.UNNEEDED})
REFUSES_CONFIRMATION = frozenset({S.ATTENTION, S.ERROR, S.RESTART})


STILL_UNCURED = frozenset({S.QUARANTINED, S.HELD, S.RELEASED, S.SUBMITTED, S.NEEDED})


def _apply_outcome(
    session: Session, config: Config, sample: Sample, sequence: int, outcome: str, at: datetime
) -> dict[str, Any]:
    failed = outcome == ConfirmationOutcome.INSTALL_FAILED
    repeat = sample.status in NO_LONGER_OPEN or (failed and sample.status == S.NOT_INSTALLED)
    if repeat:  # the endpoint sends again when it missed our answer: same answer, no change
        return {"sample_id": sample.id, "applied": True, "status": sample.status}
    if sample.status in REFUSES_CONFIRMATION:
        return {
            "sample_id": sample.id,
            "applied": False,
            "reason": f"status {sample.status} takes no confirmation",
        }
    if outcome == ConfirmationOutcome.NOT_REPAIRED:
        refusal = _not_repaired_too_soon(sample, sequence)
        if refusal:
            return {"sample_id": sample.id, "applied": False, "reason": refusal}
    sample.endpoint_sequence = max(sample.endpoint_sequence, sequence)
    reason = f"{sample.computer} confirmed sequence {sequence}: {outcome}"
    if failed:
        delivered = sample.status in {S.DISTRIBUTE, S.DISTRIBUTED}
        _walk(
            sample, [S.NOT_INSTALLED] if delivered else [S.DISTRIBUTE, S.NOT_INSTALLED], at, reason
        )
        raise_event(
            session,
            config,
            at,
            AlertEvent.TARGET_INSTALL_FAILED,
            reason,
            sample=sample,
            key=f"confirm@{at.isoformat()}",
        )
    else:
        _walk(sample, [S.DISTRIBUTE, S.DISTRIBUTED, S.INSTALLED], at, reason)
        sample.repaired = outcome in (ConfirmationOutcome.REPAIRED, ConfirmationOutcome.RESTORED)
        if outcome == ConfirmationOutcome.NOT_REPAIRED:
            raise_event(
                session,
                config,
                at,
                AlertEvent.SAMPLE_NOT_REPAIRED,
                reason,
                sample=sample,
                key="not-repaired",
            )
    return {"sample_id": sample.id, "applied": True, "status": sample.status}


OLDER_SET = "is older than the set this sample needs"  # the endpoint does not send it again


def _not_repaired_too_soon(sample: Sample, sequence: int) -> str:
    """Why 'not repaired' with set ``sequence`` cannot settle the sample ("" when it can)."""
    if sample.status in STILL_UNCURED:
        # a set that does not cure it says nothing about the analysis still under way
        return f"status {sample.status}: the sample's cure is not known yet"
    needed = sample.definitions_needed or 0
    if sequence < needed:  # the set that cures it is on its way: its own confirmation counts
        return f"sequence {sequence} {OLDER_SET} ({needed})"
    return ""


def _walk(sample: Sample, path: list[SampleStatus], at: datetime, reason: str) -> None:
    """Move along ``path`` from wherever the sample is on it (a pull skips the push steps)."""
    current = SampleStatus(sample.status) if sample.status else None
    start = path.index(current) + 1 if current in path else 0
    for status in path[start:]:
        move(sample, status, at, reason, Part.ENDPOINT)

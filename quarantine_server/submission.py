"""Submitting released samples to the gateway and following their analysis state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dis_core.analysis import AnalysisResult
from dis_core.config import Config
from dis_core.lifecycle import IllegalTransition, transition
from dis_core.protocol import pack_sample
from dis_core.vocabulary import AlertEvent, NextMove, SampleError, SampleState, SampleStatus
from dis_core.vocabulary.attributes import (
    ATTRIBUTES,
    Message,
    format_value,
    lookup,
    text_from_header,
)
from dis_core.vocabulary.parts import Part
from quarantine_server.alerts import raise_event
from quarantine_server.gateway import GatewayClient, GatewayRefused, Reply
from quarantine_server.lifecycle import lock_and_refresh, move
from quarantine_server.models import Sample
from quarantine_server.strip import strip_user_data

S, T = SampleStatus, SampleState
# Attributes that describe one transfer; pack_sample sets them afresh for the submission.
TRANSFER = {
    "X-Sample-Checksum",
    "X-Checksum-Method",
    "X-Content-Checksum",
    "X-Content-Length",
    "X-Sample-Size",
    "X-Content-Compression",
    "X-Content-Scrambling",
    "X-Content-Scrambling-Key",
    "X-Content-Strip",
}


def submission_headers(config: Config, sample: Sample, at: datetime, strip: bool) -> dict[str, Any]:
    """The submit attributes: the sample's own, this server's, the customer's."""
    values: dict[str, Any] = {}
    for name, raw in sample.attributes.items():
        attribute = lookup(name)
        if attribute is None or name in TRANSFER or (strip and attribute.user_data):
            continue
        values[attribute.name] = raw
    customer = config.customer
    values.update(
        {
            "X-Date-Submitted": format_value(at),
            "X-Sample-Priority": str(sample.priority),
            "X-Quarantine-Server": config.general.server_name,
            "X-Customer-Name": customer.company_name,
            "X-Customer-Account": customer.account_number,
            "X-Customer-Contact-Name": customer.contact_name,
            "X-Customer-Contact-Telephone": customer.contact_telephone,
            "X-Customer-Contact-Email": customer.contact_email,
        }
    )
    return values


def pack_for_gateway(
    config: Config, sample: Sample, content: bytes, at: datetime
) -> tuple[dict[str, str], bytes]:
    strip = config.sample_policy.strip_user_data
    stripped = strip_user_data(content) if strip else None
    values = submission_headers(config, sample, at, strip)
    return pack_sample(content, values, stripped=stripped)


def submit_one(
    session: Session,
    config: Config,
    client: GatewayClient,
    sample: Sample,
    content: bytes,
    at: datetime,
) -> None:
    """Send one sample; GatewayUnreachable propagates (the sample stays released)."""
    headers, body = pack_for_gateway(config, sample, content, at)
    try:
        reply = client.submit(headers, body)
        attrs = reply.attributes(Message.STATUS)
    except GatewayRefused as refused:
        lock_and_refresh(session, sample)
        if sample.status == S.RELEASED:
            refuse(session, config, sample, refused, at, "submission")
        return
    lock_and_refresh(session, sample)  # the web may have moved it while the gateway answered
    _record_submission(sample, headers, attrs, at)
    if sample.status != S.RELEASED:  # settled or held meanwhile: that move stands
        follow_state(sample, reply, at)
        return
    move(sample, S.SUBMITTED, at, f"accepted by the gateway, cookie {sample.cookie}")
    mirror(session, config, sample, reply, at)


def _record_submission(
    sample: Sample, headers: dict[str, str], attrs: dict[str, Any], at: datetime
) -> None:
    """The gateway has the sample: when it was sent and the cookie that follows it."""
    sample.date_submitted = at
    sample.set_attribute("X-Date-Submitted", headers["X-Date-Submitted"])
    sample.cookie = str(attrs["X-Analysis-Cookie"])
    sample.set_attribute("X-Analysis-Cookie", sample.cookie)


def mirror(session: Session, config: Config, sample: Sample, reply: Reply, at: datetime) -> None:
    """apply_status, but a reply that makes no sense puts the sample in error instead of
    failing the job again on every poll."""
    try:
        apply_status(session, config, sample, reply, at)
    except (GatewayRefused, IllegalTransition, ValueError) as problem:
        detail = f"unusable gateway reply: {problem}"
        sample.add_error(at, SampleError.INTERNAL, detail, "gateway")
        move(sample, S.ERROR, at, detail)
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_PROCESSING_ERROR,
            f"sample {sample.id}: {detail}",
            sample=sample,
            key=f"error@{at.isoformat()}",
        )


def refuse(
    session: Session,
    config: Config,
    sample: Sample,
    refused: GatewayRefused,
    at: datetime,
    what: str,
) -> None:
    """The gateway said no: record the error; declined needs a person, the rest is an error."""
    sample.add_error(at, refused.error, f"{what}: {refused.detail}", "gateway")
    sample.set_attribute("X-Error", refused.error.value)
    if refused.error is SampleError.DECLINED:
        move(sample, S.ATTENTION, at, f"{what} declined by the gateway")
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_NEEDS_ATTENTION,
            f"sample {sample.id}: {refused.detail}",
            sample=sample,
            key=f"attention@{at.isoformat()}",
        )
    else:
        move(sample, S.ERROR, at, f"{what} failed: {refused.error.value}")
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_PROCESSING_ERROR,
            f"sample {sample.id}: {refused.error.value}: {refused.detail}",
            sample=sample,
            key=f"error@{at.isoformat()}",
        )


def _keep_reply_attributes(sample: Sample, reply: Reply) -> None:
    for name, raw in reply.headers.items():
        attribute = ATTRIBUTES.get(name.lower())
        if attribute is not None and attribute.owner in {Part.GATEWAY, Part.BACKOFFICE}:
            sample.set_attribute(attribute.name, text_from_header(raw))


def apply_status(
    session: Session, config: Config, sample: Sample, reply: Reply, at: datetime
) -> None:
    """Mirror the gateway's state; a final state decides the next status."""
    attrs = reply.attributes(Message.STATUS)
    _keep_reply_attributes(sample, reply)
    state = SampleState(attrs["X-Analysis-State"])
    transition(
        sample,
        at=at,
        actor=Part.GATEWAY,
        reason="reported by the gateway",
        state=state,
        reported=True,
    )
    if not state.is_final:
        return
    sample.date_analyzed = attrs.get("X-Date-Analyzed") or at
    result = AnalysisResult.from_attributes(attrs)
    sample.virus_name = result.virus_name or sample.virus_name
    if result.repairable is not None:
        sample.repairable = result.repairable
    settle_final(session, config, sample, state, result.sequence or 0, attrs, at)


def settle_final(
    session: Session,
    config: Config,
    sample: Sample,
    state: SampleState,
    sequence: int,
    attrs: dict[str, Any],
    at: datetime,
) -> None:
    why = f"analysis ended {state.value}"
    move_on = state.next_move
    if move_on is NextMove.DEFINITIONS and sequence > 0:
        sample.definitions_needed = sequence
        if not state.repair_works:
            raise_event(
                session,
                config,
                at,
                AlertEvent.SAMPLE_NOT_REPAIRED,
                f"sample {sample.id}: {state.meaning}",
                sample=sample,
                key="not-repaired",
            )
        if sample.endpoint_sequence >= sequence:
            move(sample, S.UNNEEDED, at, f"{why}; the sender already has sequence {sequence}")
        else:
            move(sample, S.NEEDED, at, f"{why}; definitions {sequence} needed")
    elif move_on is NextMove.NOTHING:
        move(sample, S.UNNEEDED, at, why)
    elif move_on in (NextMove.PERSON, NextMove.DEFINITIONS):
        move(
            sample,
            S.ATTENTION,
            at,
            why
            if sequence or move_on is NextMove.PERSON
            else f"{why} without a definition sequence",
        )
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_NEEDS_ATTENTION,
            f"sample {sample.id}: {why}",
            sample=sample,
            key=f"attention@{at.isoformat()}",
        )
    else:
        error = attrs.get("X-Error") or SampleError.INTERNAL
        sample.add_error(
            at, SampleError(error), f"{why}: {attrs.get('X-Error-Detail', '')}", "gateway"
        )
        move(sample, S.ERROR, at, why)
        raise_event(
            session,
            config,
            at,
            AlertEvent.SAMPLE_PROCESSING_ERROR,
            f"sample {sample.id}: {why}",
            sample=sample,
            key=f"error@{at.isoformat()}",
        )


def poll_one(
    session: Session, config: Config, client: GatewayClient, sample: Sample, at: datetime
) -> None:
    """Ask for a submitted sample's state (by cookie, else by checksum)."""
    try:
        reply = (
            client.status(sample.cookie)
            if sample.cookie
            else client.status_by_checksum(sample.sample_checksum)
        )
    except GatewayRefused as refused:
        refuse(session, config, sample, refused, at, "status query")
        return
    lock_and_refresh(session, sample)  # the web may have changed it while we waited
    if sample.status != SampleStatus.SUBMITTED:
        follow_state(sample, reply, at)  # settled here meanwhile: only the vendor's state moves
        return
    mirror(session, config, sample, reply, at)


def follow_state(sample: Sample, reply: Reply, at: datetime) -> None:
    """Mirror the gateway's state of a sample whose status this server already settled; its
    final state brings the verdict (virus name, sequence, repairable), which is kept too."""
    try:
        attrs = reply.attributes(Message.STATUS)
        state = attrs.get("X-Analysis-State")
        if state is not None:
            transition(
                sample,
                at=at,
                actor=Part.GATEWAY,
                reason="reported by the gateway",
                state=SampleState(state),
                reported=True,
            )
            if SampleState(state).is_final:
                _keep_verdict(sample, attrs, at)
    except (GatewayRefused, IllegalTransition, ValueError):
        pass  # the status is settled; a reply we cannot use changes nothing


def _keep_verdict(sample: Sample, attrs: dict[str, Any], at: datetime) -> None:
    """What the vendor found, for a sample settled here before the analysis ended (what this
    server already knows from its own scan stays)."""
    result = AnalysisResult.from_attributes(attrs)
    sample.date_analyzed = sample.date_analyzed or attrs.get("X-Date-Analyzed") or at
    sample.virus_name = sample.virus_name or result.virus_name
    if sample.definitions_needed is None and result.sequence:
        sample.definitions_needed = result.sequence
    if sample.repairable is None and result.repairable is not None:
        sample.repairable = result.repairable

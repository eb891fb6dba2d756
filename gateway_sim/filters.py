"""Filtering before analysis: the first filter that settles a sample wins.

Order: a final result already known for the same sample; the same sample still in progress
(piggyback on its cookie); detection and repair by the newest certified set, then by the
newest set; the known-clean list; the policy (unknown customer, declined content kind,
per-customer daily quota). A sample no filter settles goes to the back office.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dis_core.analysis import AnalysisResult
from dis_core.config import GatewayConfig
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.kinds import DetectionCategory
from gateway_sim.catalog import CERTIFIED, NEWEST, DefinitionCatalog
from gateway_sim.faults import Faults
from gateway_sim.known_clean import KnownCleanList
from gateway_sim.models import Submission

# final results that say nothing about the sample itself, so they are not reused


class Filter(StrEnum):
    """Which rule settled a submission (sent as ``X-Analysis-Filter``)."""

    KNOWN_RESULT = "known-result"
    PIGGYBACK = "piggyback"
    CERTIFIED_DEFINITIONS = "certified-definitions"
    NEWEST_DEFINITIONS = "newest-definitions"
    KNOWN_CLEAN = "known-clean"
    POLICY = "policy"
    BACKOFFICE = "backoffice"


@dataclass(frozen=True)
class Verdict:
    """What a filter decided; ``owner`` is set when the sample joins an existing cookie."""

    filter: Filter
    state: SampleState | None = None
    owner: Submission | None = None
    result: AnalysisResult = AnalysisResult()
    error: SampleError | None = None
    detail: str = ""


@dataclass
class FilterContext:
    session: Session
    submission: Submission
    content: bytes
    now: datetime
    faults: Faults
    catalog: DefinitionCatalog
    known_clean: KnownCleanList
    config: GatewayConfig


def known_result(ctx: FilterContext) -> Verdict | None:
    owner = _other_owner(ctx, final=True)
    if owner is None:
        return None
    return Verdict(
        Filter.KNOWN_RESULT,
        SampleState(owner.state or ""),
        owner,
        detail=f"same sample as cookie {owner.cookie}",
    )


def piggyback(ctx: FilterContext) -> Verdict | None:
    owner = _other_owner(ctx, final=False)
    if owner is None:
        return None
    return Verdict(
        Filter.PIGGYBACK,
        None,
        owner,
        detail=f"same sample is in progress under cookie {owner.cookie}",
    )


def _other_owner(ctx: FilterContext, *, final: bool) -> Submission | None:
    query = (
        select(Submission)
        .where(Submission.sample_checksum == ctx.submission.sample_checksum)
        .where(Submission.owner.is_(True), Submission.id != ctx.submission.id)
        .where(Submission.accepted_at.is_not(None), Submission.error.is_(None))
        .order_by(Submission.id.desc())
    )
    for candidate in ctx.session.scalars(query):
        if candidate.is_final == final and _reusable(candidate.state):
            return candidate
    return None


def _reusable(state: str | None) -> bool:
    return state is None or SampleState(state).verdict_reusable


def certified_definitions(ctx: FilterContext) -> Verdict | None:
    return _definitions(ctx, CERTIFIED, Filter.CERTIFIED_DEFINITIONS)


def newest_definitions(ctx: FilterContext) -> Verdict | None:
    return _definitions(ctx, NEWEST, Filter.NEWEST_DEFINITIONS)


def _definitions(ctx: FilterContext, ref: str, name: Filter) -> Verdict | None:
    ceiling = ctx.faults.hold_definitions_above if ctx.faults.holding_definitions else None
    found = ctx.catalog.scanner(ref, ceiling)
    if found is None:
        return None
    sequence, scanner = found
    detection = scanner.repaired_detection(ctx.content)
    if detection is None:
        return _non_viral_verdict(scanner, ctx.content, sequence, ref, name)
    return Verdict(
        name,
        SampleState.INFECTED,
        result=AnalysisResult(detection.virus_name, detection.signature_id, sequence, True),
        detail=f"detected and repaired by {ref} definitions {sequence}",
    )


# Detections that settle a sample without any repair: the file is nothing but the threat.


def _non_viral_verdict(
    scanner: Any, content: bytes, sequence: int, ref: str, name: Filter
) -> Verdict | None:
    """A known non-viral threat needs no analysis: its category decides the final state."""
    for detection in scanner.scan_bytes(content):
        state = DetectionCategory(detection.category).known_end
        if state is not None:
            return Verdict(
                name,
                state,
                result=AnalysisResult(
                    detection.virus_name, detection.signature_id, sequence, repairable=False
                ),
                detail=f"known {detection.category} in {ref} definitions {sequence}",
            )
    return None


def known_clean(ctx: FilterContext) -> Verdict | None:
    if not ctx.known_clean.contains(ctx.submission.sample_checksum or ""):
        return None
    return Verdict(Filter.KNOWN_CLEAN, SampleState.UNINFECTED, detail="on the known-clean list")


def policy(ctx: FilterContext) -> Verdict | None:
    reason = decline_reason(ctx)
    if reason is None:
        return None
    return Verdict(Filter.POLICY, SampleState.DECLINED, error=SampleError.DECLINED, detail=reason)


def decline_reason(ctx: FilterContext) -> str | None:
    config, submission = ctx.config, ctx.submission
    customer = customer_key(submission)
    if config.known_customers and not (
        {submission.customer_account, submission.customer_name} & set(config.known_customers)
    ):
        return f"declined: customer {customer!r} is not known to the gateway"
    if submission.content_kind in config.declined_types:
        return f"declined: content of kind {submission.content_kind!r} is not analysed"
    if config.customer_quota_per_day and accepted_today(ctx) >= config.customer_quota_per_day:
        return f"declined: customer {customer!r} used the daily quota of {config.customer_quota_per_day} samples"
    return None


def customer_key(submission: Submission) -> str:
    return submission.customer_account or submission.customer_name or ""


def accepted_today(ctx: FilterContext) -> int:
    """Samples of this customer accepted since midnight UTC (this one not counted)."""
    midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    column = (
        Submission.customer_account if ctx.submission.customer_account else Submission.customer_name
    )
    count = ctx.session.scalar(
        select(func.count(Submission.id))
        .where(column == customer_key(ctx.submission), Submission.id != ctx.submission.id)
        .where(
            Submission.accepted_at >= midnight,
            Submission.accepted_at < midnight + timedelta(days=1),
        )
        .where(Submission.state != SampleState.DECLINED.value)
    )
    return int(count or 0)


FILTERS: tuple[Callable[[FilterContext], Verdict | None], ...] = (
    known_result,
    piggyback,
    certified_definitions,
    newest_definitions,
    known_clean,
    policy,
)


def settle(ctx: FilterContext) -> Verdict:
    """Run the filters in order; the back office gets whatever none of them settles."""
    if ctx.faults.decline_all:  # the fault overrides every filter, known results included
        detail = "declined: the gateway declines every sample (fault injection)"
        return Verdict(
            Filter.POLICY, SampleState.DECLINED, error=SampleError.DECLINED, detail=detail
        )
    for rule in FILTERS:
        verdict = rule(ctx)
        if verdict is not None:
            return verdict
    return Verdict(Filter.BACKOFFICE, SampleState.IMPORTING, detail="handed to the back office")

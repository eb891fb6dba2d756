"""What the console and the API do with samples: list, inspect, delete, restore, queue, restart.

Views call these functions and only translate their results and errors into HTTP.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from dis_core.config import Config
from dis_core.vocabulary import SampleError, SampleState, SampleStatus
from dis_core.vocabulary.attributes import lookup
from dis_core.vocabulary.parts import Part
from quarantine_server.lifecycle import move
from quarantine_server.models import Sample, SampleHistory, SampleProblem
from quarantine_server.policy import change_priority, manual_eligibility, queue_manually
from quarantine_server.services import Services, after_commit

S = SampleStatus
SORT_KEYS = {
    "id": Sample.id,
    "file_name": Sample.file_name,
    "user": Sample.user,
    "computer": Sample.computer,
    "age": Sample.received_at,
    "analyzed": Sample.date_analyzed,
    "sample_state": Sample.state,
    "definitions_needed": Sample.definitions_needed,
    "status": Sample.status,
    "virus": Sample.virus_name,
    "priority": Sample.priority,
}
MAX_PER_PAGE = 500


class SampleNotFound(LookupError):
    pass


class ActionRefused(ValueError):
    """The action is not allowed for this sample now (HTTP 409), or not allowed at all (403)."""

    def __init__(self, message: str, *, conflict: bool = True) -> None:
        super().__init__(message)
        self.conflict = conflict


@dataclass(frozen=True)
class SampleQuery:
    status: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    computer: str | None = None
    user: str | None = None
    file_name: str | None = None
    virus: str | None = None
    analyzed: bool | None = None
    has_errors: bool | None = None
    sort: str = "age"
    order: str = "desc"
    page: int = 1
    per_page: int = 50
    after: int | None = None  # keyset paging: the id of the last row of the previous page
    sha256: str | None = None  # exact SHA-256 of the original file (X-Sample-Checksum)


def _filtered(query: SampleQuery) -> Select[Any]:
    statement = select(Sample)
    if query.status:
        statement = statement.where(Sample.status.in_(query.status))
    if query.state:
        statement = statement.where(Sample.state.in_(query.state))
    if query.sha256:
        statement = statement.where(Sample.sample_checksum == query.sha256.lower())
    for column, text in (
        (Sample.computer, query.computer),
        (Sample.user, query.user),
        (Sample.file_name, query.file_name),
        (Sample.virus_name, query.virus),
    ):
        if text:
            statement = statement.where(column.contains(text, autoescape=True))
    if query.analyzed is not None:
        statement = statement.where(
            Sample.date_analyzed.is_not(None) if query.analyzed else Sample.date_analyzed.is_(None)
        )
    if query.has_errors is not None:
        has = select(SampleProblem.id).where(SampleProblem.sample_id == Sample.id).exists()
        statement = statement.where(has if query.has_errors else ~has)
    return statement


def list_samples(session: Session, query: SampleQuery, now: datetime) -> dict[str, Any]:
    """One page of the console's sample list, with its columns. ``after`` continues from a row
    (keyset paging: as fast on the last page as on the first); otherwise ``page`` counts pages."""
    statement = _filtered(query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    column = SORT_KEYS[query.sort]
    ascending = query.order == "asc"
    page = statement.order_by(*_ordering(column, ascending))
    if query.after is not None:
        page = page.where(_beyond(session, column, ascending, query.after))
    else:
        page = page.offset((query.page - 1) * query.per_page)
    rows = list(session.scalars(page.limit(query.per_page)))
    full = len(rows) == query.per_page
    return {
        "items": [columns(s, now) for s in rows],
        "total": int(total),
        "page": query.page if query.after is None else None,
        "per_page": query.per_page,
        "next": rows[-1].id if full else None,
    }


def _ordering(column: InstrumentedAttribute[Any], ascending: bool) -> tuple[Any, ...]:
    """Empty values sort as the smallest on every database (SQLite's own order, so its
    indexes serve both directions), then the id breaks ties."""
    if ascending:
        return column.asc().nulls_first(), Sample.id.asc()
    return column.desc().nulls_last(), Sample.id.desc()


def _beyond(
    session: Session, column: InstrumentedAttribute[Any], ascending: bool, after: int
) -> ColumnElement[bool]:
    """Rows that come after sample ``after`` in the list's order."""
    value = session.scalar(select(column).where(Sample.id == after))
    if value is None and session.get(Sample, after) is None:
        raise SampleNotFound(f"after: sample {after} does not exist (any more); start again")
    if value is None:  # the cursor row is in the empty-value run
        if ascending:
            return or_(and_(column.is_(None), Sample.id > after), column.is_not(None))
        return and_(column.is_(None), Sample.id < after)
    if ascending:
        return tuple_(column, Sample.id) > tuple_(value, after)
    return or_(tuple_(column, Sample.id) < tuple_(value, after), column.is_(None))


def _meaning(enum: type[SampleStatus] | type[SampleState], value: str | None) -> str | None:
    return enum(value).meaning if value else None


def columns(sample: Sample, now: datetime) -> dict[str, Any]:
    """The seed's console columns (Table 3-1) for one sample."""
    return {
        "id": sample.id,
        "file_name": sample.file_name,
        "user": sample.user,
        "computer": sample.computer,
        "analyzed": sample.date_analyzed is not None,
        "age": sample.received_at.isoformat(),
        "age_seconds": max(0, int((now - sample.received_at).total_seconds())),
        "sample_state": sample.state,
        "definitions_needed": sample.definitions_needed,
        "status": sample.status,
        "status_meaning": _meaning(SampleStatus, sample.status),
        "virus": sample.virus_name,
        "errors": [e.error for e in sample.errors],
        "priority": sample.priority,
    }


def get_sample(session: Session, sample_id: int) -> Sample:
    sample = session.get(Sample, sample_id) if 0 < sample_id < 2**63 else None
    if sample is None:
        raise SampleNotFound(f"no sample {sample_id}")
    return sample


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def detail(session: Session, sample_id: int, now: datetime) -> dict[str, Any]:
    """Everything about one sample: columns, attributes with meanings, history, errors."""
    sample = get_sample(session, sample_id)
    verdict = manual_eligibility(sample)
    return {
        **columns(sample, now),
        "sample_checksum": sample.sample_checksum,
        "size": sample.size,
        "cookie": sample.cookie,
        "state_meaning": _meaning(SampleState, sample.state),
        "date_quarantined": sample.received_at.isoformat(),
        "date_submitted": _iso(sample.date_submitted),
        "date_analyzed": _iso(sample.date_analyzed),
        "date_finished": _iso(sample.date_finished),
        "repairable": sample.repairable,
        "repaired": sample.repaired,
        "endpoint_sequence": sample.endpoint_sequence,
        "manual_submission": {"eligible": verdict.eligible, "reason": verdict.reason},
        "attributes": attribute_rows(sample),
        "history": [_history_row(h) for h in sample.history],
        "error_details": [_error_row(e) for e in sample.errors],
    }


def attribute_rows(sample: Sample) -> list[dict[str, Any]]:
    rows = []
    for name, value in sorted(sample.attributes.items()):
        attribute = lookup(name)
        rows.append(
            {
                "name": name,
                "value": value,
                "meaning": attribute.meaning if attribute else "",
                "owner": attribute.owner.value if attribute else "",
            }
        )
    return rows


def _history_row(entry: SampleHistory) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "field": entry.field,
        "before": entry.before,
        "after": entry.after,
        "actor": entry.actor,
        "reason": entry.reason,
    }


def _error_row(entry: SampleProblem) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "error": entry.error,
        "meaning": SampleError(entry.error).meaning,
        "detail": entry.detail,
        "source": entry.source,
    }


def note_action(
    sample: Sample, at: datetime, action: str, reason: str, actor: Part = Part.ADMINISTRATOR
) -> None:
    """An action that changes no status still belongs in the sample's history."""
    sample.history.append(SampleHistory.action(at, action, actor, reason))


def delete_sample(services: Services, session: Session, sample_id: int) -> None:
    """Remove the row; the encrypted file goes once the delete is committed."""
    sample = get_sample(session, sample_id)
    stored = sample.stored_name
    session.delete(sample)
    after_commit(session, lambda: services.vault.remove(stored))


SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


def restore_target(config: Config, folder: str, file_name: str) -> Path:
    """The file a restore may write, or ActionRefused: only inside a configured restore folder."""
    allowed = [Path(os.path.realpath(d)) for d in config.general.restore_dirs]
    if not allowed:
        raise ActionRefused("no restore folders are configured (general.restore_dirs)")
    target_dir = Path(os.path.realpath(folder))
    if not any(target_dir == root or root in target_dir.parents for root in allowed):
        raise ActionRefused(f"{folder} is not inside a configured restore folder", conflict=False)
    name = SAFE_NAME.sub("_", Path(file_name.replace("\\", "/")).name).strip(". ") or "restored.bin"
    return target_dir / name


def restore_sample(
    services: Services, session: Session, config: Config, sample_id: int, folder: str, at: datetime
) -> str:
    """Write the sample's original bytes (not repaired) into an allowed folder; return the path."""
    sample = get_sample(session, sample_id)
    target = restore_target(config, folder, sample.file_name)
    if not target.parent.is_dir():
        raise ActionRefused(f"{target.parent} does not exist", conflict=False)
    content = services.vault.read(sample.stored_name)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise ActionRefused(f"{target} already exists") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    note_action(sample, at, "restored", f"restored unrepaired to {target}")
    return str(target)


def set_sample_priority(
    session: Session, config: Config, sample_id: int, priority: int, at: datetime
) -> None:
    sample = get_sample(session, sample_id)
    change_priority(config, sample, priority, at)
    note_action(sample, at, "priority", f"priority set to {priority}")


def queue_samples(
    session: Session, config: Config, ids: list[int], priority: int | None, at: datetime
) -> list[dict[str, Any]]:
    """Queue several samples for automatic analysis; each gets its own verdict."""
    chosen = priority or config.sample_policy.default_priority or 500
    results = []
    for sample_id in ids:
        sample = session.get(Sample, sample_id) if 0 < sample_id < 2**63 else None
        if sample is None:
            results.append({"id": sample_id, "queued": False, "reason": "no such sample"})
            continue
        verdict = queue_manually(sample, chosen, at)
        results.append(
            {
                "id": sample_id,
                "queued": verdict.eligible,
                "reason": verdict.reason,
                "status": sample.status,
            }
        )
    return results


def _endpoint_owned(name: str) -> bool:
    attribute = lookup(name)
    return attribute is None or attribute.owner is Part.ENDPOINT


def restart_sample(session: Session, sample_id: int, at: datetime) -> None:
    """Start over from the first scan; the vendor's earlier verdict is forgotten."""
    sample = get_sample(session, sample_id)
    if sample.status in {S.QUARANTINED, S.RESTART}:
        raise ActionRefused(f"sample {sample_id} is already at the start ({sample.status})")
    move(sample, S.RESTART, at, "restarted by an administrator", Part.ADMINISTRATOR)
    if sample.state is not None:  # a new submission gets a new cookie and a new state history
        note_action(sample, at, "state cleared", f"state {sample.state} dropped on restart")
        sample.state = None
    sample.cookie = sample.date_submitted = sample.date_analyzed = sample.date_finished = None
    sample.definitions_needed = None
    attrs = {k: v for k, v in sample.attributes.items() if _endpoint_owned(k)}
    attrs["X-Sample-Priority"] = str(sample.priority)
    sample.set_attributes(attrs)
    move(sample, S.QUARANTINED, at, "processing starts again", Part.ADMINISTRATOR)

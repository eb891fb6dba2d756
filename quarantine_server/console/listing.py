"""The quarantined-items list: filters, sorting and paging turned into one query.

The request's query string is parsed into a :class:`ListQuery` (unknown or bad values fall
back to defaults, so a hand-edited URL never breaks the page), which builds the SELECT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from dis_core.vocabulary import SampleState, SampleStatus, StateGroup
from quarantine_server.models import Sample, SampleProblem

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25

# (key, heading) in the seed's column order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("file", "File name"),
    ("user", "User"),
    ("computer", "Computer"),
    ("analyzed", "Analyzed"),
    ("age", "Age"),
    ("state", "Sample state"),
    ("needed", "Definitions needed"),
    ("status", "Status"),
    ("virus", "Virus"),
    ("errors", "Errors"),
)


def _error_count() -> Any:
    return (
        select(func.count(SampleProblem.id))
        .where(SampleProblem.sample_id == Sample.id)
        .correlate(Sample)
        .scalar_subquery()
    )


def _sort_column(key: str) -> Any:
    columns: dict[str, Any] = {
        "file": func.lower(Sample.file_name),
        "user": func.lower(Sample.user),
        "computer": func.lower(Sample.computer),
        "analyzed": Sample.date_analyzed,
        "age": Sample.received_at,
        "state": Sample.state,
        "needed": Sample.definitions_needed,
        "status": Sample.status,
        "virus": Sample.virus_name,
        "errors": _error_count(),
        "priority": Sample.priority,
    }
    return columns[key]


@dataclass(frozen=True)
class ListQuery:
    """What the administrator asked the list to show."""

    text: str = ""
    status: str = ""
    state: str = ""
    group: str = ""
    errors: str = ""  # "", "yes", "no"
    analyzed: str = ""  # "", "yes", "no"
    sort: str = "age"
    descending: bool = True
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> ListQuery:
        sort = args.get("sort", "age")
        sort = sort if sort in dict(COLUMNS) or sort == "priority" else "age"
        return cls(
            text=args.get("q", "").strip()[:200],
            status=_one_of(args.get("status", ""), [s.value for s in SampleStatus]),
            state=_one_of(args.get("state", ""), [s.value for s in SampleState]),
            group=_one_of(args.get("group", ""), [g.value for g in StateGroup]),
            errors=_one_of(args.get("errors", ""), ["yes", "no"]),
            analyzed=_one_of(args.get("analyzed", ""), ["yes", "no"]),
            sort=sort,
            descending=args.get("dir", "desc" if sort == "age" else "asc") == "desc",
            page=max(_integer(args.get("page"), 1), 1),
            per_page=_one_of_int(_integer(args.get("per"), DEFAULT_PAGE_SIZE)),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.text:
            pattern = f"%{self.text.lower()}%"
            found.append(
                or_(
                    func.lower(Sample.file_name).like(pattern),
                    func.lower(Sample.user).like(pattern),
                    func.lower(Sample.computer).like(pattern),
                    func.lower(func.coalesce(Sample.virus_name, "")).like(pattern),
                )
            )
        if self.status:
            found.append(Sample.status == self.status)
        if self.state:
            found.append(Sample.state == self.state)
        if self.group:
            members = [s.value for s in SampleState if s.group.value == self.group]
            found.append(Sample.state.in_(members))
        if self.errors:
            found.append(_error_count() > 0 if self.errors == "yes" else _error_count() == 0)
        if self.analyzed:
            column = Sample.date_analyzed
            found.append(column.is_not(None) if self.analyzed == "yes" else column.is_(None))
        return found

    def select(self) -> Select[Sample]:
        order = _sort_column(self.sort)
        order = order.desc() if self.descending else order.asc()
        return (
            select(Sample)
            .where(*self.conditions())
            .order_by(order, Sample.id.desc())
            .options(selectinload(Sample.errors))
            .offset((self.page - 1) * self.per_page)
            .limit(self.per_page)
        )

    def count(self, session: Session) -> int:
        return int(session.scalar(select(func.count(Sample.id)).where(*self.conditions())) or 0)

    def args(self, **changes: Any) -> dict[str, str]:
        """Query-string arguments for this query with ``changes`` applied (for links)."""
        query = replace(self, **changes)
        values = {
            "q": query.text,
            "status": query.status,
            "state": query.state,
            "group": query.group,
            "errors": query.errors,
            "analyzed": query.analyzed,
            "sort": query.sort,
            "dir": "desc" if query.descending else "asc",
            "page": str(query.page),
            "per": str(query.per_page),
        }
        return {k: v for k, v in values.items() if v}

    def href(self, **changes: Any) -> str:
        return "?" + urlencode(self.args(**changes))

    def sort_href(self, key: str) -> str:
        flip = not self.descending if key == self.sort else key == "age"
        return self.href(sort=key, descending=flip, page=1)

    def filtered(self) -> bool:
        return any((self.text, self.status, self.state, self.group, self.errors, self.analyzed))


def _one_of(value: str, allowed: list[str]) -> str:
    return value if value in allowed else ""


def _integer(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _one_of_int(value: int) -> int:
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


def page_count(total: int, per_page: int) -> int:
    return max((total + per_page - 1) // per_page, 1)

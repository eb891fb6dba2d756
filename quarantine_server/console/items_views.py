"""The quarantined-items list: the page, its live rows, and bulk actions on a selection."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dis_core.vocabulary import SampleState, SampleStatus, StateGroup
from quarantine_server import monitor
from quarantine_server.console import backend, console
from quarantine_server.console.access import admin_required, audit, now
from quarantine_server.console.backend import services
from quarantine_server.console.listing import COLUMNS, PAGE_SIZES, ListQuery, page_count
from quarantine_server.console.rows import ItemRow, human_age, item_row
from quarantine_server.models import Heartbeat, Sample

SUMMARY: tuple[tuple[str, dict[str, str]], ...] = (
    ("all items", {}),
    ("waiting for analysis", {"status": "released"}),
    ("at the vendor", {"status": "submitted"}),
    ("held", {"status": "held"}),
    ("need attention", {"status": "attention"}),
    ("with errors", {"errors": "yes"}),
)


def _rows(db: Session, query: ListQuery) -> list[ItemRow]:
    moment = now()
    return [item_row(sample, moment) for sample in db.scalars(query.select())]


def _summary(db: Session) -> list[tuple[str, int, str]]:
    counts = dict(
        db.execute(select(Sample.status, func.count(Sample.id)).group_by(Sample.status)).all()
    )
    found = []
    for label, args in SUMMARY:
        query = ListQuery.parse(args)
        count = int(counts.get(args["status"], 0)) if "status" in args else query.count(db)
        found.append((label, count, url_for("console.items", **args)))  # type: ignore[arg-type]  # query arguments, not url_for's keywords
    return found


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    alive: bool
    text: str


def _health(db: Session, timeout_s: int) -> list[ServiceHealth]:
    """The agent's and scanner's last heartbeats, as the monitor judges them (same timeout)."""
    moment, found = now(), []
    for name in (monitor.AGENT, monitor.SCANNER):
        beat = db.get(Heartbeat, name)
        if beat is None:
            found.append(ServiceHealth(name, False, "never seen"))
            continue
        age = human_age(beat.beat_at, moment)
        alive = (moment - beat.beat_at).total_seconds() <= timeout_s
        found.append(
            ServiceHealth(name, alive, f"alive, {age} ago" if alive else f"silent for {age}")
        )
    return found


def _page_numbers(current: int, pages: int) -> list[int]:
    return [n for n in range(max(current - 3, 1), min(current + 3, pages) + 1)]


@console.route("/items")
def items() -> ResponseReturnValue:
    query = ListQuery.parse(request.args)
    with services().work() as db:
        config = services().config(db)
        total = query.count(db)
        rows, summary = _rows(db, query), _summary(db)
        health = _health(db, config.alerting.heartbeat_timeout_s)
    pages = page_count(total, query.per_page)
    return render_template(
        "console/items.html",
        query=query,
        rows=rows,
        total=total,
        pages=pages,
        summary=summary,
        page_numbers=_page_numbers(query.page, pages),
        health=health,
        columns=COLUMNS,
        page_sizes=PAGE_SIZES,
        statuses=[s.value for s in SampleStatus],
        states=[s.value for s in SampleState],
        groups=[g.value for g in StateGroup],
        refresh_s=config.general.console_refresh_s,
        default_priority=config.sample_policy.default_priority or 500,
    )


@console.route("/items/rows.json")
def items_rows() -> ResponseReturnValue:
    """The current rows for the live refresh: escaped HTML for the table, plus the same as data."""
    query = ListQuery.parse(request.args)
    with services().work() as db:
        total, rows = query.count(db), _rows(db, query)
    html = render_template("console/_rows.html", rows=rows, query=query)
    moment = now().strftime("%H:%M:%S")
    return jsonify(total=total, updated=moment, rows_html=html, rows=[r.as_json() for r in rows])


def selected_ids() -> list[int]:
    """The ids ticked in a form (or given as ?ids=1,2), unique, in order."""
    raw = request.form.getlist("ids") or request.args.get("ids", "").split(",")
    ids: list[int] = []
    for text in raw:
        if text.strip().isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids


def _back() -> str:
    back = request.form.get("back", "")
    return url_for("console.items") + (back if back.startswith("?") else "")


@console.route("/items/bulk", methods=["POST"])
@admin_required
def items_bulk() -> ResponseReturnValue:
    ids, action = selected_ids(), request.form.get("action", "")
    if not ids:
        flash("Select one or more items first.", "error")
        return redirect(_back(), 303)
    if action in {"delete", "restore"}:
        target = "console.confirm_delete" if action == "delete" else "console.confirm_restore"
        return redirect(url_for(target, ids=",".join(map(str, ids))), 303)
    priority = backend.parse_priority(request.form.get("priority", ""))
    audit(action, ids, f"priority {priority}")
    if action == "restart":
        report_outcomes(backend.restart_samples(services(), ids), "restarted from the first scan")
    elif priority is None:
        flash("Priority must be a whole number from 0 to 1000.", "error")
    elif action == "queue":
        report_outcomes(backend.queue_samples(services(), ids, priority), "queued for analysis")
    elif action == "priority":
        report_outcomes(
            backend.set_priorities(services(), ids, priority),
            f"priority set to {priority}",
        )
    else:
        flash(f"Unknown action {action!r}.", "error")
    return redirect(_back(), 303)


def report_outcomes(outcomes: list[backend.Outcome], done: str) -> None:
    """One flash line for the successes and one per refusal (with its reason)."""
    good = [o for o in outcomes if o.ok]
    if good:
        names = ", ".join(o.file_name for o in good[:5]) + (" …" if len(good) > 5 else "")
        flash(f"{len(good)} item{'s' if len(good) != 1 else ''} {done}: {names}", "ok")
    for refused in (o for o in outcomes if not o.ok):
        flash(
            f"{refused.file_name or 'item ' + str(refused.sample_id)}: {refused.message}", "error"
        )

"""One item's properties: tabs General, Sample Attributes, Actions, Errors, and its state path."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from dis_core.vocabulary.attributes import ATTRIBUTE_LIST, lookup
from quarantine_server import policy
from quarantine_server.console import backend, console, statepath
from quarantine_server.console.access import admin_required, audit, now
from quarantine_server.console.backend import services
from quarantine_server.console.items_views import report_outcomes
from quarantine_server.console.rows import item_row
from quarantine_server.models import Sample

TABS = (
    ("general", "General"),
    ("attributes", "Sample Attributes"),
    ("actions", "Actions"),
    ("errors", "Errors"),
    ("path", "State path"),
)
_ORDER = {a.name.lower(): index for index, a in enumerate(ATTRIBUTE_LIST)}


@dataclass(frozen=True)
class AttributeLine:
    name: str
    value: str
    owner: str
    meaning: str


def attribute_lines(values: dict[str, str]) -> list[AttributeLine]:
    """Every X- attribute of the sample, in registry order, each with its meaning."""
    lines = []
    for name, value in values.items():
        known = lookup(name)
        lines.append(
            AttributeLine(
                known.name if known else name,
                value,
                known.owner.value.replace("_", " ") if known else "",
                known.meaning if known else "",
            )
        )
    return sorted(lines, key=lambda line: (_ORDER.get(line.name.lower(), 999), line.name))


def _sample(db: Session, sample_id: int) -> Sample:
    sample = db.get(Sample, sample_id)
    if sample is None:
        abort(
            404, description=f"There is no quarantined item {sample_id} (it may have been deleted)."
        )
    return sample


def _svg(sample: Sample) -> statepath.Markup:
    steps = statepath.steps_from_rows(sample.history)
    return statepath.render_svg(
        steps, title=f"{sample.file_name} · item {sample.id} · {sample.computer}"
    )


@console.route("/items/<int:sample_id>")
def item(sample_id: int) -> ResponseReturnValue:
    tab = request.args.get("tab", "general")
    if tab not in dict(TABS):
        tab = "general"
    with services().work() as db:
        sample = _sample(db, sample_id)
        page = render_template(
            "console/item.html",
            tab=tab,
            tabs=TABS,
            sample=sample,
            row=item_row(sample, now()),
            attrs=sample.attributes,
            attributes=attribute_lines(sample.attributes),
            history=list(sample.history),
            errors=list(sample.errors),
            svg=_svg(sample) if tab == "path" else "",
            legend=statepath.legend(),
            default_priority=services().config(db).sample_policy.default_priority or 500,
            refresh_s=services().config(db).general.console_refresh_s,
            eligibility=policy.manual_eligibility(sample),
        )
    return page


@console.route("/items/<int:sample_id>.json")
def item_json(sample_id: int) -> ResponseReturnValue:
    """The item's list columns, for the live header of its properties page."""
    with services().work() as db:
        return jsonify(item_row(_sample(db, sample_id), now()).as_json())


@console.route("/items/<int:sample_id>/path.svg")
def item_path_svg(sample_id: int) -> ResponseReturnValue:
    with services().work() as db:
        svg = str(_svg(_sample(db, sample_id)))
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, mimetype="image/svg+xml")


def _to_actions(sample_id: int) -> ResponseReturnValue:
    return redirect(url_for("console.item", sample_id=sample_id, tab="actions"), 303)


@console.route("/items/<int:sample_id>/priority", methods=["POST"])
@admin_required
def item_priority(sample_id: int) -> ResponseReturnValue:
    priority = backend.parse_priority(request.form.get("priority", ""))
    if priority is None:
        flash("Priority must be a whole number from 0 to 1000.", "error")
    else:
        audit("priority", [sample_id], str(priority))
        outcomes = backend.set_priorities(services(), [sample_id], priority)
        report_outcomes(outcomes, f"priority set to {priority}")
    return _to_actions(sample_id)


@console.route("/items/<int:sample_id>/queue", methods=["POST"])
@admin_required
def item_queue(sample_id: int) -> ResponseReturnValue:
    priority = backend.parse_priority(request.form.get("priority", ""))
    if priority is None:
        flash("Priority must be a whole number from 1 to 1000.", "error")
    else:
        audit("queue", [sample_id], str(priority))
        report_outcomes(
            backend.queue_samples(services(), [sample_id], priority),
            "queued for analysis",
        )
    return _to_actions(sample_id)


@console.route("/items/<int:sample_id>/query", methods=["POST"])
@admin_required
def item_query(sample_id: int) -> ResponseReturnValue:
    audit("query definitions", [sample_id])
    outcome = backend.query_definitions(services(), sample_id)
    flash(outcome.message, "ok" if outcome.ok else "error")
    return _to_actions(sample_id)


@console.route("/items/<int:sample_id>/restart", methods=["POST"])
@admin_required
def item_restart(sample_id: int) -> ResponseReturnValue:
    audit("restart", [sample_id])
    report_outcomes(
        backend.restart_samples(services(), [sample_id]), "restarted from the first scan"
    )
    return _to_actions(sample_id)

"""Server-wide pages: Properties (every tab of the seed's Table 2-3), the event log, definitions."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from dis_core.config import Config
from dis_core.vocabulary import AlertEvent, SampleStatus
from quarantine_server import alerts, properties
from quarantine_server.console import console
from quarantine_server.console.access import admin_required, now
from quarantine_server.console.backend import services
from quarantine_server.console.listing import page_count
from quarantine_server.models import EventRecord, InstalledSet, Sample

TABS: tuple[tuple[str, str], ...] = (
    ("general", "General"),
    ("web_communication", "Web Communication"),
    ("firewall", "Firewall"),
    ("sample_policy", "Sample Policy"),
    ("definition_policy", "Definition Policy"),
    ("customer", "Customer Information"),
    ("alerting", "Alerting"),
    ("general_errors", "General Errors"),
)
TAB_HELP = {
    "general": "Where the quarantine folder lives, how large it may grow, where clients reach the server, how often this console refreshes, and where restores may write.",
    "web_communication": "The vendor gateway this server talks to, and whether submissions and downloads use TLS.",
    "firewall": "An HTTP CONNECT proxy between this server and the gateway, if your network needs one.",
    "sample_policy": "Whether samples go to the gateway on their own, how often the queue and the gateway are checked, and whether user data is stripped.",
    "definition_policy": "Which definition sets this server fetches, how often it looks for certified ones, and whether delivery to clients is held.",
    "customer": "Who you are to the vendor; every field is required.",
    "alerting": "Which events are raised (unticked ones are ignored) and where alerts are sent besides the event log.",
}
EVENTS_PER_PAGE = 50


@dataclass(frozen=True)
class FieldView:
    key: str
    label: str
    kind: str  # bool | int | float | list | events | secret | readonly | text
    value: Any
    meaning: str
    writable: bool
    needs_restart: bool


def _kinds(section: str) -> dict[str, str]:
    section_type = typing.get_type_hints(Config)[section]
    hints = typing.get_type_hints(section_type)
    names = {bool: "bool", int: "int", float: "float"}
    return {
        f.name: "list"
        if typing.get_origin(hints[f.name]) is list
        else names.get(hints[f.name], "text")
        for f in dataclasses.fields(section_type)
    }


def _kind(section: str, key: str, kinds: dict[str, str], writable: bool) -> str:
    if not writable:
        return "readonly"
    if (section, key) in properties.SECRETS:
        return "secret"
    if (section, key) == ("alerting", "enabled_events"):
        return "events"
    return kinds.get(key, "text")


UNITS = (("_s", " (seconds)"), ("_mb", " (MB)"), ("_percent", " (%)"))


def label_of(key: str) -> str:
    """'queue_check_interval_s' -> 'Queue check interval (seconds)'."""
    for suffix, unit in UNITS:
        if key.endswith(suffix):
            return key.removesuffix(suffix).replace("_", " ").capitalize() + unit
    return key.replace("_", " ").capitalize()


def field_views(tab: str, listing: dict[str, Any]) -> list[FieldView]:
    section = properties.TABS[tab]
    kinds = _kinds(section)
    return [
        FieldView(
            key,
            label_of(key),
            _kind(section, key, kinds, facts["writable"]),
            facts["value"],
            facts["meaning"],
            facts["writable"],
            facts["needs_restart"],
        )
        for key, facts in listing["properties"].items()
    ]


def changes_from_form(tab: str) -> dict[str, Any]:
    """The posted values of one tab, in the types the properties service expects."""
    section = properties.TABS[tab]
    changes: dict[str, Any] = {}
    for key, kind in _kinds(section).items():
        if (section, key) in properties.READ_ONLY:
            continue
        if (section, key) == ("alerting", "enabled_events"):
            ticked = request.form.getlist(key)
            changes[key] = [] if len(ticked) == len(AlertEvent) else ticked or ["__none__"]
        elif kind == "bool":
            changes[key] = (request.form.getlist(key) or ["no"])[-1]
        elif kind == "list":
            changes[key] = [
                line.strip() for line in request.form.get(key, "").splitlines() if line.strip()
            ]
        elif key in request.form:
            changes[key] = request.form[key].strip()
    return changes


def _tab() -> str:
    tab = request.args.get("tab", "general")
    return tab if tab in dict(TABS) else "general"


@console.route("/server", methods=["GET"])
def server_properties() -> ResponseReturnValue:
    return _properties_page(_tab())


def _properties_page(
    tab: str, problems: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    with services().work() as db:
        config = services().config(db)
        listing = properties.read_tab(config, db, tab)
    fields = [] if tab == "general_errors" else field_views(tab, listing)
    page = render_template(
        "console/server.html",
        tab=tab,
        tabs=TABS,
        tab_label=dict(TABS)[tab],
        tab_help=TAB_HELP.get(tab, ""),
        fields=fields,
        general_errors=listing.get("errors", []),
        problems=problems or [],
        alert_events=list(AlertEvent),
        server_name=config.general.server_name,
    )
    return page, status


@console.route("/server", methods=["POST"])
@admin_required
def save_server_properties() -> ResponseReturnValue:
    tab = _tab()
    if tab == "general_errors":
        return redirect(url_for("console.server_properties", tab=tab), 303)
    changes = changes_from_form(tab)
    if changes.get("enabled_events") == ["__none__"]:
        return _properties_page(
            tab,
            [
                "alerting.enabled_events: tick at least one event (an empty choice would mean every event)"
            ],
            400,
        )
    try:
        with services().work() as db:
            restart = properties.write_tab(services().base_config, db, tab, changes, now())
    except properties.PropertyError as refused:
        return _properties_page(tab, refused.problems, 400)
    flash(
        f"{dict(TABS)[tab]} saved."
        + (f" Restart the server for: {', '.join(restart)}." if restart else ""),
        "ok",
    )
    return redirect(url_for("console.server_properties", tab=tab), 303)


@dataclass(frozen=True)
class EventLine:
    at: Any
    title: str
    meaning: str
    sample_id: int | None
    message: str
    delivered: str
    severity: str


def _event_line(record: EventRecord) -> EventLine:
    try:
        event = AlertEvent(record.event)
        title, meaning, level = event.title, event.meaning, alerts.severity(event)
    except ValueError:
        title, meaning, level = record.event, "", "warning"
    return EventLine(
        record.at, title, meaning, record.sample_id, record.message, record.delivered, level
    )


@console.route("/events")
def events() -> ResponseReturnValue:
    chosen = request.args.get("event", "")
    chosen = chosen if chosen in {e.value for e in AlertEvent} else ""
    page = max(
        int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1
    )
    where = [EventRecord.event == chosen] if chosen else []
    with services().work() as db:
        total = int(db.scalar(select(func.count(EventRecord.id)).where(*where)) or 0)
        query = (
            select(EventRecord).where(*where).order_by(EventRecord.at.desc(), EventRecord.id.desc())
        )
        records = db.scalars(query.offset((page - 1) * EVENTS_PER_PAGE).limit(EVENTS_PER_PAGE))
        lines = [_event_line(r) for r in records]
    return render_template(
        "console/events.html",
        events=lines,
        total=total,
        chosen=chosen,
        page=page,
        pages=page_count(total, EVENTS_PER_PAGE),
        alert_events=list(AlertEvent),
    )


@console.route("/definitions")
def definitions() -> ResponseReturnValue:
    with services().work() as db:
        history = list(db.scalars(select(InstalledSet).order_by(InstalledSet.id.desc()).limit(100)))
        needed = db.execute(
            select(Sample.definitions_needed, func.count(Sample.id))
            .where(
                Sample.status == SampleStatus.NEEDED.value, Sample.definitions_needed.is_not(None)
            )
            .group_by(Sample.definitions_needed)
            .order_by(Sample.definitions_needed)
        ).all()
    active = history[0] if history else None
    return render_template(
        "console/definitions.html", active=active, history=history, needed=needed
    )

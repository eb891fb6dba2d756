"""The state-path picture: one sample's journey through statuses and states, as SVG.

Trainers use it to show where a sample has been and where it may go next. The picture is
drawn on the server from the sample's history rows, so it needs no JavaScript: one column per
change (in time order), one lane for the Quarantine Server's status and one lane per group of
analysis states (transit, pending, active, final). After the last column, dashed "ghost" boxes
show the moves that ``dis_core.lifecycle`` would allow next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from dis_core.lifecycle import STATE_MOVES, STATUS_MOVES
from dis_core.vocabulary import SampleState, SampleStatus, StateGroup

LANES: tuple[str, ...] = ("status", "transit", "pending", "active", "final")
LANE_TITLES = {
    "status": "Server status",
    "transit": "State: transit",
    "pending": "State: pending",
    "active": "State: active",
    "final": "State: final",
}
LANE_COLOURS = {
    "status": "#2563eb",
    "transit": "#0891b2",
    "pending": "#ca8a04",
    "active": "#7c3aed",
    "final": "#16a34a",
}
TROUBLE = frozenset({"error", "attention", "abort", "broken", "not installed", "declined"})
TROUBLE_COLOUR = "#dc2626"
COLUMN_W, LANE_H, LEFT, TOP = 104, 64, 150, 36
BOX_W, BOX_H = 96, 26
MAX_GHOSTS = 12
GHOSTS_PER_LANE = 3


@dataclass(frozen=True)
class PathStep:
    """One history row reduced to what the picture needs."""

    at: datetime
    field: str  # "status" or "state"
    before: str | None
    after: str
    actor: str
    reason: str


def steps_from_rows(rows: Iterable[Any]) -> list[PathStep]:
    """Status and state rows of a history (attributes at/field/before/after/actor/reason), in time order."""
    steps = [
        PathStep(
            at=row.at,
            field=str(row.field),
            before=row.before,
            after=str(row.after),
            actor=str(getattr(row, "actor", "") or ""),
            reason=str(getattr(row, "reason", "") or ""),
        )
        for row in rows
        if row.field in ("status", "state")  # plain actions (priority, restore) change no lane
    ]
    return sorted(steps, key=lambda s: s.at)


def lane_of(step_field: str, value: str) -> str:
    """The lane a value is drawn in: the status lane, or the group of an analysis state."""
    if step_field == "status":
        return "status"
    try:
        return SampleState(value).group.value
    except ValueError:
        return "active"


def meaning_of(step_field: str, value: str) -> str:
    try:
        if step_field == "status":
            return SampleStatus(value).meaning
        return SampleState(value).meaning
    except ValueError:
        return ""


def next_moves(step_field: str, current: str | None) -> list[str]:
    """What the lifecycle tables allow after ``current`` (sorted, at most MAX_GHOSTS)."""
    if step_field == "status":
        status = SampleStatus(current) if current else None
        options: Iterable[str] = (s.value for s in STATUS_MOVES.get(status, frozenset()))
    else:
        state = SampleState(current) if current else None
        options = (s.value for s in STATE_MOVES.get(state, frozenset()))
    return sorted(options)[:MAX_GHOSTS]


def _colour(lane: str, value: str) -> str:
    return TROUBLE_COLOUR if value in TROUBLE else LANE_COLOURS[lane]


def _lane_y(lane: str) -> int:
    return TOP + LANES.index(lane) * LANE_H + LANE_H // 2


def _column_x(index: int) -> int:
    return LEFT + index * COLUMN_W + COLUMN_W // 2


def _lanes_svg(width: int) -> list[str]:
    parts: list[str] = []
    for index, lane in enumerate(LANES):
        y = TOP + index * LANE_H
        shade = "#f8fafc" if index % 2 == 0 else "#eef2f7"
        parts.append(f'<rect x="0" y="{y}" width="{width}" height="{LANE_H}" fill="{shade}"/>')
        parts.append(
            f'<text x="12" y="{y + LANE_H // 2 + 4}" class="lane" fill="{LANE_COLOURS[lane]}">'
            f"{escape(LANE_TITLES[lane])}</text>"
        )
    return parts


def _box(x: int, y: int, value: str, colour: str, title: str, *, ghost: bool = False) -> str:
    label = value if len(value) <= 15 else value[:14] + "…"
    style = (
        f'fill="#ffffff" stroke="{colour}" stroke-dasharray="4 3" opacity="0.75"'
        if ghost
        else f'fill="{colour}" stroke="{colour}"'
    )
    text_fill = colour if ghost else "#ffffff"
    return (
        f'<g class="{"ghost" if ghost else "node"}"><title>{escape(title)}</title>'
        f'<rect x="{x - BOX_W // 2}" y="{y - BOX_H // 2}" width="{BOX_W}" height="{BOX_H}" '
        f'rx="7" {style}/>'
        f'<text x="{x}" y="{y + 4}" text-anchor="middle" class="value" fill="{text_fill}">'
        f"{escape(label)}</text></g>"
    )


def _links(points: Sequence[tuple[int, int]], colour: str) -> list[str]:
    return [
        f'<path d="M{x1 + BOX_W // 2} {y1} C{x1 + BOX_W // 2 + 10} {y1} {x2 - BOX_W // 2 - 10} {y2} '
        f'{x2 - BOX_W // 2} {y2}" stroke="{colour}" stroke-width="2" fill="none" '
        f'marker-end="url(#arrow)"/>'
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False)
    ]


def _time_label(step: PathStep, first: datetime, x: int, height: int) -> str:
    seconds = int((step.at - first).total_seconds())
    text = f"+{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"+{seconds}s"
    return (
        f'<text x="{x}" y="{height - 10}" text-anchor="middle" class="time">{escape(text)}</text>'
    )


def _ghost_values(steps: Sequence[PathStep]) -> dict[str, list[tuple[str, str]]]:
    """Possible next values, grouped by the lane they would be drawn in."""
    by_lane: dict[str, list[tuple[str, str]]] = {}
    for step_field in ("status", "state"):
        current = next((s.after for s in reversed(steps) if s.field == step_field), None)
        if step_field == "state" and current is None:
            continue  # never submitted: no analysis state yet
        for value in next_moves(step_field, current):
            by_lane.setdefault(lane_of(step_field, value), []).append((step_field, value))
    return by_lane


def _ghosts(steps: Sequence[PathStep], column: int) -> list[str]:
    parts: list[str] = []
    for lane, values in _ghost_values(steps).items():
        y = _lane_y(lane)
        for index, (step_field, value) in enumerate(values[:GHOSTS_PER_LANE]):
            x = _column_x(column) + index * (BOX_W + 8)
            title = f"possible next {step_field}: {value}. {meaning_of(step_field, value)}"
            parts.append(_box(x, y, value, _colour(lane, value), title, ghost=True))
        if len(values) > GHOSTS_PER_LANE:
            x = _column_x(column) + GHOSTS_PER_LANE * (BOX_W + 8) - BOX_W // 2
            parts.append(
                f'<text x="{x}" y="{y + 4}" class="time">+{len(values) - GHOSTS_PER_LANE}</text>'
            )
    return parts


def render_svg(steps: Sequence[PathStep], *, title: str = "") -> Markup:
    """The picture as an inline SVG element (safe to put in a template as is)."""
    columns = max(len(steps), 1) + GHOSTS_PER_LANE
    width = LEFT + columns * COLUMN_W + 40
    height = TOP + len(LANES) * LANE_H + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="statepath" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title or "sample path")}">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0 0L10 5L0 10z' fill='#475569'/>"
        "</marker></defs>",
        "<style>.lane{font:600 12px system-ui,sans-serif}.value{font:600 11px system-ui,sans-serif}"
        ".time{font:10px system-ui,sans-serif;fill:#64748b}.head{font:600 13px system-ui,sans-serif;"
        "fill:#0f172a}</style>",
        f'<text x="12" y="22" class="head">{escape(title)}</text>',
        *_lanes_svg(width),
    ]
    parts += _columns(steps, height)
    if steps:
        parts += _ghosts(steps, len(steps))
    else:
        parts.append(f'<text x="{LEFT}" y="{_lane_y("status")}" class="time">no history yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _columns(steps: Sequence[PathStep], height: int) -> list[str]:
    parts: list[str] = []
    chains: dict[str, list[tuple[int, int]]] = {"status": [], "state": []}
    boxes: list[str] = []
    for index, step in enumerate(steps):
        x, lane = _column_x(index), lane_of(step.field, step.after)
        y = _lane_y(lane)
        chains[step.field].append((x, y))
        title = (
            f"{step.at:%Y-%m-%d %H:%M:%S} UTC · {step.field} {step.before or '(new)'} → "
            f"{step.after} · by {step.actor}: {step.reason}. {meaning_of(step.field, step.after)}"
        )
        boxes.append(_box(x, y, step.after, _colour(lane, step.after), title))
        parts.append(_time_label(step, steps[0].at, x, height))
    parts += _links(chains["status"], "#93c5fd") + _links(chains["state"], "#c4b5fd")
    return parts + boxes


def legend() -> list[tuple[str, str, str]]:
    """(lane title, colour, what it holds) for the page under the picture."""
    held = {
        "status": "the Quarantine Server's processing status",
        StateGroup.TRANSIT.value: "travelling to the back office",
        StateGroup.PENDING.value: "waiting in the back office",
        StateGroup.ACTIVE.value: "being analysed",
        StateGroup.FINAL.value: "analysis finished",
    }
    return [(LANE_TITLES[lane], LANE_COLOURS[lane], held[lane]) for lane in LANES]

"""The state-path picture: one sample's journey through statuses and states, as SVG.

Trainers use it to show where a sample has been and where it may go next. The picture is
drawn on the server from the sample's history rows, so it needs no JavaScript: one column per
change (in time order), one lane for the Quarantine Server's status and one lane per group of
analysis states (transit, pending, active, final). After the last column, dashed "ghost" boxes
show the moves that ``dis_core.lifecycle`` would allow next. A long history wraps into
several bands of the same lanes, read top to bottom like lines of text.
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
TROUBLE_COLOUR = "#dc2626"
COLUMN_W, LANE_H, LEFT, TOP = 118, 56, 150, 36
BOX_W, BOX_H = 110, 26
BAND_COLUMNS = 9  # columns per band; a long history wraps into several bands
BAND_GAP = 34  # room under a band for its time labels
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
    return TROUBLE_COLOUR if _troubled(lane, value) else LANE_COLOURS[lane]


def _troubled(lane: str, value: str) -> bool:
    return SampleStatus(value).troubled if lane == "status" else SampleState(value).troubled


BAND_H = len(LANES) * LANE_H + BAND_GAP
WIDTH = LEFT + BAND_COLUMNS * COLUMN_W + 16


def _place(index: int) -> tuple[int, int]:
    """(band, column) of the index-th column of the picture."""
    return divmod(index, BAND_COLUMNS)


def _lane_y(lane: str, band: int) -> int:
    return TOP + band * BAND_H + LANES.index(lane) * LANE_H + LANE_H // 2


def _column_x(column: int) -> int:
    return LEFT + column * COLUMN_W + COLUMN_W // 2


def _lanes_svg(band: int) -> list[str]:
    parts: list[str] = []
    for index, lane in enumerate(LANES):
        y = TOP + band * BAND_H + index * LANE_H
        shade = "#f8fafc" if index % 2 == 0 else "#eef2f7"
        parts.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE_H}" fill="{shade}"/>')
        parts.append(
            f'<text x="12" y="{y + LANE_H // 2 + 4}" class="lane" fill="{LANE_COLOURS[lane]}">'
            f"{escape(LANE_TITLES[lane])}</text>"
        )
    return parts


def _box(x: int, y: int, value: str, colour: str, title: str, *, ghost: bool = False) -> str:
    label = value if len(value) <= 17 else value[:16] + "…"
    style = (
        f'fill="#ffffff" stroke="{colour}" stroke-dasharray="4 3" opacity="0.8"'
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


def _curve(
    x1: int, y1: int, x2: int, y2: int, colour: str, *, arrow: bool = True, dashed: bool = False
) -> str:
    marker = ' marker-end="url(#arrow)"' if arrow else ""
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return (
        f'<path d="M{x1} {y1} C{x1 + 12} {y1} {x2 - 12} {y2} {x2} {y2}" stroke="{colour}" '
        f'stroke-width="2" fill="none"{dash}{marker}/>'
    )


def _links(points: Sequence[tuple[int, int, int]], colour: str) -> list[str]:
    """Arrows between consecutive (band, x, y) points; across a wrap, dashed stubs at the edges."""
    parts = []
    for (band1, x1, y1), (band2, x2, y2) in zip(points, points[1:], strict=False):
        start, end = x1 + BOX_W // 2, x2 - BOX_W // 2
        if band1 == band2:
            parts.append(_curve(start, y1, end, y2, colour))
        else:
            parts.append(_curve(start, y1, WIDTH - 4, y1, colour, arrow=False, dashed=True))
            parts.append(_curve(LEFT - 6, y2, end, y2, colour, dashed=True))
    return parts


def _time_label(step: PathStep, first: datetime, x: int, band: int) -> str:
    seconds = int((step.at - first).total_seconds())
    text = f"+{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"+{seconds}s"
    y = TOP + band * BAND_H + len(LANES) * LANE_H + 16
    return f'<text x="{x}" y="{y}" text-anchor="middle" class="time">{escape(text)}</text>'


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


def _ghost_start(count: int) -> int:
    """First column of the ghost boxes: after the history, on a new band if they do not fit."""
    band, column = _place(count)
    return count if column + GHOSTS_PER_LANE <= BAND_COLUMNS else (band + 1) * BAND_COLUMNS


def _ghosts(steps: Sequence[PathStep]) -> list[str]:
    band, column = _place(_ghost_start(len(steps)))
    parts: list[str] = []
    for lane, values in _ghost_values(steps).items():
        y = _lane_y(lane, band)
        for index, (step_field, value) in enumerate(values[:GHOSTS_PER_LANE]):
            title = f"possible next {step_field}: {value}. {meaning_of(step_field, value)}"
            parts.append(
                _box(_column_x(column + index), y, value, _colour(lane, value), title, ghost=True)
            )
        if len(values) > GHOSTS_PER_LANE:
            x = _column_x(column + GHOSTS_PER_LANE - 1) + BOX_W // 2 + 3
            parts.append(
                f'<text x="{x}" y="{y + 4}" class="time">+{len(values) - GHOSTS_PER_LANE}</text>'
            )
    return parts


def render_svg(steps: Sequence[PathStep], *, title: str = "") -> Markup:
    """The picture as an inline SVG element (safe to put in a template as is)."""
    bands = _place(_ghost_start(len(steps)) + GHOSTS_PER_LANE - 1)[0] + 1 if steps else 1
    height = TOP + bands * BAND_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="statepath" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title or "sample path")}">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0 0L10 5L0 10z' fill='#475569'/>"
        "</marker></defs>",
        "<style>.lane{font:600 12px system-ui,sans-serif}.value{font:600 10.5px system-ui,sans-serif}"
        ".time{font:10px system-ui,sans-serif;fill:#64748b}.head{font:600 13px system-ui,sans-serif;"
        "fill:#0f172a}</style>",
        f'<text x="12" y="22" class="head">{escape(title)}</text>',
    ]
    for band in range(bands):
        parts += _lanes_svg(band)
    if steps:
        parts += _columns(steps) + _ghosts(steps)
    else:
        parts.append(
            f'<text x="{LEFT}" y="{_lane_y("status", 0) + 4}" class="time">no history yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _columns(steps: Sequence[PathStep]) -> list[str]:
    parts: list[str] = []
    chains: dict[str, list[tuple[int, int, int]]] = {"status": [], "state": []}
    boxes: list[str] = []
    for index, step in enumerate(steps):
        band, column = _place(index)
        x, lane = _column_x(column), lane_of(step.field, step.after)
        y = _lane_y(lane, band)
        chains[step.field].append((band, x, y))
        title = (
            f"{step.at:%Y-%m-%d %H:%M:%S} UTC · {step.field} {step.before or '(new)'} → "
            f"{step.after} · by {step.actor}: {step.reason}. {meaning_of(step.field, step.after)}"
        )
        boxes.append(_box(x, y, step.after, _colour(lane, step.after), title))
        parts.append(_time_label(step, steps[0].at, x, band))
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

"""Starting conditions for replication: which goats, what date, which events.

Round 0 is the plain case (run the sample among the goats on an ordinary day). When nothing
replicates the controller moves on: goats exercised by events (for resident viruses that
infect what is executed or opened), then dates and goat names suggested by the constants in
the sample's own program (a trigger compares the date or a file name with something it
carries), then well-known trigger dates, then goats renamed after common program names.
Every plan is a plain dict so it can sit in the database between steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dis_core.definitions import extract_vba, normalize_vba
from dis_core.vocabulary.kinds import EngineKind
from simworld.bytecode import disassemble

COMMON_NAMES = ("setup", "install", "update", "game", "calc", "notepad", "command", "explorer")
WELL_KNOWN_DATES = ((13, None), (1, 1), (25, 12), (1, 4), (6, 3), (15, None), (31, 10))
_IMMEDIATE = re.compile(r"^[0-9a-f]{4}: (?:MOVI|ADDI) r\d+, (\d+)$")
_STRING = re.compile(r"hex:([0-9a-f]+)")
_NUMBER = re.compile(r"\b(\d{1,8})\b")
_VB_WEEKDAYS = {
    "vbsunday": 7,
    "vbmonday": 1,
    "vbtuesday": 2,
    "vbwednesday": 3,
    "vbthursday": 4,
    "vbfriday": 5,
    "vbsaturday": 6,
}


@dataclass
class Hints:
    """Dates and name fragments a program's constants suggest."""

    dates: list[date] = field(default_factory=list)
    days: list[int] = field(default_factory=list)  # day of the month
    names: list[str] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)


def harvest(program: bytes | None, base: date) -> Hints:
    """Read the program's immediates and string literals (the program is data, never run)."""
    hints = Hints()
    if not program:
        return hints
    for line in disassemble(program):
        immediate = _IMMEDIATE.match(line)
        if immediate:
            date_hints(int(immediate.group(1)), base, hints)
        for literal in _STRING.findall(line):
            _name_hint(bytes.fromhex(literal), hints)
    hints.dates = list(dict.fromkeys(hints.dates))[:6]
    # large day numbers first: 1, 4, 8 are more often counters and sizes than dates
    hints.days = sorted(set(hints.days), key=lambda d: (d < 10, d))[:4]
    hints.names = list(dict.fromkeys(hints.names))[:6]
    hints.weekdays = sorted(set(hints.weekdays))
    return hints


def harvest_macro_hints(document: bytes, today: date) -> Hints:
    """Dates, days and weekdays the macro source compares with (it is read, never run)."""
    hints = Hints()
    for _, source in extract_vba(document) or []:
        text = normalize_vba(source)
        for number in _NUMBER.findall(text):
            date_hints(int(number), today, hints)
        hints.weekdays += [iso for name, iso in _VB_WEEKDAYS.items() if name in text]
    hints.weekdays = sorted(set(hints.weekdays))
    hints.days = sorted(set(hints.days), key=lambda d: (d < 10, d))[:4]
    hints.dates = list(dict.fromkeys(hints.dates))[:6]
    return hints


def date_hints(value: int, base: date, hints: Hints) -> None:
    if 19000101 <= value <= 21001231:
        found = _make_date(value // 10000, value // 100 % 100, value % 100)
        if found:
            hints.dates.append(found)
    elif 101 <= value <= 1231:
        found = _make_date(base.year, value // 100, value % 100)
        if found:
            hints.dates.append(found)
    elif 1 <= value <= 31:
        hints.days.append(value)
        if value <= 7:
            hints.weekdays.append(value)


def _name_hint(literal: bytes, hints: Hints) -> None:
    try:
        text = literal.decode("ascii")
    except UnicodeDecodeError:
        return
    if (
        3 <= len(text) <= 24
        and re.fullmatch(r"[A-Za-z0-9_.-]+", text)
        and not text.lower().endswith((".exe", ".docm", ".xlsm", ".dotm"))
    ):
        hints.names.append(text.lower())


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def plans(kind: str, base: datetime, hints: Hints, rounds: int) -> list[dict[str, Any]]:
    """The ordered list of plans the controller may try, at most ``rounds`` of them."""
    noon = base.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    found: list[dict[str, Any]] = [
        # documents do nothing until opened, so macro plans always exercise the goats
        {
            "label": "ordinary day",
            "when": noon,
            "exercise": kind == EngineKind.MACRO,
            "rename": None,
        },
        {"label": "goats exercised by events", "when": noon, "exercise": True, "rename": None},
    ]
    for moment in hints.dates:
        found.append(
            {
                "label": f"date from program {moment.isoformat()}",
                "when": _at_noon(moment),
                "exercise": True,
                "rename": None,
            }
        )
    for day_number in hints.days:
        found.append(
            {
                "label": f"day {day_number} of the month (from program)",
                "when": _well_known(noon, day_number, None, friday=False),
                "exercise": True,
                "rename": None,
            }
        )
    for weekday in hints.weekdays:
        shift = (weekday - noon.isoweekday()) % 7
        found.append(
            {
                "label": f"weekday {weekday}",
                "when": noon + timedelta(days=shift),
                "exercise": True,
                "rename": None,
            }
        )
    for name in hints.names:
        found.append(
            {"label": f"goats named after '{name}'", "when": noon, "exercise": True, "rename": name}
        )
    for known_day, month in WELL_KNOWN_DATES:
        found.append(
            {
                "label": f"trigger date day {known_day} month {month or 'any'}",
                "when": _well_known(noon, known_day, month),
                "exercise": True,
                "rename": None,
            }
        )
    if kind == EngineKind.BINARY:
        for name in COMMON_NAMES:
            found.append(
                {"label": f"goats named '{name}'", "when": noon, "exercise": True, "rename": name}
            )
    return [dict(plan, when=plan["when"].isoformat()) for plan in found[:rounds]]


def _at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _well_known(noon: datetime, day: int, month: int | None, friday: bool = True) -> datetime:
    """The next date on or after ``noon`` with that day (and month); Friday for the 13th."""
    probe = noon
    for _ in range(3 * 366):
        right_day = probe.day == day and (month is None or probe.month == month)
        if right_day and (not friday or day != 13 or month is not None or probe.isoweekday() == 5):
            return probe
        probe += timedelta(days=1)
    return noon

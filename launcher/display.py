"""Terminal views of journeys: a live table while samples travel, a summary at the end."""

from __future__ import annotations

from rich.table import Table

from launcher.journey import Journey


def journey_table(journeys: list[Journey], title: str) -> Table:
    table = Table(title=title, expand=False)
    for column in ("file", "computer", "status", "state", "virus", "seq", "time", "expected"):
        table.add_column(column)
    for journey in journeys:
        actual = journey.actual()
        mark = (
            "[green]✓[/]"
            if journey.settled and _matches(journey)
            else ("[red]✗[/]" if journey.settled else "…")
        )
        table.add_row(
            journey.expectation.file,
            journey.computer,
            str(actual["status"] or "forwarding"),
            str(actual["state"] or "-"),
            str(actual["virus"] or "-"),
            str(actual["sequence"] or "-"),
            f"{journey.seconds:5.1f}s",
            f"{mark} {journey.expectation.state or '-'} / {journey.expectation.status}",
        )
    return table


def _matches(journey: Journey) -> bool:
    from launcher.manifest import compare

    return not compare(journey.expectation, journey.actual())

"""Replay reports: JUnit XML for CI systems and a self-contained HTML page for people."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET


@dataclass
class Outcome:
    """What happened to one fixture, beside what its manifest expected."""

    file: str
    family: str
    expected: dict[str, object]
    actual: dict[str, object]
    seconds: float
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def write_junit(outcomes: list[Outcome], path: Path, suite: str = "dis-replay") -> None:
    failures = sum(not o.passed for o in outcomes)
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(outcomes)),
        failures=str(failures),
        errors="0",
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            root,
            "testcase",
            classname=f"{suite}.{outcome.family}",
            name=outcome.file,
            time=f"{outcome.seconds:.3f}",
        )
        if not outcome.passed:
            failure = ET.SubElement(case, "failure", message="; ".join(outcome.mismatches))
            failure.text = f"expected {outcome.expected}\nactual   {outcome.actual}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_html(outcomes: list[Outcome], path: Path, title: str = "Replay report") -> None:
    rows = "\n".join(_html_row(o) for o in outcomes)
    passed = sum(o.passed for o in outcomes)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.fail{{background:#fdd}}.pass{{background:#dfd}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{passed} of {len(outcomes)} fixtures matched their manifest.</p>
<table><tr><th>file</th><th>family</th><th>expected</th><th>actual</th><th>seconds</th><th>mismatches</th></tr>
{rows}</table></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def _html_row(outcome: Outcome) -> str:
    cells = [
        outcome.file,
        outcome.family,
        _fmt(outcome.expected),
        _fmt(outcome.actual),
        f"{outcome.seconds:.1f}",
        "; ".join(outcome.mismatches),
    ]
    css = "pass" if outcome.passed else "fail"
    return f'<tr class="{css}">' + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _fmt(values: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)

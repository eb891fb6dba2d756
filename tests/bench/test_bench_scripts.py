"""Every issue-12 benchmark script runs from the repository root with ``--quick`` and prints
its result table with measured numbers (tiny parameters: this proves the scripts work, not
how fast anything is)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_quick(script: str, *extra: str, timeout: float = 280) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def table_rows(output: str, first_cell: str) -> list[list[str]]:
    rows = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(first_cell):
            rows.append(cells)
    return rows


def number(cell: str) -> float:
    match = re.search(r"[\d.,]+", cell)
    assert match, f"no number in {cell!r}"
    return float(match.group().replace(",", ""))


def test_api_latency_times_every_list_view() -> None:
    output = run_quick("bench_api_latency.py")
    [default] = table_rows(output, "newest first")
    assert number(default[1]) == 2000  # every inserted row is counted by the API
    assert 0 < number(default[2]) <= number(default[3])  # median <= p95
    assert len(table_rows(output, "")) >= 11 + 1


def test_peers_scan_agrees_with_yara_and_clamscan() -> None:
    output = run_quick("bench_peers_scan.py")
    rows = table_rows(output, "100")
    names = " ".join(r[1] for r in rows)
    assert "Scanner" in names and "yara 4" in names and "clamscan" in names
    flagged = {r[-1] for r in rows}
    assert len(flagged) == 1 and number(flagged.pop()) >= 1  # planted signatures found by all


@pytest.mark.slow
def test_loop_latency_reaches_the_endpoint() -> None:
    output = run_quick("bench_loop_latency.py")
    [installed] = table_rows(output, "forward → definitions installed")
    assert number(installed[1]) == 2 and number(installed[2]) > 0


@pytest.mark.slow
def test_replay_settles_both_corpora() -> None:
    output = run_quick("bench_replay.py")
    for corpus in ("filtered", "novel"):
        [row] = table_rows(output, corpus)
        assert number(row[2]) >= 1 and number(row[6]) > 0  # settled, samples per second
        if number(row[2]) < number(row[1]):  # a sample short of its end is named, not hidden
            assert f"{corpus}: " in output and "never settled" in output


@pytest.mark.slow
def test_memory_reads_every_process() -> None:
    output = run_quick("bench_memory.py")
    for process in ("launcher", "gateway", "backoffice", "qserver-web", "qserver-agent"):
        assert table_rows(output, process), f"no reading for {process}"
    [total] = table_rows(output, "all processes")
    assert number(total[1]) > 100  # MiB at rest for the whole loop


@pytest.mark.slow
def test_signature_quality_compares_with_yarobot() -> None:
    output = run_quick("bench_signature_quality.py", timeout=290)
    [appender] = table_rows(output, "appender_ep")
    assert appender[1] == "infected"
    assert appender[2] == "2/2"  # the back office's signature finds both held-back variants
    assert re.fullmatch(r"\d+/2|no rule", appender[3])  # the peer's column is filled in

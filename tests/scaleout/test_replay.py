"""The replay suite on the scaled-out loop: PostgreSQL for the three databases, the back
office's steps in two Celery worker processes over Redis (``dis replay --db --broker``)."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import text

from dis_core.db import make_engine
from dis_core.migrate import part_url

REPO = Path(__file__).resolve().parents[2]
FAMILIES = "appender_ep,macro_poly,worm,eicar,known,data,fp_bait"
pytestmark = pytest.mark.slow


def dis(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_replay_on_postgres_with_two_celery_workers(
    tmp_path: Path, pg_base: str, broker: str
) -> None:
    corpus = tmp_path / "corpus"
    generated = dis("fixtures", "generate", "--out", str(corpus), "--seed", "4242", "--families", FAMILIES)  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    junit, data_dir = tmp_path / "r.xml", tmp_path / "replay"
    run = dis(
        "replay", str(corpus), "--data-dir", str(data_dir), "--junit", str(junit),
        "--db", pg_base, "--broker", broker, "--workers", "2", "--timeout", "400",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests", "0")) == 7
    _every_analysis_ended_once(pg_base)
    _steps_ran_in_the_workers(data_dir / "logs")


def _every_analysis_ended_once(pg_base: str) -> None:
    """The back office kept its samples in PostgreSQL, each with exactly one final move."""
    engine = make_engine(part_url(pg_base, "backoffice"))
    finals = (
        "'abort','attention','broken','declined','error','infected','misfired','nodetect',"
        "'norepair','uninfectable','uninfected','unsubmittable','encrypted','delete','restore'"
    )
    with engine.connect() as connection:
        counts = connection.execute(
            text(
                "SELECT a.cookie, count(s.id) FROM analysis a LEFT JOIN state_change s "
                f"ON s.analysis_id = a.id AND s.field = 'state' AND s.after IN ({finals}) "
                "GROUP BY a.cookie"
            )
        ).all()
    engine.dispose()
    assert len(counts) >= 4, counts  # the samples the Quarantine Server could not settle itself
    assert all(n == 1 for _, n in counts), counts


def _steps_ran_in_the_workers(logs: Path) -> None:
    done = {
        name: len(re.findall(r"Task backoffice\.step\[[^]]+\] succeeded", (logs / f"{name}.log").read_text()))
        for name in ("worker-1", "worker-2")
    }  # fmt: skip
    assert sum(done.values()) >= 20, done  # every sample takes several steps
    assert "Task backoffice.step" not in (logs / "backoffice.log").read_text()

"""Screenshots of the console's main pages for docs/screenshots/ (taken from a live run).

The data is built the way the system builds it: samples forwarded through the intake API and
moved by the server's own services; a few events, a general error and two installed
definition sets (rows only: no real set is installed here) fill the other pages.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from dis_core.vocabulary import AlertEvent, SampleError
from quarantine_server.alerts import general_error, raise_event
from quarantine_server.models import InstalledSet, Sample
from quarantine_server.monitor import beat

from .conftest import SCREENSHOTS, LiveServer, log_in
from .lifecycle_steps import first_scan, gateway_reports, submitted

pytestmark = pytest.mark.browser

JOURNEY = [
    "accepted",
    "importing",
    "imported",
    "classifying",
    "binary",
    "binaryWait",
    "binaryControlling",
    "binaryReplicating",
    "binaryScoring",
    "signatures",
    "locking",
    "incrBuilding",
    "incrUnitTesting",
    "unlocking",
    "archive",
    "archiving",
]


def _populate(live: LiveServer) -> int:
    names = [
        ("invoice_2026.exe", "alice", "PC-ACCT-01"),
        ("quarterly <b>report</b>.doc", "bob", "PC-SALES-07"),
        ("setup.exe", "carol", "LAB-03"),
        ("budget.xls", "dave", "PC-HR-02"),
        ("plugin.dll", "erin", "LAB-04"),
        ("game.exe", "frank", "PC-DEV-11"),
        ("notes.doc", "gina", "PC-HR-05"),
    ]
    ids = [live.forward(f"inert sample {n}".encode() * 40, n, u, c) for n, u, c in names]
    star = ids[0]
    first_scan(live.services, star)
    submitted(live.services, star)
    for state in JOURNEY:
        live.services.clock.advance(40)  # type: ignore[attr-defined]
        gateway_reports(live.services, star, state)
    gateway_reports(
        live.services,
        star,
        "infected",
        **{
            "X-Signatures-Sequence": "12",
            "X-Analysis-Virus-Name": "Sim.Appender.A",
            "X-Date-Analyzed": "2026-11-27T01:00:00Z",
        },
    )
    first_scan(live.services, ids[2])
    submitted(live.services, ids[2])
    gateway_reports(live.services, ids[2], "binaryReplicating")
    first_scan(live.services, ids[3])
    submitted(live.services, ids[3])
    gateway_reports(
        live.services, ids[3], "uninfectable", **{"X-Date-Analyzed": "2026-11-27T01:00:00Z"}
    )
    first_scan(live.services, ids[4])
    live.config.sample_policy.automatic_submission = False
    first_scan(live.services, ids[1])
    live.config.sample_policy.automatic_submission = True
    with live.services.work() as db:
        now = live.services.clock.now()
        config = live.services.config(db)
        broken = db.get(Sample, ids[5])
        assert broken is not None
        broken.add_error(
            now, SampleError.CONTENT, "content checksum of the submission did not match", "gateway"
        )
        raise_event(
            db,
            config,
            now,
            AlertEvent.GATEWAY_UNREACHABLE,
            "gateway https://127.0.0.1:8443 refused the connection",
        )
        raise_event(
            db,
            config,
            now,
            AlertEvent.SAMPLE_HELD,
            f"sample {ids[1]} is held",
            sample=db.get(Sample, ids[1]),
        )
        raise_event(
            db, config, now, AlertEvent.CERTIFIED_DEFS_ARRIVED, "certified set 11 installed"
        )
        general_error(
            db, now, "agent", "definitions folder /srv/defs was not readable for 2 minutes"
        )
        beat(db, "agent", now - timedelta(seconds=12))
        beat(db, "scanner", now - timedelta(seconds=4))
        db.add(
            InstalledSet(
                sequence=11,
                certified=True,
                installed_at=now - timedelta(hours=5),
                how="full",
                signatures=41,
            )
        )
        db.add(
            InstalledSet(
                sequence=12, certified=False, installed_at=now, how="incremental", signatures=42
            )
        )
    return star


def _shot(page: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_screenshots_of_the_main_pages(live: LiveServer, page: Any, tmp_path: Path) -> None:
    # Set CONSOLE_SCREENSHOTS=docs to refresh docs/screenshots/; by default they go to tmp_path,
    # so an ordinary test run leaves the tree clean.
    folder = SCREENSHOTS if os.environ.get("CONSOLE_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    star = _populate(live)
    page.goto(f"{live.url}/console/login")
    _shot(page, folder, "login")
    log_in(page, live)
    page.locator("#rows input.pick").nth(1).check()
    page.locator("#rows input.pick").nth(2).check()
    _shot(page, folder, "items")
    for tab in ("general", "attributes", "actions", "errors"):
        page.goto(f"{live.url}/console/items/{star}?tab={tab}")
        if tab == "attributes":
            page.locator("#attributes tr", has_text="X-Analysis-State").dblclick()
            expect(page.locator("#attributes details[open]")).to_have_count(1)
        _shot(page, folder, f"item-{tab}")
    page.goto(f"{live.url}/console/items/{star}?tab=path")
    expect(page.locator("#statepath svg")).to_be_visible()
    _shot(page, folder, "item-state-path")
    for tab in ("general", "sample_policy", "definition_policy", "alerting", "general_errors"):
        page.goto(f"{live.url}/console/server?tab={tab}")
        _shot(page, folder, f"server-{tab.replace('_', '-')}")
    page.goto(f"{live.url}/console/events")
    _shot(page, folder, "event-log")
    page.goto(f"{live.url}/console/definitions")
    _shot(page, folder, "definitions")
    page.goto(f"{live.url}/console/items/restore?ids={star}")
    _shot(page, folder, "restore-confirm")

"""The other ends, each from a real condition: broken, deferred (expert desk, rescan),
error, abort, attention; and certified full builds on their schedule."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import select

from backoffice.desk import DeskServer, create_desk_app
from backoffice.link import BackOfficeLink
from backoffice.pipeline.runner import StageRunner
from backoffice.pipeline.stages import stage_for
from backoffice.service import BackOffice
from backoffice.services import Goodware
from backoffice.store.models import Analysis
from backoffice.store.workspace import Workspace
from dis_core.clock import ManualClock
from simworld import binaries

from .conftest import make_config, submit

Factory = Callable[..., BackOffice]


def _row(office: BackOffice, cookie: str) -> Analysis:
    with office.services.store.sessions() as session:
        row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
        _ = row.history
        return row


def _import(office: BackOffice, cookie: str, data: bytes) -> None:
    submit(BackOfficeLink(office.config, office.services.clock), cookie, data)


def test_failed_unit_test_abandons_the_sequence_and_leaves_the_sample_broken(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path)
    _import(office, "first", binaries.infected_host("appender_ep", 11))
    assert office.run_inline("first") == "infected"
    # damage the stored unit test of the first signature: its "infected goat" is now clean
    tests = Workspace(office.services.archive("first"))
    tests.put("goats/00.infected", tests.get("goats/00.original"))
    _import(office, "second", binaries.infected_host("section_adder", 12))
    assert office.run_inline("second") == "broken"
    row = _row(office, "second")
    assert row.state_path()[-5:] == [
        "locking",
        "incrBuilding",
        "incrUnitTesting",
        "unlocking",
        "broken",
    ]
    assert row.error == "abandoned" and "infected goat is not detected" in (row.error_detail or "")
    abandoned = office.services.repository.next_sequence() - 1
    assert office.services.repository.status(abandoned)["status"] == "abandoned"  # type: ignore[index]
    assert office.services.repository.newest_sequence() == 2  # the first sample's set stays newest


def test_deferred_sample_is_settled_on_the_desk_or_by_a_newer_set(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path, max_fp_log10=-10000.0)  # no candidate can pass: defer
    _import(office, "hard-1", binaries.infected_host("cavity", 21))
    _import(office, "hard-2", binaries.infected_host("appender_ep", 22))
    assert office.run_inline("hard-1") == "deferred"
    assert office.run_inline("hard-2") == "deferred"
    assert _row(office, "hard-1").state_path()[-4:] == [
        "binaryScoring",
        "defer",
        "deferring",
        "deferred",
    ]
    desk = DeskServer(create_desk_app(office.services, "s3cret"), 0)
    desk.start()
    try:
        assert requests.get(desk.url, timeout=5).status_code == 403
        page = requests.get(desk.url, params={"token": "s3cret"}, timeout=5)
        assert page.status_code == 200 and "hard-1" in page.text and "hard-2" in page.text
        bad = requests.post(
            desk.url + "samples/hard-1/resolve",
            json={"state": "classifying"},
            headers={"X-Desk-Token": "s3cret"},
            timeout=5,
        )
        assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
        done = requests.post(
            desk.url + "samples/hard-1/resolve",
            data={"state": "norepair", "note": "checked by hand"},
            headers={"X-Desk-Token": "s3cret"},
            timeout=5,
        )
        assert done.status_code == 200
    finally:
        desk.stop()
    settled = _row(office, "hard-1")
    assert settled.state == "norepair" and settled.history[-1].actor == "analyst"
    # a newer set for the same family settles the other deferred sample: rescan
    office.services.config.backoffice.max_fp_log10 = -18.0
    _import(office, "easy", binaries.infected_host("appender_ep", 23))
    assert office.run_inline("easy") == "infected"
    rescanned = _row(office, "hard-2")
    assert rescanned.state_path()[-3:] == ["deferred", "rescan", "infected"]
    assert rescanned.sequence == _row(office, "easy").sequence


def test_content_that_no_longer_matches_its_checksum_ends_in_error(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path)
    _import(office, "damaged", binaries.infected_host("appender_ep", 31))
    stored = office.services.store.samples.root / _row(office, "damaged").content_file
    stored.write_bytes(bytes(b ^ 0xFF for b in stored.read_bytes()[:64]) + stored.read_bytes()[64:])
    assert office.run_inline("damaged") == "error"
    row = _row(office, "damaged")
    assert row.error == "sample" and row.traceback is None


def test_lost_work_files_abort_with_the_traceback_kept(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path)
    _import(office, "lost", binaries.infected_host("prepender", 41))
    runner = StageRunner(office.services)
    for stage in ("intake", "classifier", "waiter", "controller", "replicator"):
        runner.run(stage, "lost")
    assert _row(office, "lost").state == "binaryScoring"
    office.services.workspace("lost").remove()  # the infected goats vanished
    assert office.run_inline("lost") == "abort"
    row = _row(office, "lost")
    assert row.error == "internal" and row.traceback and "FileNotFoundError" in row.traceback


def test_a_sample_file_that_stays_missing_goes_to_attention(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path, max_retries=2)
    _import(office, "gone", b"MZ" + bytes(200))
    (office.services.store.samples.root / _row(office, "gone").content_file).unlink()
    assert office.run_inline("gone") == "attention"
    row = _row(office, "gone")
    assert row.retries == 2 and "missing" in (row.error_detail or "")


def test_certified_full_builds_follow_the_schedule(tmp_path: Path, goodware: Goodware) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    office = BackOffice(
        make_config(tmp_path, certified_build_interval_s=3600), clock, goodware=goodware
    )
    try:
        office.services.ensure_baseline()
        assert office.certified_build_if_due() is None  # the baseline is certified and fresh
        _import(office, "early", binaries.infected_host("appender_ep", 51))
        assert office.run_inline("early") == "infected"
        assert "incrBuilding" in _row(office, "early").state_path()
        clock.advance(3601)
        _import(office, "late", binaries.infected_host("section_adder", 52))
        assert office.run_inline("late") == "infected"
        late = _row(office, "late")
        assert [s for s in late.state_path() if s.startswith("full")] == [
            "fullBuilding",
            "fullUnitTesting",
        ]
        assert office.services.repository.load(late.sequence or 0).certified
        clock.advance(3601)
        sequence = office.certified_build_if_due()
        assert sequence is not None and office.services.repository.certified_sequence() == sequence
        assert {s.id for s in office.services.repository.load(sequence).signatures} >= {
            _row(office, "early").signature_id,
            late.signature_id,
        }
    finally:
        office.stop()


def test_import_checks_nothing_but_keeps_every_byte(
    tmp_path: Path, office_factory: Factory
) -> None:
    office = office_factory(tmp_path)
    data = binaries.infected_host("cavity", 61)
    _import(office, "bytes", data)
    row = _row(office, "bytes")
    assert office.services.store.samples.get(row.content_file, row.content_key) == data
    assert row.sample_checksum == hashlib.sha256(data).hexdigest()


def test_step_mode_pauses_each_move_until_released(tmp_path: Path, goodware: Goodware) -> None:
    from dis_core.config import load_config

    config = load_config(
        environ={}, overrides={"general": {"data_dir": str(tmp_path)}, "clock": {"step_mode": True}}
    )
    office = BackOffice(
        config, ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), goodware=goodware
    )
    try:
        _import(office, "stepped", b"plain text, nothing to run\n")
        worker = threading.Thread(
            target=StageRunner(office.services).run, args=("intake", "stepped")
        )
        worker.start()
        deadline = time.monotonic() + 10
        while not office.services.gate.waiting() and time.monotonic() < deadline:
            time.sleep(0.02)
        [waiting] = office.services.gate.waiting()
        assert (waiting.key, waiting.before, waiting.after) == (
            "stepped",
            "imported",
            "classifying",
        )
        assert _row(office, "stepped").state == "imported"
        office.services.gate.release("stepped")
        worker.join(10)
        assert _row(office, "stepped").state == "classifying"
    finally:
        office.services.gate.switch(False)
        office.stop()


def test_archiving_twice_keeps_the_archive(tmp_path: Path, office_factory: Factory) -> None:
    office = office_factory(tmp_path)
    _import(office, "twice", binaries.infected_host("prepender", 71))
    runner = StageRunner(office.services)
    for _ in range(12):
        state = _row(office, "twice").state
        if state == "archive":
            break
        stage = stage_for(state)
        assert stage is not None
        runner.run(stage.name, "twice")
    archiver = StageRunner(office.services)
    archiver.run("archiver", "twice")
    archive = Workspace(office.services.archive("twice"))
    assert archive.exists("goats/index.json") and archive.exists("analysis.json")
    assert _row(office, "twice").state == "infected"
    # the same step delivered again (a redelivered task) finds nothing to do and loses nothing
    archiver.run("archiver", "twice")
    assert archive.exists("goats/index.json") and _row(office, "twice").state == "infected"


def test_a_known_virus_whose_program_is_damaged_ends_in_restore(
    tmp_path: Path, office_factory: Factory
) -> None:
    from simworld.emulator import locate

    office = office_factory(tmp_path)
    sample = bytearray(binaries.infected_host("known_oldie", 81))
    carrier = locate(bytes(sample))
    assert carrier is not None
    sample[carrier.offset + 16 + len(carrier.code) - 5] ^= (
        0x5A  # deep in the code; its name stays readable
    )
    _import(office, "damaged-oldie", bytes(sample))
    assert office.run_inline("damaged-oldie") == "restore"
    row = _row(office, "damaged-oldie")
    assert row.virus_name == "Sim.Oldie.A" and row.sequence == 1 and row.repairable is False
    assert row.state_path()[-2:] == ["binaryReplicating", "restore"]


def test_programs_no_engine_can_run_are_declined(tmp_path: Path, office_factory: Factory) -> None:
    office = office_factory(tmp_path)
    _import(office, "elf", Path("/usr/bin/env").read_bytes())
    assert office.run_inline("elf") == "declined"
    row = _row(office, "elf")
    assert row.error == "type" and "ELF" in (row.error_detail or "")
    assert row.state_path() == ["importing", "imported", "classifying", "declined"]

"""The endpoint against a fake intake server: quarantine, forward, Defcast, repair, confirm."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from flask import Flask, jsonify

from dis_core.certs import CertPaths
from dis_core.clock import ManualClock
from dis_core.definitions import Signature, build_full
from dis_core.definitions.model import Package
from dis_core.tls import http_session
from dis_core.vocabulary.kinds import ConfirmationOutcome, ScanResult
from endpoint.item import ForwardStatus
from endpoint.machine import Endpoint
from tests.support.servers import serving

from .conftest import ALICE, BOB, HOST, INFECTED, PRODUCED, TAIL, Packages, endpoint_config
from .fake_intake import FakeIntake

NOTES_RULE = 'rule SimNotes { strings: $a = "meeting notes" condition: $a }'


def _endpoint(
    data_dir: Path, url: str, clock: ManualClock, packages: Packages, identity=ALICE
) -> Endpoint:
    endpoint = Endpoint(endpoint_config(data_dir, url), identity, clock)
    endpoint.install_definitions(packages.old)
    return endpoint


def _drop(endpoint: Endpoint, relative: str, data: bytes, mode: int = 0o640) -> Path:
    path = endpoint.folders.watch / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path


def test_file_travels_to_server_and_is_repaired_in_place(data_dir, packages, intake, clock) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    port = endpoint.start_defcast(0)
    try:
        path = _drop(endpoint, "apps/tool.exe", INFECTED)
        report = endpoint.scan_once()
        assert [i.scan_result for i in report.quarantined] == [ScanResult.SUSPICIOUS]
        assert not path.exists()
        sealed = next(endpoint.folders.quarantine.glob("*.bin")).read_bytes()
        assert TAIL not in sealed and HOST[:200] not in sealed  # encrypted at rest

        sent = endpoint.forward_pending()
        assert len(sent.forwarded) == 1
        held = intake.state.samples[0]
        assert held.content == INFECTED
        assert held.attributes["X-Platform-Computer"] == "ws-alice"
        assert held.attributes["X-Platform-Port"] == port
        assert held.attributes["X-Scan-Result"] == "suspicious"
        assert held.attributes["X-Scan-Signatures-Sequence"] == 1
        assert held.attributes["X-Sample-File"] == str(path.resolve())

        assert intake.ask_sequence("127.0.0.1", port) == {"computer": "ws-alice", "sequence": 1}
        intake.deliver()  # the server records the delivery, as the real one does
        reply = intake.push("127.0.0.1", port, packages.new)
        assert reply.status_code == 200 and reply.json() == {"installed": True, "sequence": 2}
        endpoint.wait_idle()

        assert path.read_bytes() == HOST
        assert path.stat().st_mode & 0o777 == 0o640
        assert int(path.stat().st_mtime) == 1_700_000_000
        assert intake.state.confirmations == [
            {
                "computer": "ws-alice",
                "sequence": 2,
                "results": [{"sample_id": held.id, "outcome": "repaired"}],
            }
        ]
        assert held.status == "installed"
        item = endpoint.items()[0]
        assert item.outcome == ConfirmationOutcome.REPAIRED and item.resolved
        assert not list(endpoint.folders.quarantine.glob("*.bin"))
        assert endpoint.scan_once().quarantined == []  # the repaired file stays put
    finally:
        endpoint.stop()


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_forward_is_retried_after_the_server_was_down_even_across_a_restart(
    data_dir, packages, clock
) -> None:
    port = _dead_port()
    url = f"https://127.0.0.1:{port}"
    first = _endpoint(data_dir, url, clock, packages)
    _drop(first, "mail/attachment.exe", INFECTED)
    first.scan_once()
    report = first.forward_pending()
    assert len(report.retry_later) == 1 and not report.forwarded
    item = first.items()[0]
    assert item.forward_status == ForwardStatus.PENDING and item.attempts == 1 and item.last_error
    first.stop()

    server = FakeIntake(data_dir / "certs", port).start()
    try:
        second = Endpoint(endpoint_config(data_dir, url), ALICE, clock)  # a restarted computer
        assert second.forward_pending().forwarded == []  # the retry interval has not passed
        clock.advance(61)
        forwarded = second.forward_pending().forwarded
        assert [i.id for i in forwarded] == [item.id]
        assert forwarded[0].attempts == 2
        assert server.state.samples[0].content == INFECTED
        second.stop()
    finally:
        server.stop()


def test_confirmation_waits_on_disk_while_the_server_is_down(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    _drop(endpoint, "a.exe", INFECTED)
    endpoint.scan_once()
    endpoint.forward_pending()
    intake.stop()
    intake.deliver()  # the server records the delivery, as the real one does
    endpoint.install_definitions(packages.new)
    endpoint.resolve_quarantine()
    assert endpoint.forward_pending().confirmations_waiting == 1
    intake.start()
    clock.advance(61)
    assert endpoint.forward_pending().confirmations_sent == 1
    assert intake.state.confirmations[0]["results"][0]["outcome"] == "repaired"
    assert intake.state.samples[0].status == "installed"
    endpoint.stop()


def test_two_computers_send_the_same_file_and_the_server_tells_them_apart(
    data_dir, packages, intake, clock
) -> None:
    alice = _endpoint(data_dir, intake.url, clock, packages, ALICE)
    bob = _endpoint(data_dir, intake.url, clock, packages, BOB)
    for endpoint in (alice, bob):
        _drop(endpoint, "shared/setup.exe", INFECTED)
        endpoint.scan_once()
        endpoint.forward_pending()
    samples = intake.state.samples
    assert len(samples) == 2
    origins = {
        (
            s.attributes["X-Platform-Computer"],
            s.attributes["X-Platform-User"],
            s.attributes["X-Platform-Domain"],
        )
        for s in samples
    }
    assert origins == {("ws-alice", "alice", "SALES"), ("ws-bob", "bob", "LAB")}
    assert alice.items()[0].server_id != bob.items()[0].server_id
    assert alice.folders.root != bob.folders.root
    alice.stop()
    bob.stop()


def test_false_positive_is_restored_when_newer_definitions_drop_it(
    data_dir, packages, intake, clock
) -> None:
    notes = Signature("S000009", "Sim.Notes.A", "binary", NOTES_RULE, None, 1)
    overbroad = build_full(1, [notes], certified=True, produced=PRODUCED, key=packages.key)
    fixed = build_full(2, [], certified=True, produced=PRODUCED, key=packages.key)
    endpoint = Endpoint(endpoint_config(data_dir, intake.url), ALICE, clock)
    endpoint.install_definitions(overbroad)
    path = _drop(endpoint, "data/notes.txt", b"meeting notes, nothing else\n")
    assert endpoint.scan_once().quarantined[0].scan_result == ScanResult.DETECTED
    endpoint.forward_pending()
    assert intake.state.samples[0].attributes["X-Scan-Virus-Name"] == "Sim.Notes.A"
    intake.deliver()  # the server records the delivery, as the real one does
    endpoint.install_definitions(fixed)
    decided = endpoint.resolve_quarantine()
    assert [d.outcome for d in decided] == [ConfirmationOutcome.RESTORED]
    assert path.read_bytes() == b"meeting notes, nothing else\n"
    endpoint.forward_pending()
    assert intake.state.confirmations[-1]["results"][0]["outcome"] == "restored"
    assert endpoint.scan_once().quarantined == []
    endpoint.stop()


def test_detection_without_repair_is_confirmed_not_repaired(
    data_dir, packages, intake, clock
) -> None:
    notes = Signature("S000009", "Sim.Notes.A", "binary", NOTES_RULE, None, 2)
    detect_only = build_full(2, [notes], certified=True, produced=PRODUCED, key=packages.key)
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    path = _drop(endpoint, "data/notes.txt", b"meeting notes, nothing else\n")
    endpoint.quarantine_file(path)  # the user's own suspicion
    endpoint.forward_pending()
    intake.deliver()  # the server records the delivery, as the real one does
    endpoint.install_definitions(detect_only)
    assert [d.outcome for d in endpoint.resolve_quarantine(from_server=True)] == [
        ConfirmationOutcome.NOT_REPAIRED
    ]
    assert endpoint.resolve_quarantine(from_server=True) == []  # judged once per set
    endpoint.forward_pending()
    assert intake.state.confirmations[-1]["results"][0]["outcome"] == "not_repaired"
    assert intake.state.samples[0].status == "not installed"
    assert not path.exists() and not endpoint.items()[0].resolved
    endpoint.stop()


def test_known_repairable_file_is_repaired_on_the_spot(data_dir, packages, intake, clock) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    endpoint.install_definitions(packages.new)
    path = _drop(endpoint, "x.exe", INFECTED)
    report = endpoint.scan_once()
    assert report.repaired_in_place == [path] and report.quarantined == []
    assert path.read_bytes() == HOST
    endpoint.stop()


def test_defcast_refuses_tampered_older_and_incremental_packages(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    port = endpoint.start_defcast(0)
    try:
        tampered = bytearray(packages.new)
        tampered[len(tampered) // 2] ^= 0x01
        reply = intake.push("127.0.0.1", port, bytes(tampered))
        assert reply.status_code == 422 and reply.json()["installed"] is False
        assert reply.json()["error"] == "unpackage"
        assert intake.push("127.0.0.1", port, packages.new).status_code == 200
        endpoint.wait_idle()
        older = intake.push("127.0.0.1", port, packages.old)
        assert older.status_code == 409 and older.json()["error"] == "superseded"
        assert endpoint.active_sequence() == 2
    finally:
        endpoint.stop()


def test_pull_installs_the_servers_active_set_when_there_is_no_listener(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    _drop(endpoint, "b.exe", INFECTED)
    endpoint.tick()  # scan, forward, pull: the server has nothing newer yet
    assert len(intake.state.samples) == 1 and endpoint.active_sequence() == 1
    intake.deliver()  # the server records the delivery, as the real one does
    intake.state.active_package = Package(packages.new, 2, "full", certified=False)
    assert endpoint.pull_definitions() is True
    assert endpoint.active_sequence() == 2
    assert intake.state.confirmations[0]["results"][0]["outcome"] == "repaired"
    endpoint.stop()


@pytest.mark.parametrize("status_code", [400, 415])
def test_refused_forward_is_recorded_not_retried(data_dir, packages, clock, status_code) -> None:
    app = Flask("refuser")
    app.post("/intake/v1/samples")(
        lambda: (jsonify({"error": "type", "message": "no"}), status_code)
    )
    with serving(app, CertPaths(data_dir / "certs")) as refuser:
        endpoint = _endpoint(data_dir, refuser.url, clock, packages)
        _drop(endpoint, "c.exe", INFECTED)
        endpoint.scan_once()
        report = endpoint.forward_pending()
        assert len(report.refused) == 1
        item = endpoint.items()[0]
        assert item.forward_status == ForwardStatus.REFUSED and "type" in item.last_error
        clock.advance(3600)
        assert endpoint.forward_pending().refused == []
        endpoint.stop()


def test_results_the_server_cannot_apply_yet_are_sent_again(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    _drop(endpoint, "d.exe", INFECTED)
    endpoint.scan_once()
    endpoint.forward_pending()
    endpoint.install_definitions(packages.new)  # e.g. pulled before the server delivered
    endpoint.resolve_quarantine()
    assert endpoint.forward_pending().confirmations_sent == 1
    assert intake.state.samples[0].status == "quarantined"  # not applied: not delivered yet
    assert len(endpoint.outbox.pending()) == 1
    intake.deliver()
    assert endpoint.forward_pending().confirmations_sent == 0  # waits for the retry interval
    clock.advance(61)
    assert endpoint.forward_pending().confirmations_sent == 1
    assert intake.state.samples[0].status == "installed"
    assert endpoint.outbox.pending() == []
    endpoint.stop()


def test_heuristic_item_is_restored_when_the_server_says_it_is_harmless(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    path = _drop(endpoint, "e.txt", b"an innocent letter\n")
    endpoint.quarantine_file(path)
    endpoint.forward_pending()
    endpoint.install_definitions(packages.new)
    assert endpoint.resolve_quarantine() == []  # the vendor has not spoken yet
    assert not path.exists()
    intake.deliver("unneeded")
    assert [d.outcome for d in endpoint.resolve_quarantine()] == [ConfirmationOutcome.RESTORED]
    assert path.read_bytes() == b"an innocent letter\n"
    assert len(intake.state.samples) == 1  # the status question was a recognised resend
    endpoint.forward_pending()
    assert intake.state.confirmations == []  # nothing to confirm for a harmless file
    endpoint.stop()


def test_heuristic_item_the_delivered_set_does_not_detect_is_restored(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    port = endpoint.start_defcast(0)
    try:
        path = _drop(endpoint, "f.txt", b"a file the vendor later calls a misfire\n")
        endpoint.quarantine_file(path)
        endpoint.forward_pending()
        intake.deliver()  # the server settled it and delivers its set for it
        assert intake.push("127.0.0.1", port, packages.new).status_code == 200
        endpoint.wait_idle()
        assert path.read_bytes() == b"a file the vendor later calls a misfire\n"
        assert intake.state.confirmations[0]["results"][0]["outcome"] == "restored"
        assert intake.state.samples[0].status == "installed"
    finally:
        endpoint.stop()


def test_defcast_listener_answers_bad_requests_with_json_errors(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    port = endpoint.start_defcast(0)
    try:
        garbage = intake.push("127.0.0.1", port, b"not a definition package at all")
        assert garbage.status_code == 422 and garbage.json()["error"] == "unpackage"
        with http_session(data_dir / "certs" / "ca.pem") as session:
            base = f"https://127.0.0.1:{port}/defcast/v1"
            unknown = session.get(f"{base}/nothing", timeout=10)
            assert unknown.status_code == 404 and "error" in unknown.json()
            wrong_method = session.delete(f"{base}/definitions", timeout=10)
            assert wrong_method.status_code == 405
            chunked = session.post(f"{base}/definitions", data=iter([b"abc"]), timeout=10)
            assert chunked.status_code == 411 and chunked.json()["installed"] is False
        assert endpoint.active_sequence() == 1
    finally:
        endpoint.stop()


def test_identity_names_must_be_plain(data_dir, intake) -> None:
    from endpoint.identity import Identity, IdentityError

    for bad in ("../escape", "a/b", "", "x" * 80):
        with pytest.raises(IdentityError):
            Identity(user="u", computer=bad)
    with pytest.raises(IdentityError):
        Identity(user="line\nbreak", computer="ws-1")


def test_a_dead_server_costs_one_attempt_per_round(data_dir, packages, clock) -> None:
    endpoint = _endpoint(data_dir, f"https://127.0.0.1:{_dead_port()}", clock, packages)
    for name in ("a.exe", "b.exe", "c.exe"):
        _drop(endpoint, name, INFECTED + name.encode())
    endpoint.scan_once()
    report = endpoint.forward_pending()
    assert len(report.retry_later) == 3 and not report.forwarded
    assert sorted(i.attempts for i in endpoint.items()) == [0, 0, 1]
    assert all(i.next_attempt_at == endpoint.items()[0].next_attempt_at for i in endpoint.items())
    endpoint.stop()


def test_take_in_copies_scans_and_reports_each_file(
    data_dir, packages, intake, clock, tmp_path
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    endpoint.install_definitions(packages.new)
    known, letter = tmp_path / "known.exe", tmp_path / "letter.txt"
    known.write_bytes(INFECTED)
    letter.write_bytes(b"hello\n")
    plain = {t.source.name: t for t in endpoint.take_in([known, letter])}
    assert plain["known.exe"].repaired_in_place and plain["known.exe"].placed.read_bytes() == HOST
    assert plain["letter.txt"].item is None and plain["letter.txt"].placed.exists()
    forced = endpoint.take_in([letter], force=True)[0]
    assert forced.item is not None and forced.placed.name == "letter-1.txt"
    assert known.read_bytes() == INFECTED  # the sources stay as they are
    endpoint.stop()


@pytest.mark.parametrize("engine", ["yara-x", "yara"])
def test_both_engines_give_the_same_repair(data_dir, packages, intake, clock, engine) -> None:
    endpoint = Endpoint(endpoint_config(data_dir, intake.url, engine=engine), ALICE, clock)
    endpoint.install_definitions(packages.new)
    path = _drop(endpoint, "x.exe", INFECTED)
    assert endpoint.scan_once().repaired_in_place == [path]
    assert path.read_bytes() == HOST
    endpoint.stop()


def test_names_outside_latin1_travel_and_never_block_the_files_after_them(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    try:
        first = _drop(endpoint, "日本語-wörm.exe", INFECTED)
        second = _drop(endpoint, "zz-plain.exe", INFECTED + b"2")
        assert len(endpoint.scan_once().quarantined) == 2
        sent = endpoint.forward_pending()
        assert len(sent.forwarded) == 2 and not sent.retry_later and not sent.failed
        names = sorted(h.attributes["X-Sample-File"] for h in intake.state.samples)
        assert names == sorted([str(first.resolve()), str(second.resolve())])
    finally:
        endpoint.stop()


def test_an_item_that_cannot_be_packed_is_retried_later_without_holding_up_the_others(
    data_dir, packages, intake, clock
) -> None:
    endpoint = _endpoint(data_dir, intake.url, clock, packages)
    try:
        _drop(endpoint, "a-broken.exe", INFECTED)
        _drop(endpoint, "b-fine.exe", INFECTED + b"2")
        endpoint.scan_once()
        broken = next(i for i in endpoint.items() if i.side_effects.path.endswith("a-broken.exe"))
        record = endpoint.folders.quarantine / f"{broken.id}.json"
        # a record this version cannot turn into attributes (a fault of this item, not the server's)
        record.write_text(record.read_text().replace(broken.side_effects.created, "not a date"))
        sent = endpoint.forward_pending()
        assert [i.id for i in sent.failed] == [broken.id]
        assert len(sent.forwarded) == 1 and not sent.retry_later and not sent.refused
        assert intake.state.samples[0].attributes["X-Sample-File"].endswith("b-fine.exe")
        again = next(i for i in endpoint.items() if i.id == broken.id)
        assert again.forward_status is ForwardStatus.PENDING and "ValueError" in again.last_error
    finally:
        endpoint.stop()

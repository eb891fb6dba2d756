"""End-to-end: the console in headless Chromium against the real Quarantine Server web app."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from flask import Flask, Response
from playwright.sync_api import expect
from sqlalchemy import select

from dis_core.certs import generate
from dis_core.vocabulary import AlertEvent
from quarantine_server.alerts import general_error, raise_event
from quarantine_server.models import Sample
from quarantine_server.monitor import beat
from tests.support.servers import serving

from .conftest import VIEWER, LiveServer, log_in
from .lifecycle_steps import first_scan, gateway_reports, submitted

pytestmark = pytest.mark.browser


def row(page: Any, sample_id: int) -> Any:
    return page.locator(f"#rows tr[data-id='{sample_id}']")


def test_login_is_required_and_wrong_password_is_refused(live: LiveServer, page: Any) -> None:
    page.goto(f"{live.url}/console/items")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("Wrong user name or password")
    log_in(page, live)
    expect(page.locator("header .who")).to_contain_text("admin")
    page.click("header .who button")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.goto(f"{live.url}/console/items")
    expect(page).to_have_url(re.compile(r"/console/login"))


def test_posts_without_the_session_csrf_token_are_refused(live: LiveServer, page: Any) -> None:
    sample_id = live.forward(b"inert csrf sample", "csrf.exe", "una", "PC-CSRF")
    log_in(page, live)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = requests.post(
        f"{live.url}/console/items/{sample_id}/priority",
        data={"priority": "7"},
        cookies=cookies,
        timeout=10,
    )
    assert forged.status_code == 400
    assert "CSRF" in forged.text
    wrong = requests.post(
        f"{live.url}/console/items/{sample_id}/priority",
        data={"priority": "7", "csrf_token": "guessed"},
        cookies=cookies,
        timeout=10,
    )
    assert wrong.status_code == 400
    with live.services.work() as db:
        assert db.get(Sample, sample_id).priority != 7  # type: ignore[union-attr]


def test_forwarded_samples_appear_and_change_state_live(live: LiveServer, page: Any) -> None:
    log_in(page, live)
    expect(page.locator("#rows")).to_contain_text("No quarantined items")
    expect(page.locator("#health-agent")).to_have_text("agent: never seen")
    with live.services.work() as db:
        beat(db, "agent", live.services.clock.now())
    page.reload()
    expect(page.locator("#health-agent")).to_have_text("agent: alive, 0 s ago")
    first = live.forward(b"inert sample one" * 8, "invoice.exe", "alice", "PC-ACCT-01")
    second = live.forward(
        b"inert sample two" * 8, "<b>bold</b><script>alert(1)</script>.doc", "bob", "PC-SALES-07"
    )
    # no reload: the page's refresh (every 1 s here) brings them in
    expect(row(page, first)).to_contain_text("invoice.exe")
    expect(row(page, first).locator(".col-status")).to_have_text("quarantined")
    hostile = row(page, second).locator("td.file a")
    expect(hostile).to_have_text("<b>bold</b><script>alert(1)</script>.doc")
    assert row(page, second).locator("td.file b").count() == 0
    assert first_scan(live.services, first) == "released"
    expect(row(page, first).locator(".col-status")).to_have_text("released")
    expect(row(page, first)).to_have_class(re.compile(r"changed"))  # highlighted as it changed
    submitted(live.services, first)
    gateway_reports(live.services, first, "accepted")
    expect(row(page, first).locator(".col-state")).to_have_text("accepted")
    expect(row(page, first).locator(".col-status")).to_have_text("submitted")
    gateway_reports(live.services, first, "binaryReplicating")
    expect(row(page, first).locator(".col-state")).to_have_text("binaryReplicating")
    final = gateway_reports(
        live.services,
        first,
        "infected",
        **{
            "X-Signatures-Sequence": "9",
            "X-Analysis-Virus-Name": "Sim.Appender.A",
            "X-Date-Analyzed": "2026-11-27T01:00:00Z",
        },
    )
    assert final == "needed"
    expect(row(page, first).locator(".col-status")).to_have_text("needed")
    expect(row(page, first)).to_contain_text("Sim.Appender.A")
    expect(row(page, first).locator("td").nth(7)).to_have_text("9")
    expect(page.locator("#total")).to_have_text("2")


def test_sorting_filtering_and_paging(live: LiveServer, page: Any) -> None:
    for index, name in enumerate(["delta.exe", "alpha.exe", "charlie.exe", "bravo.exe"]):
        live.forward(f"inert {name}".encode() * 4, name, f"user{index}", f"PC-{index}")
    log_in(page, live)
    page.click("th a:has-text('File name')")
    names = page.locator("#rows td.file").all_inner_texts()
    assert names == ["alpha.exe", "bravo.exe", "charlie.exe", "delta.exe"]
    page.click("th a:has-text('File name')")
    assert page.locator("#rows td.file").all_inner_texts() == [
        "delta.exe",
        "charlie.exe",
        "bravo.exe",
        "alpha.exe",
    ]
    page.fill("input[name=q]", "charl")
    page.click("#filters button[type=submit]")
    assert page.locator("#rows td.file").all_inner_texts() == ["charlie.exe"]
    page.goto(f"{live.url}/console/items?per=10&sort=file&dir=asc&page=1")
    assert page.locator("#rows tr").count() == 4
    page.goto(f"{live.url}/console/items?status=held")
    expect(page.locator("#rows")).to_contain_text("No quarantined items match")


def test_properties_tabs_set_priority_and_queue(live: LiveServer, page: Any) -> None:
    live.config.sample_policy.automatic_submission = False  # arrivals are held, priority 0
    held_id = live.forward(b"inert held sample" * 4, "held.exe", "carol", "LAB-03")
    other_id = live.forward(b"inert other sample" * 4, "other.exe", "dave", "LAB-04")
    assert first_scan(live.services, held_id) == "held"
    assert first_scan(live.services, other_id) == "held"
    log_in(page, live)
    page.click(f"#rows tr[data-id='{held_id}'] td.file a")
    expect(page.locator("h1")).to_contain_text("held.exe")
    expect(page.locator("dl.facts")).to_contain_text(["carol", "held"])
    page.click("nav.tabs a:has-text('Sample Attributes')")
    checksum_row = page.locator("#attributes tr", has_text="X-Sample-Checksum")
    meaning = checksum_row.locator("details.meaning")
    expect(meaning.locator("p")).to_be_hidden()
    meaning.locator("summary").click()
    expect(meaning.locator("p")).to_contain_text("SHA-256 of the original file")
    expect(page.locator("#attributes")).to_contain_text("X-Platform-Computer")
    computer_row = page.locator("#attributes tr", has_text="X-Platform-Computer")
    computer_row.locator("td.name").dblclick()  # the original console's gesture
    expect(computer_row.locator("details.meaning p")).to_contain_text("Name of the computer")
    page.click("nav.tabs a:has-text('Actions')")
    expect(page.locator("#history")).to_contain_text("held for manual submission")
    page.fill("form[action$='/priority'] input[name=priority]", "0")
    page.click("form[action$='/priority'] button")
    expect(page.locator(".flash.ok")).to_contain_text("priority set to 0")
    expect(page.locator("#eligibility")).to_contain_text("this item is eligible")
    page.fill("form[action$='/queue'] input[name=priority]", "700")
    page.click("#queue")
    expect(page.locator(".flash.ok")).to_contain_text("queued for analysis")
    expect(page.locator("#item-status")).to_have_text("released")
    expect(page.locator("#current-priority")).to_have_text("700")
    expect(page.locator("#history")).to_contain_text("queued by hand with priority 700")
    page.click("form[action$='/queue'] button")  # a second time: not eligible any more
    expect(page.locator(".flash.error")).to_contain_text("not queued")
    page.click("form[action$='/restart'] button")
    expect(page.locator(".flash.ok")).to_contain_text("restarted from the first scan")
    expect(page.locator("#item-status")).to_have_text("quarantined")
    expect(page.locator("#history")).to_contain_text("restarted by an administrator")
    page.click("nav.tabs a:has-text('Errors')")
    expect(page.locator("#errors")).to_contain_text("No processing errors")
    # bulk: queue from the list with the multi-select
    page.goto(f"{live.url}/console/items")
    row(page, other_id).locator("input.pick").check()
    expect(page.locator("#picked")).to_have_text("1 selected")
    page.fill("#bulk input[name=priority]", "650")
    page.click("#bulk button[value=queue]")
    expect(page.locator(".flash.ok")).to_contain_text("1 item queued for analysis")
    expect(row(page, other_id).locator(".col-status")).to_have_text("released")


def test_restore_inside_allowed_folder_and_refused_outside(live: LiveServer, page: Any) -> None:
    content = b"inert restorable content \x00\x01" * 5
    sample_id = live.forward(content, "keep me.txt", "erin", "PC-9")
    log_in(page, live)
    row(page, sample_id).locator("input.pick").check()
    page.click("#bulk button[value=restore]")
    expect(page.locator("h1")).to_contain_text("Restore 1 item?")
    page.check("#choose-other")
    page.click("#confirm-restore")
    expect(page.locator("#restore-error")).to_contain_text("Choose one of the restore folders")
    page.fill("#other-folder", str(live.outside_dir))
    page.click("#confirm-restore")
    expect(page.locator("#restore-error")).to_contain_text("not inside a configured restore folder")
    assert list(live.outside_dir.iterdir()) == []
    page.fill("input[name=subfolder]", "../outside")
    page.check(f"input[value='{live.restore_dir}']")
    page.click("#confirm-restore")
    expect(page.locator("#restore-error")).to_contain_text("not inside a configured restore folder")
    assert list(live.outside_dir.iterdir()) == []
    page.fill("input[name=subfolder]", "")
    page.click("#confirm-restore")
    expect(page.locator(".flash.ok")).to_contain_text("restored into")
    assert (live.restore_dir / "keep me.txt").read_bytes() == content
    page.goto(f"{live.url}/console/items/{sample_id}?tab=actions")
    expect(page.locator("#history")).to_contain_text("restored unrepaired")


def test_delete_asks_for_confirmation(live: LiveServer, page: Any) -> None:
    doomed = live.forward(b"inert doomed" * 3, "doomed.exe", "frank", "PC-1")
    kept = live.forward(b"inert kept" * 3, "kept.exe", "gina", "PC-2")
    with live.services.work() as db:
        stored = db.get(Sample, doomed).stored_name  # type: ignore[union-attr]
    assert live.services.vault.path_of(stored).exists()
    log_in(page, live)
    row(page, doomed).locator("input.pick").check()
    page.click("#bulk button[value=delete]")
    expect(page.locator("#doomed")).to_contain_text("doomed.exe")
    page.click("a.button:has-text('Cancel')")
    expect(row(page, doomed)).to_be_visible()
    row(page, doomed).locator("input.pick").check()
    page.click("#bulk button[value=delete]")
    page.click("#confirm-delete")
    expect(page.locator(".flash.ok")).to_contain_text("1 item deleted: doomed.exe")
    expect(row(page, doomed)).to_have_count(0)
    expect(row(page, kept)).to_be_visible()
    assert not live.services.vault.path_of(stored).exists()
    with live.services.work() as db:
        assert db.scalars(select(Sample.id)).all() == [kept]


def test_viewer_can_look_but_not_change(live: LiveServer, page: Any) -> None:
    sample_id = live.forward(b"inert viewer" * 3, "look.exe", "hana", "PC-3")
    log_in(page, live, VIEWER)
    expect(page.locator("#bulk button[value=delete]")).to_be_disabled()
    page.goto(f"{live.url}/console/items/{sample_id}?tab=actions")
    expect(page.locator("#queue")).to_be_disabled()
    expect(page.locator("#delete-one")).to_have_count(0)
    page.goto(f"{live.url}/console/items/delete?ids={sample_id}")
    expect(page.locator(".flash.error")).to_contain_text("Viewers cannot change anything")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    reply = requests.post(
        f"{live.url}/console/items/delete",
        data={"ids": str(sample_id), "confirm": "yes", "csrf_token": token},
        cookies=cookies,
        timeout=10,
        allow_redirects=False,
    )
    assert reply.status_code == 303
    with live.services.work() as db:
        assert db.get(Sample, sample_id) is not None


def test_server_properties_event_log_and_definitions(live: LiveServer, page: Any) -> None:
    with live.services.work() as db:
        config = live.services.config(db)
        now = live.services.clock.now()
        raise_event(
            db,
            config,
            now,
            AlertEvent.GATEWAY_UNREACHABLE,
            "gateway at 127.0.0.1:9 refused the connection",
        )
        general_error(db, now, "agent", "definitions folder not readable")
    log_in(page, live)
    page.click("header nav a:has-text('Server properties')")
    tabs = page.locator("nav.tabs a").all_inner_texts()
    assert tabs == [
        "General",
        "Web Communication",
        "Firewall",
        "Sample Policy",
        "Definition Policy",
        "Customer Information",
        "Alerting",
        "General Errors",
    ]
    page.click("nav.tabs a:has-text('Sample Policy')")
    page.fill("#f-queue_check_interval_s", "45")
    page.uncheck("#f-strip_user_data") if page.is_checked("#f-strip_user_data") else page.check(
        "#f-strip_user_data"
    )
    page.click("#properties button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Sample Policy saved")
    expect(page.locator("#f-queue_check_interval_s")).to_have_value("45")
    with live.services.work() as db:
        assert live.services.config(db).sample_policy.queue_check_interval_s == 45
    page.fill("#f-queue_check_interval_s", "-5")
    page.click("#properties button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("queue_check_interval_s")
    page.click("nav.tabs a:has-text('Alerting')")
    page.uncheck("#f-enabled_events input[value=defcast_error]")
    page.click("#properties button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Alerting saved")
    expect(page.locator("#f-enabled_events input[value=defcast_error]")).not_to_be_checked()
    with live.services.work() as db:
        chosen = live.services.config(db).alerting.enabled_events
    assert len(chosen) == len(AlertEvent) - 1 and "defcast_error" not in chosen
    page.click("nav.tabs a:has-text('Customer Information')")
    page.fill("#f-company_name", "")
    page.click("#properties button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("customer.company_name: required")
    page.click("nav.tabs a:has-text('Definition Policy')")
    expect(page.locator("#f-active_sequence")).to_have_text("0")
    page.click("nav.tabs a:has-text('General Errors')")
    expect(page.locator("#general-errors")).to_contain_text("definitions folder not readable")
    page.click("header nav a:has-text('Event log')")
    expect(page.locator("#events")).to_contain_text("Unable to connect to the Gateway")
    page.click("header nav a:has-text('Definitions')")
    expect(page.locator("#active-sequence")).to_contain_text("none")


def test_query_for_definitions_asks_the_gateway_over_tls(
    live: LiveServer, page: Any, tmp_path: Any
) -> None:
    certs = generate(tmp_path / "certs")
    gateway = Flask("gateway-stand-in")
    asked: list[str] = []

    @gateway.get("/gateway/v1/samples/<cookie>")
    def status(cookie: str) -> Response:
        asked.append(cookie)
        return Response(
            "{}", headers={"X-Analysis-Cookie": cookie, "X-Analysis-State": "binaryScoring"}
        )

    with serving(gateway, certs) as stand_in:
        live.config.web_communication.gateway_url = stand_in.url
        live.config.web_communication.ca_file = str(certs.ca_cert)
        waiting = live.forward(b"inert waiting" * 3, "waiting.exe", "ivan", "PC-4")
        sample_id = live.forward(b"inert queried" * 3, "queried.exe", "jane", "PC-5")
        first_scan(live.services, sample_id)
        submitted(live.services, sample_id)
        log_in(page, live)
        page.goto(f"{live.url}/console/items/{waiting}?tab=actions")
        page.click("form[action$='/query'] button")
        expect(page.locator(".flash.error")).to_contain_text("only a submitted item can be queried")
        page.goto(f"{live.url}/console/items/{sample_id}?tab=actions")
        page.click("form[action$='/query'] button")
        expect(page.locator(".flash.ok")).to_contain_text(
            "gateway asked, now submitted / binaryScoring"
        )
        expect(page.locator("#item-state")).to_have_text("binaryScoring")
        assert asked == [f"cookie-{sample_id}"]


def test_state_path_picture_redraws_as_the_sample_moves(live: LiveServer, page: Any) -> None:
    sample_id = live.forward(b"inert traveller" * 3, "traveller.exe", "kim", "PC-6")
    log_in(page, live)
    page.goto(f"{live.url}/console/items/{sample_id}?tab=path")
    nodes = page.locator("#statepath g.node text.value")
    expect(nodes).to_have_count(1)
    expect(page.locator("#statepath g.ghost")).not_to_have_count(0)  # the moves allowed next
    first_scan(live.services, sample_id)
    submitted(live.services, sample_id)
    gateway_reports(live.services, sample_id, "importing")
    expect(nodes).to_have_count(4)
    assert nodes.all_text_contents() == ["quarantined", "released", "submitted", "importing"]
    expect(
        page.locator("#statepath g.node title", has_text="reported by the gateway")
    ).to_have_count(1)
    expect(page.locator("#item-state")).to_have_text("importing")  # the header follows too
    expect(page.locator("#item-status")).to_have_text("submitted")
    expect(page.locator("#item-changed")).to_be_visible()

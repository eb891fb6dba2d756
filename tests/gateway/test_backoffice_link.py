"""The gateway against the real back office link (backoffice.link.BackOfficeLink)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from backoffice.store.database import BackOfficeStore
from backoffice.store.models import Analysis
from dis_core.clock import ManualClock
from dis_core.protocol.packing import sha256_hex
from gateway_sim.app import create_app
from tests.support.samples import host_program

from .conftest import make_config
from .helpers import packed


def test_submission_reaches_the_real_back_office(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", admin_token="t")
    clock = ManualClock()
    application = create_app(config, clock=clock)  # no fake: the gateway opens BackOfficeLink
    store = BackOfficeStore.open(config)
    try:
        client = application.test_client()
        content = host_program("real-back-office")
        headers, body = packed(content)
        reply = client.post("/gateway/v1/samples", headers=headers, data=body)
        assert reply.status_code == 202, reply.json
        cookie = reply.headers["X-Analysis-Cookie"]
        assert reply.headers["X-Analysis-State"] == "imported"
        with store.sessions() as session:
            row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
            assert row.sample_checksum == sha256_hex(content)
            assert row.state == "imported"
        duplicate = client.post("/gateway/v1/samples", headers=headers, data=body)
        assert duplicate.headers["X-Analysis-Cookie"] == cookie
        with store.sessions() as session:
            assert len(session.scalars(select(Analysis)).all()) == 1  # no second analysis
            session.execute(
                update(Analysis).where(Analysis.cookie == cookie).values(state="classifying")
            )
            session.commit()
        assert (
            client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "classifying"
        )
    finally:
        store.close()
        application.extensions["gateway"].dispose()

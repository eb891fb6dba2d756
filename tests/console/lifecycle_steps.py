"""Moving forwarded samples along their lifecycle in a test, through the server's own services.

The agent is not running in the console tests; these helpers call the same service functions
it calls (first scan, status move, the gateway-status mirror), so the console sees real changes.
"""

from __future__ import annotations

from dis_core.vocabulary import SampleStatus
from quarantine_server import scanning, submission
from quarantine_server.gateway import Reply
from quarantine_server.lifecycle import move
from quarantine_server.models import Sample
from quarantine_server.services import Services


def first_scan(services: Services, sample_id: int) -> str:
    """The Quarantine Scanner's pass with no definitions: released, or held by the policy."""
    with services.work() as db:
        sample = db.get(Sample, sample_id)
        assert sample is not None
        scanning.first_scan(
            services, db, services.config(db), sample, None, 0, services.clock.now()
        )
        return str(sample.status)


def submitted(services: Services, sample_id: int) -> None:
    with services.work() as db:
        sample = db.get(Sample, sample_id)
        assert sample is not None
        sample.cookie = f"cookie-{sample_id}"
        move(sample, SampleStatus.SUBMITTED, services.clock.now(), "sent to the gateway")


def gateway_reports(services: Services, sample_id: int, state: str, **headers: str) -> str:
    """Mirror a status reply of the gateway, as the agent's status poll does."""
    with services.work() as db:
        sample = db.get(Sample, sample_id)
        assert sample is not None
        reply = Reply(
            200,
            {"X-Analysis-Cookie": f"cookie-{sample_id}", "X-Analysis-State": state, **headers},
            b"",
        )
        submission.apply_status(db, services.config(db), sample, reply, services.clock.now())
        return str(sample.status)

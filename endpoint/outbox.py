"""Install confirmations waiting to reach the Quarantine Server, one JSON file each.

A confirmation is written here before it is sent and deleted only after the server
accepted it, so a server that is down (or an endpoint that restarts) loses none.

A server may answer that a sample cannot take a confirmation yet (it has not recorded the
delivery, for example because this endpoint already had the set). Those results are sent
again after the retry interval, for at most ``KEEP_ASKING_S`` (clock time) after the first
answer. Dropped instead: a sample the server does not know from this computer, and a
'not repaired' for a set older than the one the sample needs (that set's own delivery brings
its own confirmation).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dis_core.files import write_atomic
from endpoint.intake_client import IntakeClient, IntakeRefused, IntakeUnavailable
from endpoint.journal import Journal

KEEP_ASKING_S = 7 * 86400  # analysis at the vendor can take days
UNKNOWN_SAMPLE = "no such sample"
OLDER_SET = "is older than the set this sample needs"
FINAL_ANSWERS = (UNKNOWN_SAMPLE, OLDER_SET)  # 'not applied' reasons that asking again cannot change


@dataclass
class PendingConfirmation:
    name: str
    confirmation: dict[str, Any]
    attempts: int = 0
    next_attempt_at: str = ""
    last_error: str = ""
    rounds: int = 0  # how many times the server already answered "not yet" for these samples
    first_answer_at: str = ""  # when the server first answered "not yet"


class ConfirmationOutbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(
        self,
        confirmation: dict[str, Any],
        now: datetime,
        *,
        not_before: datetime | None = None,
        rounds: int = 0,
        first_answer_at: str = "",
    ) -> PendingConfirmation:
        stamp = now.strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{confirmation['sequence']}-{uuid.uuid4().hex[:8]}"
        when = (not_before or now).isoformat()
        pending = PendingConfirmation(
            name, confirmation, next_attempt_at=when, rounds=rounds, first_answer_at=first_answer_at
        )
        self._save(pending)
        return pending

    def _save(self, pending: PendingConfirmation) -> None:
        write_atomic(
            self.folder / f"{pending.name}.json", json.dumps(asdict(pending)).encode(), 0o600
        )

    def pending(self) -> list[PendingConfirmation]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            if not path.name.startswith("."):
                found.append(PendingConfirmation(**json.loads(path.read_bytes())))
        return found

    def due(self, now: datetime) -> list[PendingConfirmation]:
        return [p for p in self.pending() if datetime.fromisoformat(p.next_attempt_at) <= now]

    def sent(self, pending: PendingConfirmation) -> None:
        (self.folder / f"{pending.name}.json").unlink(missing_ok=True)

    def hasten(self, now: datetime) -> int:
        """Make due now the results the server answered 'not yet' (a delivery just came, so
        the server has moved on): a confirmation need not wait for the retry interval."""
        waiting = [
            p
            for p in self.pending()
            if p.rounds and datetime.fromisoformat(p.next_attempt_at) > now
        ]
        for pending in waiting:
            pending.next_attempt_at = now.isoformat()
            self._save(pending)
        return len(waiting)

    def failed(
        self, pending: PendingConfirmation, now: datetime, retry_s: float, error: str
    ) -> None:
        pending.attempts += 1
        pending.last_error = error
        pending.next_attempt_at = (now + timedelta(seconds=retry_s)).isoformat()
        self._save(pending)

    def send_due(
        self, client: IntakeClient, now: datetime, retry_s: float, journal: Journal
    ) -> tuple[int, int]:
        """Send every due confirmation; (number sent, number still waiting)."""
        sent = 0
        for pending in self.due(now):
            try:
                answer = client.confirm(pending.confirmation)
            except IntakeUnavailable as exc:  # the rest would time out too: try them later
                for waiting in self.due(now):
                    self.failed(waiting, now, retry_s, str(exc))
                break
            except IntakeRefused as exc:  # the server will never take it: out of the queue
                journal.write(now, "confirmation_refused", error=str(exc), **_summary(pending))
            else:
                sent += 1
                journal.write(now, "confirmed", answer=answer.get("results"), **_summary(pending))
                self._again_later(pending, answer, now, retry_s)
            self.sent(pending)
        return sent, len(self.pending())

    def _again_later(
        self, pending: PendingConfirmation, answer: dict[str, Any], now: datetime, retry_s: float
    ) -> None:
        """Queue again the results the server could not apply yet."""
        later = not_applied(pending.confirmation["results"], answer)
        first = datetime.fromisoformat(pending.first_answer_at) if pending.first_answer_at else now
        if later and now - first < timedelta(seconds=KEEP_ASKING_S):
            confirmation = {**pending.confirmation, "results": later}
            not_before = now + timedelta(seconds=retry_s)
            self.put(
                confirmation,
                now,
                not_before=not_before,
                rounds=pending.rounds + 1,
                first_answer_at=first.isoformat(),
            )


def not_applied(results: list[dict[str, Any]], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Results the server answered with applied=false for a reason that may change."""
    answers = answer.get("results")
    if not isinstance(answers, list):
        return []
    waiting = {
        str(a.get("sample_id"))
        for a in answers
        if isinstance(a, dict)
        and a.get("applied") is False
        and not any(final in str(a.get("reason", "")) for final in FINAL_ANSWERS)
    }
    return [r for r in results if str(r["sample_id"]) in waiting]


def _summary(pending: PendingConfirmation) -> dict[str, Any]:
    return {
        "sequence": pending.confirmation["sequence"],
        "results": pending.confirmation["results"],
    }

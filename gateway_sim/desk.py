"""The submission desk: receive a sample, check it, give it a cookie, filter it, hand it on.

States move receiving -> accepted -> (a filter's final state | importing -> what the back
office reports). A failed transfer or check ends in ``error`` (``declined`` for policy,
``abort`` for an internal fault) with the error recorded on the submission.
"""

from __future__ import annotations

import fcntl
import logging
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, NoReturn

from dis_core.db import unit_of_work
from dis_core.lifecycle import transition
from dis_core.protocol import ProtocolError, SampleMessage, unpack_sample
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.attributes import Message
from dis_core.vocabulary.parts import Part
from gateway_sim import filters, kinds, tracking
from gateway_sim.faults import Faults
from gateway_sim.filters import Filter, FilterContext, Verdict
from gateway_sim.models import Submission
from gateway_sim.services import GatewayServices
from gateway_sim.transfer import (
    BodyTooLarge,
    TransferLost,
    cut_connection,
    read_body,
    read_prefix,
)

log = logging.getLogger(__name__)
MAX_STORED_TEXT = 1024
CUSTOMER_HEADERS = {
    "customer_name": "X-Customer-Name",
    "customer_account": "X-Customer-Account",
    "contact_name": "X-Customer-Contact-Name",
    "contact_telephone": "X-Customer-Contact-Telephone",
    "contact_email": "X-Customer-Contact-Email",
    "quarantine_server": "X-Quarantine-Server",
}


@dataclass(frozen=True)
class Outcome:
    """The submission as it stands after the request, and the error to answer with, if any."""

    submission: Submission
    error: ProtocolError | None = None


def new_cookie() -> str:
    return "gw-" + secrets.token_hex(10)


def x_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v[:MAX_STORED_TEXT] for k, v in headers.items() if k.lower().startswith("x-")}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get(name.lower())
    return value[:MAX_STORED_TEXT] if value else None


class SubmissionDesk:
    def __init__(self, services: GatewayServices) -> None:
        self.services = services

    def submit(
        self,
        headers: Mapping[str, str],
        stream: IO[bytes],
        length: int | None,
        environ: Mapping[str, Any],
    ) -> Outcome:
        faults = self.services.faults.current()
        submission = self._begin(headers, environ.get("REMOTE_ADDR"))
        try:
            body = self._receive(stream, length, faults, environ)
            message = unpack_sample(
                headers, body, Message.SUBMIT, max_size=self.services.max_sample_bytes
            )
        except ProtocolError as error:
            return Outcome(self._fail(submission.id, error), error)
        try:
            verdict, submission = self._accept(submission.id, message, faults)
            if verdict.filter is Filter.BACKOFFICE:
                submission = self._hand_off(submission.id, message, headers)
        except ProtocolError as error:
            return Outcome(self._fail(submission.id, error), error)
        except Exception as exc:  # recorded on the sample, never swallowed
            log.exception("submission %s failed", submission.id)
            internal = ProtocolError(SampleError.INTERNAL, f"{type(exc).__name__}: {exc}")
            return Outcome(self._fail(submission.id, internal), internal)
        return Outcome(submission, _declined(submission))

    def _begin(self, headers: Mapping[str, str], client: str | None) -> Submission:
        now = self.services.clock.now()
        submission = Submission(
            cookie=new_cookie(),
            owner=True,
            received_at=now,
            updated_at=now,
            attributes=x_headers(headers),
            client_address=client,
        )
        for column, name in CUSTOMER_HEADERS.items():
            setattr(submission, column, _header(headers, name))
        checksum = (_header(headers, "X-Sample-Checksum") or "").strip().lower()
        submission.sample_checksum = checksum if len(checksum) == 64 else None
        with unit_of_work(self.services.sessions) as session:
            transition(
                submission,
                at=now,
                actor=Part.GATEWAY,
                reason="submission arriving",
                state=SampleState.RECEIVING,
            )
            session.add(submission)
        return submission

    def _receive(
        self, stream: IO[bytes], length: int | None, faults: Faults, environ: Mapping[str, Any]
    ) -> bytes:
        limit = self.services.max_body_bytes
        try:
            if faults.internal_errors:
                read_body(stream, length, limit)  # drain, so the client gets to read the answer
                raise ProtocolError(
                    SampleError.INTERNAL,
                    "the gateway answers every request with an internal error (fault injection)",
                )
            if faults.drop_transfers:
                self._drop_half_way(stream, length, environ)
            return read_body(stream, length, limit)
        except TransferLost as lost:
            raise ProtocolError(SampleError.LOST, str(lost)) from None
        except BodyTooLarge as large:
            raise ProtocolError(SampleError.DECLINED, f"declined: {large}") from None

    def _drop_half_way(
        self, stream: IO[bytes], length: int | None, environ: Mapping[str, Any]
    ) -> NoReturn:
        """The drop-transfers fault: take half the body, then cut the connection."""
        try:
            received = read_prefix(stream, (length or 2) // 2)
        finally:
            cut_connection(environ)
        raise TransferLost(received, length)

    def _fail(self, submission_id: int, error: ProtocolError) -> Submission:
        now = self.services.clock.now()
        state = {
            SampleError.DECLINED: SampleState.DECLINED,
            SampleError.INTERNAL: SampleState.ABORT,
        }.get(error.error, SampleState.ERROR)
        with unit_of_work(self.services.sessions) as session:
            submission = session.get_one(Submission, submission_id)
            if submission.is_final:
                return submission  # already settled; the late error stays in the log only
            transition(
                submission, at=now, actor=Part.GATEWAY, reason=error.detail[:200], state=state
            )
            submission.record_error(now, error.error, error.detail)
            submission.date_analyzed = now
            _touch(submission)
        return submission

    def _accept(
        self, submission_id: int, message: SampleMessage, faults: Faults
    ) -> tuple[Verdict, Submission]:
        now = self.services.clock.now()
        with self._accept_lock(), unit_of_work(self.services.sessions) as session:
            submission = session.get_one(Submission, submission_id)
            _take_attributes(submission, message)
            transition(
                submission,
                at=now,
                actor=Part.GATEWAY,
                reason="checks passed; cookie assigned",
                state=SampleState.ACCEPTED,
            )
            submission.accepted_at = now
            context = FilterContext(
                session,
                submission,
                message.content,
                now,
                faults,
                self.services.catalog,
                self.services.known_clean,
                self.services.config.gateway,
            )
            verdict = filters.settle(context)
            _apply(submission, verdict, now)
            _touch(submission)
        return verdict, submission

    @contextmanager
    def _accept_lock(self) -> Iterator[None]:
        """One accept at a time across workers, so two copies of a sample cannot both be owners."""
        path = self.services.accept_lock
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _hand_off(
        self, submission_id: int, message: SampleMessage, headers: Mapping[str, str]
    ) -> Submission:
        """Side effect after the commit: the back office takes the sample in."""
        with unit_of_work(self.services.sessions) as session:
            submission = session.get_one(Submission, submission_id)
            link = self.services.links.get()
            link.import_sample(
                submission.cookie, message.sample_checksum, message.content, x_headers(headers)
            )
            tracking.refresh(session, submission, link, self.services.clock.now())
            _touch(submission)
        return submission


def _take_attributes(submission: Submission, message: SampleMessage) -> None:
    attrs = message.attributes
    submission.sample_checksum = message.sample_checksum
    submission.content_checksum = attrs["X-Content-Checksum"]
    submission.sample_size = attrs["X-Sample-Size"]
    submission.content_length = attrs["X-Content-Length"]
    submission.bytes_received = message.packed_length
    submission.content_kind = kinds.content_kind(message.content)


def _apply(submission: Submission, verdict: Verdict, now: Any) -> None:
    submission.settled_by = verdict.filter.value
    if verdict.owner is not None:
        submission.cookie = verdict.owner.cookie
        submission.owner = False
        tracking.mirror(submission, verdict.owner, now, verdict.detail)
        return
    assert verdict.state is not None
    transition(submission, at=now, actor=Part.GATEWAY, reason=verdict.detail, state=verdict.state)
    if verdict.state is SampleState.IMPORTING:
        return
    submission.result = verdict.result
    submission.date_analyzed = now
    if verdict.error is not None:
        submission.record_error(now, verdict.error, verdict.detail)


def _declined(submission: Submission) -> ProtocolError | None:
    if submission.state == SampleState.DECLINED.value and submission.owner:
        return ProtocolError(SampleError.DECLINED, submission.error_detail or "declined by policy")
    return None


def _touch(submission: Submission) -> None:
    """Load the relationships before the session closes, so replies can read them."""
    _ = (submission.history, submission.errors)

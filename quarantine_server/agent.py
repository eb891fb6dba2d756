"""The Quarantine Agent: the one scheduler process that moves samples along.

Jobs (intervals from the Sample and Definition Policy, in simulated seconds converted through
the Clock so a trainer can speed everything up): scanner pass, submission, status polling,
needed-definitions fetch and rescan, Defcast, certified-definitions polling, and the monitor
(heartbeats, too-long statuses, disk space). A lock file keeps a second agent from starting.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.db import rows_changed
from dis_core.definitions import InstalledDefinitions
from dis_core.vocabulary import AlertEvent, SampleError, SampleStatus
from dis_core.vocabulary.state import FINAL_STATES
from quarantine_server.alerts import general_error, raise_event
from quarantine_server.definitions import (
    DefinitionsUnavailable,
    FetchFailed,
    Installed,
    fetch_and_install,
    open_definitions,
    record_install,
    report_unavailable,
)
from quarantine_server.delivery import (
    DefcastClient,
    announce_unmanaged,
    defcast_group,
    waiting_delivery,
)
from quarantine_server.gateway import GatewayClient, GatewayRefused, GatewayUnreachable
from quarantine_server.intake import check_space
from quarantine_server.lifecycle import lock_and_refresh, move
from quarantine_server.models import Heartbeat, Sample
from quarantine_server.monitor import (
    AGENT,
    SCANNER,
    beat,
    beat_recently,
    check_heartbeats,
    check_too_long,
)
from quarantine_server.policy import release_held, submission_queue
from quarantine_server.scanning import first_scan, rescan_after_install, samples_to_scan
from quarantine_server.services import Services
from quarantine_server.submission import poll_one, submit_one
from quarantine_server.vault import VaultError

log = logging.getLogger(__name__)
S = SampleStatus
LOCK_FILE = "quarantine_agent.lock"


def _worth_polling() -> ColumnElement[bool]:
    """Submitted samples, and samples settled here whose analysis at the vendor is still running
    (their status stays; only the state shown beside it follows the vendor's)."""
    unfinished = and_(
        Sample.cookie.is_not(None),
        Sample.state.is_not(None),
        Sample.state.not_in([state.value for state in FINAL_STATES]),
    )
    return or_(Sample.status == S.SUBMITTED, unfinished)


class AgentAlreadyRunning(Exception):
    """Another agent holds the lock for this data directory."""


@dataclass
class AgentLock:
    path: Path
    handle: IO[str]

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def take_lock(data_dir: Path) -> AgentLock:
    """Hold the agent lock for as long as the process lives; refuse when someone has it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AgentAlreadyRunning(
            f"another Quarantine Agent is running ({holder}); lock {path}"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return AgentLock(path, handle)


LEASE = "agent-lease"


def take_lease(services: Services, holder: str, ttl_s: float) -> None:
    """The database lease: one agent per database, even across machines (the lock file only
    covers one machine). Taken when free, expired, or already ours; else AgentAlreadyRunning.

    The caller holds this machine's lock file (``take_lock``), so a holder named after this
    machine ("host:pid") is a dead agent (killed without releasing the lease): taken over at
    once, so a restart after a crash does not wait for the lease to expire.
    """
    now = services.clock.now()
    cutoff = now - timedelta(seconds=ttl_s)
    this_machine = holder.rsplit(":", 1)[0] + ":"
    with services.work() as session:
        taken = session.execute(
            update(Heartbeat)
            .where(
                Heartbeat.service == LEASE,
                or_(
                    Heartbeat.holder == holder,
                    Heartbeat.beat_at < cutoff,
                    Heartbeat.holder.startswith(this_machine, autoescape=True),
                ),
            )
            .values(holder=holder, beat_at=now, detail="agent lease")
        )
        if rows_changed(taken) == 1:
            return
        current = session.get(Heartbeat, LEASE)
        if current is not None:
            raise AgentAlreadyRunning(
                f"another Quarantine Agent holds the database lease ({current.holder}, renewed {current.beat_at.isoformat()})"
            )
    try:
        with services.work() as session:
            session.add(Heartbeat(service=LEASE, beat_at=now, holder=holder, detail="agent lease"))
    except IntegrityError:
        raise AgentAlreadyRunning(
            "another Quarantine Agent took the database lease just now"
        ) from None


def renew_lease(services: Services, holder: str) -> None:
    """Keep the lease; AgentAlreadyRunning when another agent has taken it over."""
    with services.work() as session:
        kept = session.execute(
            update(Heartbeat)
            .where(Heartbeat.service == LEASE, Heartbeat.holder == holder)
            .values(beat_at=services.clock.now())
        )
        if rows_changed(kept) != 1:
            raise AgentAlreadyRunning("the database lease was taken over by another agent")


def release_lease(services: Services, holder: str) -> None:
    with services.work() as session:
        session.execute(
            delete(Heartbeat).where(Heartbeat.service == LEASE, Heartbeat.holder == holder)
        )


class Agent:
    """The agent's jobs; each is safe to call on its own (tests call them directly)."""

    def __init__(
        self,
        services: Services,
        gateway_factory: Callable[[Config], GatewayClient] | None = None,
    ) -> None:
        self.services = services
        self._gateway_factory = gateway_factory or (lambda c: GatewayClient(c, services.ca_file(c)))

    def config(self) -> Config:
        with self.services.work() as session:
            return self.services.config(session)

    def now(self) -> datetime:
        return self.services.clock.now()

    def definitions(self, config: Config) -> InstalledDefinitions | None:
        try:
            return open_definitions(self.services, config)
        except DefinitionsUnavailable as problem:
            with self.services.work() as session:
                report_unavailable(session, config, self.now(), problem)
            return None

    # --- scanner -------------------------------------------------------------------------
    def scan_pass(self) -> int:
        """Scan new samples and held ones the active set has not seen; return how many."""
        config = self.config()
        installed = self.definitions(config)
        if installed is None:
            return 0
        active = installed.active_sequence
        scanner = installed.scanner() if active else None
        with self.services.work() as session:
            ids = [s.id for s in samples_to_scan(session, active)]
        for sample_id in ids:
            with self.services.work() as session:
                sample = session.get(Sample, sample_id)
                if sample is not None and sample.status in {S.QUARANTINED, S.HELD}:
                    first_scan(self.services, session, config, sample, scanner, active, self.now())
        with self.services.work() as session:
            release_held(session, config, self.now())
            beat(session, SCANNER, self.now(), f"active set {active}, scanned {len(ids)}")
        return len(ids)

    # --- gateway -------------------------------------------------------------------------
    def _unreachable(self, config: Config, problem: Exception) -> None:
        with self.services.work() as session:
            now = self.now()
            raise_event(
                session, config, now, AlertEvent.GATEWAY_UNREACHABLE, str(problem), quiet_for_s=3600
            )
            general_error(session, now, "gateway", str(problem))

    def submit_pass(self) -> int:
        """Send released samples, highest priority first, within the pending limit."""
        config = self.config()
        with self.services.work() as session:
            ids = [s.id for s in submission_queue(session, config)]
        if not ids:
            return 0
        client = self._gateway_factory(config)
        sent = 0
        try:
            for sample_id in ids:
                sent += self._submit(config, client, sample_id)
        except GatewayUnreachable as problem:
            self._unreachable(config, problem)
        finally:
            client.close()
        return sent

    def _submit(self, config: Config, client: GatewayClient, sample_id: int) -> int:
        with self.services.work() as session:
            sample = session.get(Sample, sample_id)
            if sample is None or sample.status != S.RELEASED:
                return 0
            try:
                content = self.services.vault.read(sample.stored_name)
            except VaultError as exc:
                sample.add_error(self.now(), SampleError.INTERNAL, str(exc), "agent")
                move(sample, S.ERROR, self.now(), "quarantine file unreadable")
                return 0
            submit_one(session, config, client, sample, content, self.now())
            return 1

    def poll_pass(self) -> int:
        """Ask the gateway about every submitted sample."""
        config = self.config()
        with self.services.work() as session:
            ids = list(session.scalars(select(Sample.id).where(_worth_polling())))
        if not ids:
            return 0
        client = self._gateway_factory(config)
        try:
            for sample_id in ids:
                with self.services.work() as session:
                    sample = session.get(Sample, sample_id)
                    if sample is not None:
                        poll_one(session, config, client, sample, self.now())
        except GatewayUnreachable as problem:
            self._unreachable(config, problem)
        finally:
            client.close()
        return len(ids)

    # --- definitions ---------------------------------------------------------------------
    def definitions_pass(self) -> int:
        """Fetch what needed samples wait for, then rescan them; return how many moved on."""
        config = self.config()
        with self.services.work() as session:
            needed = [
                s.definitions_needed or 0
                for s in session.scalars(select(Sample).where(Sample.status == S.NEEDED))
            ]
        if not needed:
            return 0
        installed = self.definitions(config)
        if installed is None:
            return 0
        if installed.active_sequence < max(needed):
            self._fetch_needed(config, installed, max(needed))
        return self._rescan_needed(config, installed)

    def _fetch_needed(self, config: Config, installed: InstalledDefinitions, target: int) -> None:
        refs: list[int | str] = (
            [target, "newest"] if config.definition_policy.use_newest else ["certified"]
        )
        client = self._gateway_factory(config)
        try:
            for ref in refs:
                if self._install(config, client, installed, ref, target):
                    break
        except GatewayUnreachable as problem:
            self._unreachable(config, problem)
        finally:
            client.close()
        if installed.active_sequence < target:
            self._waiting(config, installed.active_sequence)

    def _install(
        self,
        config: Config,
        client: GatewayClient,
        installed: InstalledDefinitions,
        ref: int | str,
        target: int,
    ) -> bool:
        """One attempt; True when the needed sequence is now active or trying more is pointless."""
        try:
            done = fetch_and_install(client, installed, ref)
        except FetchFailed as failure:
            return self._fetch_failed(config, failure, target, installed.active_sequence)
        active = installed.active()
        with self.services.work() as session:
            signatures = len(active.signatures) if active else 0
            record_install(session, config, self.now(), done, signatures)
            if done.refused:
                self._refused_on_the_way(session, config, done)
        return done.sequence >= target

    def _refused_on_the_way(self, session: Session, config: Config, done: Installed) -> None:
        """A damaged download was refused before the full set installed: say so per sample."""
        now, detail = self.now(), f"{done.refused}; set {done.sequence} installed in full instead"
        general_error(session, now, "definitions", detail)
        for sample in session.scalars(select(Sample).where(Sample.status == S.NEEDED)):
            raise_event(
                session,
                config,
                now,
                AlertEvent.SAMPLE_INSTALL_FAILED,
                f"sample {sample.id}: {detail}",
                sample=sample,
                key=f"refused-{done.sequence}",
            )

    def _fetch_failed(self, config: Config, failure: FetchFailed, target: int, active: int) -> bool:
        retryable = {SampleError.UNAVAILABLE, SampleError.SUPERSEDED, SampleError.ABANDONED}
        if failure.error in retryable and not failure.install_failed:
            return False  # wait for it, or try the next reference
        with self.services.work() as session:
            failed = self._needed_failed(session, config, failure, active)
            if failure.install_failed and not failed:  # no sample waits (a certified set)
                self._refused(session, config, failure, target, active)
        return True

    def _refused(
        self, session: Session, config: Config, failure: FetchFailed, target: int, active: int
    ) -> None:
        """'Unable to install definitions' once per refused set; the active set stays."""
        now = self.now()
        detail = f"{failure.detail}; set {active} stays active"
        raise_event(
            session, config, now, AlertEvent.SAMPLE_INSTALL_FAILED, detail, key=f"set-{target}"
        )
        general_error(session, now, "definitions", detail)

    def _needed_failed(
        self, session: Session, config: Config, failure: FetchFailed, active: int
    ) -> int:
        """The samples that wait for a newer set than the active one record the failure."""
        now, failed = self.now(), 0
        event = (
            AlertEvent.SAMPLE_INSTALL_FAILED
            if failure.install_failed
            else AlertEvent.SAMPLE_PROCESSING_ERROR
        )
        for sample in session.scalars(
            select(Sample).where(Sample.status == S.NEEDED, Sample.definitions_needed > active)
        ):
            sample.add_error(now, failure.error, failure.detail, "definitions")
            move(sample, S.ERROR, now, f"needed definitions failed: {failure.error.value}")
            raise_event(
                session,
                config,
                now,
                event,
                f"sample {sample.id}: {failure.detail}",
                sample=sample,
                key=f"defs@{now.isoformat()}",
            )
            failed += 1
        return failed

    def _waiting(self, config: Config, active: int) -> None:
        with self.services.work() as session:
            for sample in session.scalars(
                select(Sample).where(Sample.status == S.NEEDED, Sample.definitions_needed > active)
            ):
                raise_event(
                    session,
                    config,
                    self.now(),
                    AlertEvent.WAITING_FOR_DEFINITIONS,
                    f"sample {sample.id} waits for set {sample.definitions_needed} (active {active})",
                    sample=sample,
                    key=f"seq-{sample.definitions_needed}",
                )

    def _rescan_needed(self, config: Config, installed: InstalledDefinitions) -> int:
        active = installed.active_sequence
        if not active:
            return 0
        scanner = installed.scanner()
        with self.services.work() as session:
            ids = list(
                session.scalars(
                    select(Sample.id).where(
                        Sample.status == S.NEEDED, Sample.definitions_needed <= active
                    )
                )
            )
        for sample_id in ids:
            with self.services.work() as session:
                sample = session.get(Sample, sample_id)
                if sample is not None and sample.status == S.NEEDED:
                    rescan_after_install(
                        self.services, session, config, sample, scanner, active, self.now()
                    )
        return len(ids)

    def certified_pass(self) -> int:
        """Install a newer certified set when the gateway has one; return the active sequence."""
        config = self.config()
        installed = self.definitions(config)
        if installed is None:
            return 0
        client = self._gateway_factory(config)
        try:
            reply = client.definitions("certified", head=True)
            certified = int(reply.headers.get("X-Signatures-Sequence", "0") or 0)
            if certified > installed.active_sequence:
                self._install(config, client, installed, certified, certified)
        except GatewayUnreachable as problem:
            self._unreachable(config, problem)
        except GatewayRefused as exc:  # logged, not fatal: the next poll asks again
            with self.services.work() as session:
                general_error(session, self.now(), "certified", str(exc))
        finally:
            client.close()
        return installed.active_sequence

    # --- delivery ------------------------------------------------------------------------
    def defcast_pass(self) -> int:
        """Push the active set to senders with samples in distribute (first releasing the ones
        held as available, once the Definition Policy no longer holds delivery)."""
        config = self.config()
        if not config.definition_policy.hold_delivery:
            self._release_held_delivery()
        installed = self.definitions(config)
        package = installed.active_package() if installed else None
        if installed is None or package is None:
            return 0
        with self.services.work() as session:
            groups = {k: [s.id for s in v] for k, v in waiting_delivery(session).items()}
        client = DefcastClient(self.services.ca_file(config), config.web_communication.timeout_s)
        try:
            for target, ids in groups.items():
                self._deliver(config, client, target, ids, package, installed.active_sequence)
        finally:
            client.close()
        return sum(len(ids) for ids in groups.values())

    def _release_held_delivery(self) -> None:
        with self.services.work() as session:
            ids = list(session.scalars(select(Sample.id).where(Sample.status == S.AVAILABLE)))
        for sample_id in ids:
            with self.services.work() as session:
                sample = session.get(Sample, sample_id)
                if sample is not None:
                    lock_and_refresh(session, sample)
                    if sample.status == S.AVAILABLE:
                        move(sample, S.DISTRIBUTE, self.now(), "delivery no longer held")

    def _deliver(
        self,
        config: Config,
        client: DefcastClient,
        target: tuple[str, int] | None,
        ids: list[int],
        package: bytes,
        active: int,
    ) -> None:
        with self.services.work() as session:
            samples = [
                s
                for s in (session.get(Sample, i) for i in ids)
                if s is not None and s.status == S.DISTRIBUTE
            ]
            if not samples:
                return
            if target is None:
                announce_unmanaged(session, config, samples, self.now())
            else:
                defcast_group(session, config, client, target, samples, package, active, self.now())

    # --- monitor -------------------------------------------------------------------------
    def monitor_pass(self) -> None:
        config = self.config()
        with self.services.work() as session:
            now = self.now()
            awake = beat_recently(session, config, now, AGENT)  # before this beat
            beat(session, AGENT, now)
            if awake:  # else the scanner (this process's own scan pass) had no turn yet
                check_heartbeats(session, config, now, (SCANNER,))
            check_too_long(session, config, now)
            check_space(session, self.services, config, now)

    def run_once(self) -> None:
        """Every job once, in the order a sample travels (used by tests and `--once`)."""
        for job in (
            self.monitor_pass,
            self.scan_pass,
            self.submit_pass,
            self.poll_pass,
            self.definitions_pass,
            self.scan_pass,
            self.defcast_pass,
        ):
            job()

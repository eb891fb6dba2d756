"""The server's installed definitions: open, fetch from the gateway (increment first), install.

Everything here goes through dis_core.definitions.InstalledDefinitions, which verifies the
signature, load-tests the rules and swaps the active set atomically (the old one stays
active when an install fails).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.definitions import DefinitionError, InstalledDefinitions, InstallError, VerifyKey
from dis_core.vocabulary import AlertEvent, CodedError, SampleError
from quarantine_server.alerts import general_error, raise_event
from quarantine_server.gateway import GatewayClient, GatewayRefused
from quarantine_server.models import InstalledSet
from quarantine_server.services import Services


class DefinitionsUnavailable(Exception):
    """The definitions folder or the verification key cannot be used."""


def open_definitions(services: Services, config: Config) -> InstalledDefinitions:
    """The installed definitions, or DefinitionsUnavailable with a readable reason."""
    root = services.definitions_root(config)
    if root.exists() and not (root.is_dir() and os.access(root, os.R_OK | os.W_OK | os.X_OK)):
        raise DefinitionsUnavailable(f"definitions folder {root} is not a usable directory")
    key_path = services.verify_key_path()
    try:
        verify_key = VerifyKey.load(key_path)
        installed = InstalledDefinitions(root, verify_key, engine=config.definition_policy.engine)
    except (OSError, ValueError, DefinitionError) as exc:
        raise DefinitionsUnavailable(
            f"cannot open definitions at {root} (key {key_path}): {exc}"
        ) from None
    refusal = refuse_damaged_active(installed)
    if refusal:
        with services.work() as session:
            report_refused(session, config, services.clock.now(), refusal)
    return installed


@dataclass(frozen=True)
class Refusal:
    kept: str  # where the refused set went, under the definitions folder
    message: str


def refuse_damaged_active(installed: InstalledDefinitions) -> Refusal | None:
    """An active set that no longer verifies (changed on disk, signed by another key) is
    refused and the previous set is active again; None when all is well."""
    try:
        installed.active()
        return None
    except DefinitionError as exc:
        problem = exc.detail
    kept, now_active = installed.refuse_active()
    if not kept:
        return None  # another process refused it a moment ago and reported it
    instead = f"set {now_active.sequence} is active again" if now_active else "no set is active"
    message = f"the active definition set was refused ({problem}); moved to {kept}; {instead}"
    return Refusal(kept, message)


def report_refused(session: Session, config: Config, at: datetime, refusal: Refusal) -> None:
    """'Unable to install definitions', once per refused set, and a general error."""
    raise_event(
        session, config, at, AlertEvent.SAMPLE_INSTALL_FAILED, refusal.message, key=refusal.kept
    )
    general_error(session, at, "definitions", refusal.message)


def report_unavailable(session: Session, config: Config, at: datetime, problem: Exception) -> None:
    raise_event(
        session, config, at, AlertEvent.DEFINITION_DIR_UNAVAILABLE, str(problem), quiet_for_s=3600
    )
    general_error(session, at, "definitions", str(problem))


@dataclass(frozen=True)
class Installed:
    sequence: int
    certified: bool
    how: str
    refused: str = ""  # a damaged or foreign download refused on the way (the full set came after)


class FetchFailed(CodedError):
    """A needed set could not be fetched or installed; ``error`` says why."""

    def __init__(self, error: SampleError, detail: str, *, install_failed: bool = False) -> None:
        super().__init__(error, detail)
        self.install_failed = install_failed


def fetch_and_install(
    client: GatewayClient, installed: InstalledDefinitions, ref: int | str
) -> Installed:
    """Bring the set ``ref`` (a sequence, 'newest' or 'certified') in: increment first, then full.

    Raises GatewayUnreachable, or FetchFailed with the gateway's or the installer's reason.
    """
    target = _resolve(client, ref)
    active = installed.active_sequence
    refused = ""
    if active and target > active:
        done = _try_incremental(client, installed, active, target)
        if isinstance(done, Installed):
            return done
        refused = done
    full = _install_full(client, installed, target)
    return replace(full, refused=refused)


def _resolve(client: GatewayClient, ref: int | str) -> int:
    if isinstance(ref, int):
        return ref
    try:
        reply = client.definitions(ref, head=True)
    except GatewayRefused as refused:
        raise FetchFailed(refused.error, refused.detail) from None
    return int(reply.headers.get("X-Signatures-Sequence", "0") or 0)


def _try_incremental(
    client: GatewayClient, installed: InstalledDefinitions, base: int, target: int
) -> Installed | str:
    """The increment installed, or why not: "" when the gateway has none, else why the one it
    sent was refused (not authentic, damaged, not installable). The full set is the fallback."""
    try:
        reply = client.incremental(base, target)
    except GatewayRefused:
        return ""
    try:
        result = installed.install_incremental(reply.body)
    except InstallError as exc:
        return f"increment {base} to {target} does not install: {exc.reason}"
    except DefinitionError as exc:
        return f"increment {base} to {target} refused: {exc.detail}"
    return Installed(result.sequence, result.certified, "incremental")


def _install_full(client: GatewayClient, installed: InstalledDefinitions, target: int) -> Installed:
    try:
        reply = client.definitions(target)
    except GatewayRefused as refused:
        raise FetchFailed(refused.error, refused.detail) from None
    try:
        result = installed.install(reply.body)
    except InstallError as exc:
        raise FetchFailed(
            SampleError.UNPACKAGE,
            f"set {target} does not install: {exc.reason}",
            install_failed=True,
        ) from None
    except DefinitionError as exc:
        raise FetchFailed(exc.error, f"set {target}: {exc.detail}", install_failed=True) from None
    return Installed(result.sequence, result.certified, "full")


def record_install(
    session: Session, config: Config, at: datetime, done: Installed, signatures: int
) -> None:
    """Log the install and raise the matching 'definitions arrived' event."""
    session.add(
        InstalledSet(
            sequence=done.sequence,
            certified=done.certified,
            installed_at=at,
            how=done.how,
            signatures=signatures,
        )
    )
    event = (
        AlertEvent.CERTIFIED_DEFS_ARRIVED if done.certified else AlertEvent.UNCERTIFIED_DEFS_ARRIVED
    )
    kind = "certified" if done.certified else "non-certified"
    raise_event(
        session,
        config,
        at,
        event,
        f"{kind} definitions {done.sequence} installed ({done.how})",
        key=f"seq-{done.sequence}",
    )

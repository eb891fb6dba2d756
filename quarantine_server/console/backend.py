"""The console's only door into the Quarantine Server: its services, users and actions.

Each function here opens one unit of work per sample and calls the server's own service
function (``quarantine_server.policy`` and friends), so a refusal for one sample neither
stops nor undoes the others, and the rules live in one place: the server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask import Flask, current_app
from sqlalchemy.orm import Session

from dis_core.config import Config
from dis_core.lifecycle import IllegalTransition
from dis_core.vocabulary import SampleStatus
from dis_core.vocabulary.attributes import PRIORITY_MAX
from quarantine_server import auth, samples, submission
from quarantine_server.gateway import GatewayClient, GatewayUnreachable
from quarantine_server.models import Sample, User
from quarantine_server.services import Services
from quarantine_server.vault import VaultError

SERVICES_KEY = "quarantine_services"
SECRET_FILE = "console.secret"


def services() -> Services:
    """The running server's shared services (set by its app factory)."""
    return cast(Services, current_app.extensions[SERVICES_KEY])


def session_secret(app: Flask) -> bytes:
    """A persistent random key for signing console session cookies, kept in the data directory.

    Several gunicorn workers may start at once: the key is written under a private name and
    linked into place, so all of them end up reading the same complete key.
    """
    found = cast(Services, app.extensions[SERVICES_KEY])
    path = Path(found.base_config.path(SECRET_FILE))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{SECRET_FILE}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker won the race; its key is the one
        finally:
            draft.unlink()
    return path.read_bytes()


def authenticate(db: Session, username: str, password: str) -> User | None:
    return auth.verify_password(db, username, password)


@dataclass(frozen=True)
class Outcome:
    """What happened to one sample of a (bulk) action."""

    sample_id: int
    file_name: str
    ok: bool
    message: str


def parse_priority(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or int(text) > PRIORITY_MAX:
        return None
    return int(text)


SampleAction = Callable[[Session, Config, Sample], str | None]
REFUSALS = (samples.ActionRefused, samples.SampleNotFound, IllegalTransition, VaultError, OSError)


def _each(found: Services, ids: list[int], action: SampleAction) -> list[Outcome]:
    """Run ``action`` on each sample in its own unit of work; its text (if any) is a refusal."""
    outcomes = []
    for sample_id in ids:
        name = ""
        try:
            with found.work() as db:
                sample = samples.get_sample(db, sample_id)
                name = sample.file_name
                refusal = action(db, found.config(db), sample)
                if refusal:
                    raise _Refused(refusal)
            outcomes.append(Outcome(sample_id, name, True, "done"))
        except (_Refused, *REFUSALS) as problem:
            message = (
                "no such item (deleted?)"
                if isinstance(problem, samples.SampleNotFound)
                else str(problem)
            )
            outcomes.append(Outcome(sample_id, name, False, message))
    return outcomes


class _Refused(Exception):
    """A service said no; raised inside the unit of work so nothing of it is kept."""


def set_priorities(found: Services, ids: list[int], priority: int) -> list[Outcome]:
    def change(db: Session, config: Config, sample: Sample) -> str | None:
        samples.set_sample_priority(db, config, sample.id, priority, found.clock.now())
        return None

    return _each(found, ids, change)


def queue_samples(found: Services, ids: list[int], priority: int) -> list[Outcome]:
    """The seed's manual submission: only samples that are eligible are queued."""
    if priority == 0:
        return [Outcome(i, "", False, "queueing needs a priority from 1 to 1000") for i in ids]

    def queue(db: Session, config: Config, sample: Sample) -> str | None:
        [result] = samples.queue_samples(db, config, [sample.id], priority, found.clock.now())
        return None if result["queued"] else f"not queued: {result['reason']}"

    return _each(found, ids, queue)


def delete_samples(found: Services, ids: list[int]) -> list[Outcome]:
    def delete(db: Session, config: Config, sample: Sample) -> str | None:
        samples.delete_sample(found, db, sample.id)
        return None

    return _each(found, ids, delete)


def chosen_folder(choice: str, subfolder: str) -> str:
    """The folder picked on the restore page: a chosen folder plus an optional sub-folder.

    The server's restore service checks the result, so ``../..`` or a folder outside the
    configured restore folders is refused there, not here.
    """
    subfolder = subfolder.strip().strip("/")
    return f"{choice.rstrip('/')}/{subfolder}" if subfolder and choice else choice


def restore_samples(found: Services, ids: list[int], folder: str) -> list[Outcome]:
    def restore(db: Session, config: Config, sample: Sample) -> str | None:
        samples.restore_sample(found, db, config, sample.id, folder, found.clock.now())
        return None

    return _each(found, ids, restore)


def restart_samples(found: Services, ids: list[int]) -> list[Outcome]:
    def restart(db: Session, config: Config, sample: Sample) -> str | None:
        samples.restart_sample(db, sample.id, found.clock.now())
        return None

    return _each(found, ids, restart)


def query_definitions(found: Services, sample_id: int) -> Outcome:
    """Ask the gateway now about a submitted sample (instead of waiting for the status poll).

    The server has no such service of its own; this calls its status poll for one sample.
    """
    with found.work() as db:
        sample = db.get(Sample, sample_id)
        if sample is None:
            return Outcome(sample_id, "", False, "no such item (deleted?)")
        name, before = sample.file_name, (sample.status, sample.state)
        if sample.status != SampleStatus.SUBMITTED:
            return Outcome(
                sample_id,
                name,
                False,
                f"{name}: only a submitted item can be queried; this one is {sample.status}",
            )
        config = found.config(db)
        client = GatewayClient(config, found.ca_file(config))
        try:
            submission.poll_one(db, config, client, sample, found.clock.now())
        except GatewayUnreachable as problem:
            return Outcome(
                sample_id, name, False, f"{name}: the gateway cannot be reached: {problem}"
            )
        finally:
            client.close()
        after = (sample.status, sample.state)
    news = "unchanged" if after == before else f"now {after[0]} / {after[1] or 'no state'}"
    return Outcome(sample_id, name, True, f"{name}: gateway asked, {news}")

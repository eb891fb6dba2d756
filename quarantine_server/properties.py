"""Properties (the seed's Table 2-3 tabs): file configuration overridden by values set via the API.

Values are validated with the same rules as the configuration file; the agent and the web app
re-read them for every job or request, so most changes take effect without a restart.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.config import Config, _apply, _validate
from quarantine_server.models import GeneralError, InstalledSet, Setting

# Tab name -> config section. General Errors is a read-only history, handled separately.
TABS: dict[str, str] = {
    "general": "general",
    "web_communication": "web_communication",
    "firewall": "firewall",
    "sample_policy": "sample_policy",
    "definition_policy": "definition_policy",
    "customer": "customer",
    "alerting": "alerting",
}
READ_ONLY = {("general", "data_dir"), ("general", "database_url")}
NEEDS_RESTART = {
    ("general", "listen_host"),
    ("general", "listen_port"),
    ("general", "listen_tls"),
    ("general", "quarantine_dir"),  # the folder (and its key) is opened when a process starts
}
SECRETS = {("firewall", "password")}
MASK = "********"


class PropertyError(ValueError):
    """A property change was refused; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def effective_config(base: Config, session: Session) -> Config:
    """The file configuration with every stored override applied."""
    config = copy.deepcopy(base)
    problems: list[str] = []
    for setting in session.scalars(select(Setting)):
        _apply(config, setting.section, setting.key, setting.value, "stored property", problems)
    return config


def _section_keys(config: Config, section: str) -> list[str]:
    return [f.name for f in dataclasses.fields(getattr(config, section))]


def _field_docs(config: Config, section: str) -> dict[str, str]:
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(getattr(config, section))}


def read_tab(config: Config, session: Session, tab: str) -> dict[str, Any]:
    """One tab: every key with its value (secrets masked), meaning, and whether it is editable."""
    if tab == "general_errors":
        return {"tab": tab, "errors": general_errors(session)}
    section = _section(tab)
    docs = _field_docs(config, section)
    values = {}
    for key in _section_keys(config, section):
        value = getattr(getattr(config, section), key)
        if (section, key) in SECRETS and value:
            value = MASK
        values[key] = {
            "value": value,
            "meaning": docs[key],
            "writable": (section, key) not in READ_ONLY,
            "needs_restart": (section, key) in NEEDS_RESTART,
        }
    if tab == "definition_policy":
        values["active_sequence"] = {
            "value": active_sequence(session),
            "meaning": "Sequence of the definition set now active on this server.",
            "writable": False,
            "needs_restart": False,
        }
    return {"tab": tab, "properties": values}


def read_all(config: Config, session: Session) -> dict[str, Any]:
    tabs = [*TABS, "general_errors"]
    return {tab: read_tab(config, session, tab) for tab in tabs}


def _section(tab: str) -> str:
    if tab not in TABS:
        raise KeyError(tab)
    return TABS[tab]


def write_tab(
    base: Config, session: Session, tab: str, changes: dict[str, Any], at: datetime
) -> list[str]:
    """Validate and store ``changes`` for one tab; return the keys that need a restart."""
    section = _section(tab)
    problems = _check_keys(base, section, changes)
    trial = effective_config(base, session)
    for key, value in changes.items():
        if (section, key) in SECRETS and value == MASK:
            continue  # the masked value came back unchanged
        _apply(trial, section, key, value, "property", problems)
    problems += _validate(trial) + _extra_checks(trial)
    if problems:
        raise PropertyError(problems)
    for key in changes:
        if (section, key) in SECRETS and changes[key] == MASK:
            continue
        _store(session, section, key, getattr(getattr(trial, section), key), at)
    return sorted(k for k in changes if (section, k) in NEEDS_RESTART)


def _check_keys(config: Config, section: str, changes: dict[str, Any]) -> list[str]:
    known = set(_section_keys(config, section))
    problems = [f"{section}.{k}: unknown property" for k in changes if k not in known]
    problems += [f"{section}.{k}: read-only" for k in changes if (section, k) in READ_ONLY]
    return problems


def _extra_checks(config: Config) -> list[str]:
    problems = []
    for key in _section_keys(config, "customer"):
        if not str(getattr(config.customer, key)).strip():
            problems.append(f"customer.{key}: required")
    for folder in config.general.restore_dirs:
        if not folder.startswith("/"):
            problems.append(f"general.restore_dirs: {folder!r} must be an absolute path")
    if config.alerting.mail_to and "@" not in config.alerting.mail_to:
        problems.append("alerting.mail_to: not an e-mail address")
    return problems


def _store(session: Session, section: str, key: str, value: Any, at: datetime) -> None:
    setting = session.scalar(select(Setting).where(Setting.section == section, Setting.key == key))
    if setting is None:
        setting = Setting(section=section, key=key, value_json="null", updated_at=at)
        session.add(setting)
    setting.value_json = json.dumps(value)
    setting.updated_at = at


def general_errors(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.scalars(select(GeneralError).order_by(GeneralError.id.desc()).limit(limit))
    return [{"at": r.at.isoformat(), "source": r.source, "message": r.message} for r in rows]


def active_sequence(session: Session) -> int:
    latest = session.scalar(select(InstalledSet).order_by(InstalledSet.id.desc()).limit(1))
    return latest.sequence if latest else 0

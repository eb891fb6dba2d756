"""Fault injection for QA and trainers: what the gateway does wrong on purpose, and where that is kept.

Faults start from configuration (``gateway.fault_*``); the admin endpoint overrides them per
fault. Overrides live in the tracking database so every gunicorn worker sees the same faults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dis_core.config import GatewayConfig
from dis_core.db import unit_of_work
from gateway_sim.models import FaultRow

HOLD_OFF = -1


@dataclass(frozen=True)
class Faults:
    """The faults in force. Every field off means a well-behaved gateway."""

    refuse_connections: bool = False
    delay_s: float = 0.0
    drop_transfers: bool = False
    internal_errors: bool = False
    decline_all: bool = False
    hold_definitions_above: int = HOLD_OFF
    corrupt_next_definitions: bool = (
        False  # one-shot: the next set sent (full or increment) is damaged
    )

    @property
    def holding_definitions(self) -> bool:
        return self.hold_definitions_above >= 0

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FAULT_NAMES = tuple(f.name for f in dataclasses.fields(Faults))
BOOLEAN_FAULTS = frozenset(
    {
        "refuse_connections",
        "drop_transfers",
        "internal_errors",
        "decline_all",
        "corrupt_next_definitions",
    }
)
ONE_SHOT = "corrupt_next_definitions"


class FaultError(ValueError):
    """An admin request named an unknown fault or gave it a value of the wrong kind."""


def from_config(config: GatewayConfig) -> Faults:
    return Faults(
        refuse_connections=config.fault_refuse_connections,
        delay_s=config.fault_delay_s,
        drop_transfers=config.fault_drop_transfers,
        internal_errors=config.fault_internal_errors,
        decline_all=config.fault_decline_all,
        hold_definitions_above=config.fault_hold_definitions_above,
    )


def check_value(name: str, value: Any) -> Any:
    """Validate one fault value from JSON; returns it in its proper type."""
    if name not in FAULT_NAMES:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    if name in BOOLEAN_FAULTS:
        if not isinstance(value, bool):
            raise FaultError(f"{name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    if name == "delay_s":
        if not 0 <= value <= 600:
            raise FaultError("delay_s must be between 0 and 600 seconds")
        return float(value)
    if int(value) != value or value < HOLD_OFF:
        raise FaultError("hold_definitions_above must be a whole number, -1 for off")
    return int(value)


class FaultStore:
    """Reads and writes the fault overrides; the configuration gives the defaults."""

    def __init__(self, factory: sessionmaker[Session], config: GatewayConfig) -> None:
        self._factory = factory
        self._defaults = from_config(config)

    def current(self) -> Faults:
        with self._factory() as session:
            rows = session.scalars(select(FaultRow)).all()
        overrides = {row.name: row.value for row in rows if row.name in FAULT_NAMES}
        return dataclasses.replace(self._defaults, **overrides)

    def set(self, values: dict[str, Any], at: datetime) -> Faults:
        checked = {name: check_value(name, value) for name, value in values.items()}
        with unit_of_work(self._factory) as session:
            for name, value in checked.items():
                if name == ONE_SHOT and not value:
                    session.execute(delete(FaultRow).where(FaultRow.name == name))
                else:
                    session.merge(FaultRow(name=name, value=value, set_at=at))
        return self.current()

    def consume(self, name: str = ONE_SHOT) -> bool:
        """Take a one-shot fault: True for exactly one caller across all workers."""
        with unit_of_work(self._factory) as session:
            result = session.execute(delete(FaultRow).where(FaultRow.name == name))
            return bool(getattr(result, "rowcount", 0) == 1)

    def reset(self) -> Faults:
        """Drop every override: back to the configured faults."""
        with unit_of_work(self._factory) as session:
            session.execute(delete(FaultRow))
        return self.current()

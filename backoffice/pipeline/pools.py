"""Bounded pools of replication engines, and the definition builder's lock, held in database
rows so that every worker process (in-process threads now, Celery workers later) sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backoffice.store.models import EngineSlot, Lock
from dis_core.db import rows_changed, unit_of_work

BUILDER_LOCK = "definition-builder"


class EnginePools:
    """``binary`` and ``macro`` pools; a sample holds one slot from Wait until it leaves
    replication."""

    def __init__(self, sessions: sessionmaker[Session], sizes: dict[str, int]) -> None:
        self.sessions = sessions
        self.sizes = sizes

    def acquire(self, kind: str, cookie: str, now: datetime) -> bool:
        self._ensure_slots(kind)
        with unit_of_work(self.sessions) as session:
            held = session.scalars(select(EngineSlot).where(EngineSlot.holder == cookie)).first()
            if held is not None:
                return True  # a repeated step keeps the slot it already has
            free = session.scalars(
                select(EngineSlot.id)
                .where(
                    EngineSlot.kind == kind,
                    EngineSlot.holder.is_(None),
                    EngineSlot.number < self.sizes[kind],
                )
                .order_by(EngineSlot.number)
            ).first()
            if free is None:
                return False
            taken = session.execute(
                update(EngineSlot)
                .where(EngineSlot.id == free, EngineSlot.holder.is_(None))
                .values(holder=cookie, taken_at=now)
            )
            return bool(rows_changed(taken) == 1)

    def release(self, cookie: str) -> None:
        with unit_of_work(self.sessions) as session:
            session.execute(
                update(EngineSlot)
                .where(EngineSlot.holder == cookie)
                .values(holder=None, taken_at=None)
            )

    def busy(self, kind: str) -> int:
        with unit_of_work(self.sessions) as session:
            return len(
                session.scalars(
                    select(EngineSlot).where(
                        EngineSlot.kind == kind, EngineSlot.holder.is_not(None)
                    )
                ).all()
            )

    def _ensure_slots(self, kind: str) -> None:
        """Create missing slot rows; two workers racing to do so is harmless."""
        for number in range(self.sizes[kind]):
            _insert_once(self.sessions, EngineSlot(kind=kind, number=number))


def _insert_once(sessions: sessionmaker[Session], row: EngineSlot | Lock) -> None:
    with unit_of_work(sessions) as session:
        if isinstance(row, EngineSlot):
            exists = select(EngineSlot.id).where(
                EngineSlot.kind == row.kind, EngineSlot.number == row.number
            )
        else:
            exists = select(Lock.id).where(Lock.name == row.name)
        if session.scalars(exists).first() is not None:
            return
    try:
        with unit_of_work(sessions) as session:
            session.add(row)
    except IntegrityError:
        pass  # another worker created it first


class BuilderLock:
    """One definition builder at a time: the holder is the sample whose set is being built."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def acquire(self, holder: str, now: datetime) -> bool:
        _insert_once(self.sessions, Lock(name=BUILDER_LOCK))
        with unit_of_work(self.sessions) as session:
            taken = session.execute(
                update(Lock)
                .where(Lock.name == BUILDER_LOCK)
                .where((Lock.holder.is_(None)) | (Lock.holder == holder))
                .values(holder=holder, taken_at=now)
            )
            return bool(rows_changed(taken) == 1)

    def release(self, holder: str) -> None:
        with unit_of_work(self.sessions) as session:
            session.execute(
                update(Lock)
                .where(Lock.name == BUILDER_LOCK, Lock.holder == holder)
                .values(holder=None, taken_at=None)
            )

    def holder(self) -> str | None:
        with unit_of_work(self.sessions) as session:
            row = session.scalars(select(Lock).where(Lock.name == BUILDER_LOCK)).first()
            return None if row is None else row.holder

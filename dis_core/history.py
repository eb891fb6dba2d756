"""The history line every database keeps for its tracked records: one mixin, one shape.

Each part's history table adds only the key of the record it belongs to (a Quarantine Server
sample, a gateway submission, a back-office analysis) and the relationship back to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Self

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dis_core.db import UtcDateTime
from dis_core.lifecycle import Transition
from dis_core.vocabulary.parts import Part

REASON_LIMIT = 2000  # characters of a reason kept; longer ones are error details cut short
# what a line records: a status or state change, or an action that changes neither (a priority
# set or a restore on the Quarantine Server still belongs in the sample's history)
FIELDS = ("status", "state", "action")
_ACTORS = ", ".join(f"'{p.value}'" for p in Part)
_FIELDS = ", ".join(f"'{f}'" for f in FIELDS)


class HistoryLine:
    """Mixin: when, which field, from what, to what, by which part, why."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    field: Mapped[str] = mapped_column(String(10), CheckConstraint(f"field IN ({_FIELDS})"))
    before: Mapped[str | None] = mapped_column(String(40), nullable=True)
    after: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(32), CheckConstraint(f"actor IN ({_ACTORS})"))
    reason: Mapped[str] = mapped_column(Text)

    @classmethod
    def of(cls, entry: Transition) -> Self:
        """The line that records ``entry``."""
        line = cls()
        line.at, line.field, line.before, line.after = (
            entry.at,
            entry.field,
            entry.before,
            entry.after,
        )
        line.actor, line.reason = entry.actor.value, entry.reason[:REASON_LIMIT]
        return line

    @classmethod
    def action(cls, at: datetime, action: str, actor: Part, reason: str) -> Self:
        """The line that records an action changing neither status nor state."""
        return cls.of(Transition(at, "action", None, action, actor, reason))

"""The gateway's way into the back office (implements :class:`dis_core.analysis.AnalysisLink`).

The gateway and the back-office workers share only the back-office database and samples
folder: an imported sample is a row in state ``imported`` that a worker picks up.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.store.database import BackOfficeStore
from backoffice.store.models import Analysis
from dis_core.analysis import AnalysisStatus
from dis_core.clock import Clock, clock_for
from dis_core.config import Config
from dis_core.db import unit_of_work
from dis_core.lifecycle import transition
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.parts import Part


class BackOfficeLink:
    """Imports samples into the back office and reports how their analysis stands."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or clock_for(config)
        self.store = BackOfficeStore.open(config)

    def import_sample(
        self, cookie: str, sample_checksum: str, content: bytes, attributes: dict[str, str]
    ) -> None:
        """Store the sample and record importing -> imported; a repeat of a cookie is a no-op."""
        if self._known(cookie):
            return
        key = self.store.samples.put(_file_name(cookie), content)
        try:
            with unit_of_work(self.store.sessions) as session:
                session.add(self._new_row(cookie, sample_checksum, content, attributes, key))
        except IntegrityError:
            if not self._known(cookie):  # lost a race with a concurrent import of the same cookie
                raise

    def status(self, cookie: str) -> AnalysisStatus | None:
        with unit_of_work(self.store.sessions) as session:
            row = _find(session, cookie)
            return None if row is None else status_of(row)

    def close(self) -> None:
        self.store.close()

    def _known(self, cookie: str) -> bool:
        with unit_of_work(self.store.sessions) as session:
            return _find(session, cookie) is not None

    def _new_row(
        self, cookie: str, checksum: str, content: bytes, attributes: dict[str, str], key: bytes
    ) -> Analysis:
        now = self.clock.now()
        row = Analysis(
            cookie=cookie,
            sample_checksum=checksum.lower(),
            size=len(content),
            content_file=_file_name(cookie),
            content_key=key,
            attributes_json=json.dumps(attributes, sort_keys=True),
            state=None,
            date_imported=now,
            date_updated=now,
        )
        transition(
            row,
            at=now,
            actor=Part.BACKOFFICE,
            reason="sample handed over by the gateway",
            state=SampleState.IMPORTING,
        )
        if sha256_hex(content) != checksum.lower():
            row.error, row.error_detail = (
                SampleError.SAMPLE,
                "content does not match the sample checksum",
            )
            transition(
                row,
                at=now,
                actor=Part.BACKOFFICE,
                reason="sample checksum mismatch",
                state=SampleState.ERROR,
            )
        else:
            transition(
                row,
                at=now,
                actor=Part.BACKOFFICE,
                reason="stored and queued for analysis",
                state=SampleState.IMPORTED,
            )
        return row


def _file_name(cookie: str) -> str:
    return sha256_hex(cookie.encode("utf-8"))[:40] + ".bin"


def _find(session: Session, cookie: str) -> Analysis | None:
    return session.scalars(select(Analysis).where(Analysis.cookie == cookie)).first()


def status_of(row: Analysis) -> AnalysisStatus:
    """The gateway's view of one analysis row."""
    state = SampleState(row.state) if row.state else SampleState.IMPORTING
    final = state.is_final
    return AnalysisStatus(
        cookie=row.cookie,
        state=state.value,
        result=row.result,
        error=row.error.value if row.error else None,
        error_detail=row.error_detail,
        date_analyzed=row.date_analyzed if final else None,
    )

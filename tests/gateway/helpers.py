"""Shared gateway test helpers: a fake back office and packed submissions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from dis_core.analysis import AnalysisStatus
from dis_core.protocol import pack_sample
from dis_core.vocabulary import SampleState

CUSTOMER = {
    "X-Customer-Name": "Example Corp",
    "X-Customer-Account": "ACME-1",
    "X-Customer-Contact-Name": "Pat Admin",
    "X-Customer-Contact-Telephone": "+1 555 0100",
    "X-Customer-Contact-Email": "pat@example.invalid",
    "X-Quarantine-Server": "qserver-test",
}


def submit_attributes(**extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "X-Sample-Type": "file",
        "X-Date-Submitted": datetime(2026, 1, 1, tzinfo=UTC),
        "X-Sample-Priority": 500,
        **CUSTOMER,
    }
    values.update(extra)
    return values


def packed(content: bytes, **extra: Any) -> tuple[dict[str, str], bytes]:
    return pack_sample(content, submit_attributes(**extra))


@dataclass
class FakeLink:
    """Implements dis_core.analysis.AnalysisLink in memory; counts imports per cookie."""

    imports: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    statuses: dict[str, AnalysisStatus] = field(default_factory=dict)
    fail_import: bool = False

    def import_sample(
        self, cookie: str, sample_checksum: str, content: bytes, attributes: dict[str, str]
    ) -> None:
        if self.fail_import:
            raise RuntimeError("back office database is locked")
        if cookie in self.statuses:
            return
        self.imports.append((cookie, sample_checksum, content, attributes))
        self.statuses[cookie] = AnalysisStatus(cookie=cookie, state=SampleState.IMPORTED.value)

    def status(self, cookie: str) -> AnalysisStatus | None:
        return self.statuses.get(cookie)

    def finish(self, cookie: str, state: SampleState, at: datetime, **fields: Any) -> None:
        """End the analysis; result fields (virus_name, sequence, ...) go into its result."""
        now = self.statuses[cookie]
        found = {k: fields.pop(k) for k in list(fields) if hasattr(now.result, k)}
        self.statuses[cookie] = replace(
            now, state=state.value, date_analyzed=at, result=replace(now.result, **found), **fields
        )

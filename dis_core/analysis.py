"""The contract between the gateway and the back office.

The gateway hands accepted samples to the back office and asks it how their analysis
stands; the back office implements :class:`AnalysisLink` (``backoffice.link.BackOfficeLink``).
Published definition sets travel separately, through the definition repository folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class AnalysisStatus:
    """How one imported sample stands in the back office."""

    cookie: str
    state: str  # a SampleState value
    virus_name: str | None = None
    signature_id: str | None = None
    sequence: int | None = None  # definitions sequence that detects and (if repairable) repairs it
    repairable: bool | None = None
    error: str | None = None  # a SampleError value when state is error/abort/broken
    error_detail: str | None = None
    date_analyzed: datetime | None = None  # set exactly when the state is final


class AnalysisLink(Protocol):
    """What the gateway needs from the back office."""

    def import_sample(
        self, cookie: str, sample_checksum: str, content: bytes, attributes: dict[str, str]
    ) -> None:
        """Take a sample in (state importing, then imported). Idempotent per cookie."""
        ...

    def status(self, cookie: str) -> AnalysisStatus | None:
        """Current analysis status, or None for a cookie the back office never imported."""
        ...

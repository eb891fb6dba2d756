"""The contract between the gateway and the back office.

The gateway hands accepted samples to the back office and asks it how their analysis
stands; the back office implements :class:`AnalysisLink` (``backoffice.link.BackOfficeLink``).
Published definition sets travel separately, through the definition repository folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class AnalysisResult:
    """What an analysis found, as every database keeps it and every reply carries it."""

    virus_name: str | None = None
    signature_id: str | None = None
    sequence: int | None = None  # definitions sequence that detects and (if repairable) repairs it
    repairable: bool | None = None

    def attributes(self) -> dict[str, Any]:
        """The X- attributes of a status reply that carry this result (unknown ones left out)."""
        values = {
            "X-Signatures-Sequence": self.sequence,
            "X-Analysis-Virus-Name": self.virus_name,
            "X-Analysis-Virus-Id": self.signature_id,
            "X-Analysis-Repairable": self.repairable,
        }
        return {name: value for name, value in values.items() if value is not None}

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, Any]) -> AnalysisResult:
        """Read the result back from a status reply's parsed attributes."""
        sequence, repairable = (
            attrs.get("X-Signatures-Sequence"),
            attrs.get("X-Analysis-Repairable"),
        )
        return cls(
            virus_name=attrs.get("X-Analysis-Virus-Name") or None,
            signature_id=attrs.get("X-Analysis-Virus-Id") or None,
            sequence=int(sequence) if sequence not in (None, "") else None,
            repairable=bool(repairable) if repairable is not None else None,
        )

    def over(self, older: AnalysisResult) -> AnalysisResult:
        """This result, keeping ``older``'s values where this one knows nothing."""
        known = {name: value for name, value in vars(self).items() if value is not None}
        return replace(older, **known)


@dataclass(frozen=True)
class AnalysisStatus:
    """How one imported sample stands in the back office."""

    cookie: str
    state: str  # a SampleState value
    result: AnalysisResult = AnalysisResult()
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

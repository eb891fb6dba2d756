"""Sample status: where a sample stands in the Quarantine Server's own processing."""

from enum import StrEnum


class SampleStatus(StrEnum):
    """The Quarantine Server's processing status of one sample (seed Table A-1)."""

    QUARANTINED = "quarantined"
    HELD = "held"
    RELEASED = "released"
    SUBMITTED = "submitted"
    NEEDED = "needed"
    AVAILABLE = "available"
    DISTRIBUTE = "distribute"
    DISTRIBUTED = "distributed"
    INSTALLED = "installed"
    NOT_INSTALLED = "not installed"
    UNNEEDED = "unneeded"
    ATTENTION = "attention"
    ERROR = "error"
    RESTART = "restart"

    @property
    def meaning(self) -> str:
        return STATUS_MEANINGS[self]

    @property
    def troubled(self) -> bool:
        """A status an administrator should look at."""
        return self in (SampleStatus.ATTENTION, SampleStatus.ERROR, SampleStatus.NOT_INSTALLED)


STATUS_MEANINGS: dict[SampleStatus, str] = {
    SampleStatus.QUARANTINED: "Arrived at the Quarantine Server and waits for its first scan.",
    SampleStatus.HELD: "Kept on the server; it will not be sent to the gateway unless released.",
    SampleStatus.RELEASED: "Queued to be sent to the gateway for analysis.",
    SampleStatus.SUBMITTED: "Sent to the gateway; the server is waiting for the analysis result.",
    SampleStatus.NEEDED: "Analysis produced a cure; the definitions that carry it must be fetched.",
    SampleStatus.AVAILABLE: "The cure is on the server but delivery to the sender is on hold.",
    SampleStatus.DISTRIBUTE: "The cure is on the server and queued for delivery to the sender.",
    SampleStatus.DISTRIBUTED: "The cure was delivered to the sender; confirmation is awaited.",
    SampleStatus.INSTALLED: "The sender confirmed that the cure is installed.",
    SampleStatus.NOT_INSTALLED: "The cure could not be delivered to or installed on the sender.",
    SampleStatus.UNNEEDED: "No new definitions are needed for this sample.",
    SampleStatus.ATTENTION: "Automation cannot go further; an administrator must look at it.",
    SampleStatus.ERROR: "Processing failed; the error is recorded on the sample.",
    SampleStatus.RESTART: "Processing begins again from the first scan.",
}

"""Alert events the Quarantine Server can raise (seed Table 3-2)."""

from enum import StrEnum


class AlertEvent(StrEnum):
    """One kind of alert; the value is the stable identifier stored and sent."""

    GATEWAY_UNREACHABLE = "gateway_unreachable"
    DEFCAST_ERROR = "defcast_error"
    TARGET_INSTALL_FAILED = "target_install_failed"
    DEFINITION_DIR_UNAVAILABLE = "definition_dir_unavailable"
    SCANNER_UNREACHABLE = "scanner_unreachable"
    AGENT_STOPPED = "agent_stopped"
    WAITING_FOR_DEFINITIONS = "waiting_for_definitions"
    CERTIFIED_DEFS_ARRIVED = "certified_defs_arrived"
    UNCERTIFIED_DEFS_ARRIVED = "uncertified_defs_arrived"
    QUOTA_LOW = "quota_low"
    FREE_SPACE_BELOW_MAX = "free_space_below_max"
    SAMPLE_NOT_REPAIRED = "sample_not_repaired"
    SAMPLE_INSTALL_FAILED = "sample_install_failed"
    SAMPLE_PROCESSING_ERROR = "sample_processing_error"
    SAMPLE_NEEDS_ATTENTION = "sample_needs_attention"
    SAMPLE_HELD = "sample_held"
    SAMPLE_TOO_LONG_DISTRIBUTE = "sample_too_long_distribute"
    SAMPLE_TOO_LONG_DISTRIBUTED = "sample_too_long_distributed"
    SAMPLE_TOO_LONG_NEEDED = "sample_too_long_needed"
    SAMPLE_TOO_LONG_RELEASED = "sample_too_long_released"
    SAMPLE_TOO_LONG_SUBMITTED = "sample_too_long_submitted"
    SAMPLE_TOO_LONG_QUARANTINED = "sample_too_long_quarantined"
    SAMPLE_DEFS_HELD = "sample_defs_held"

    @property
    def title(self) -> str:  # type: ignore[override]  # the event's label, not str.title()
        return EVENT_TEXT[self][0]

    @property
    def meaning(self) -> str:
        return EVENT_TEXT[self][1]

    @property
    def concerns_sample(self) -> bool:
        return self.value.startswith("sample_")


EVENT_TEXT: dict[AlertEvent, tuple[str, str]] = {
    AlertEvent.GATEWAY_UNREACHABLE: (
        "Unable to connect to the Gateway",
        "The agent could not open a connection to the gateway.",
    ),
    AlertEvent.DEFCAST_ERROR: (
        "Defcast error",
        "Pushing definitions from this server to client computers failed.",
    ),
    AlertEvent.TARGET_INSTALL_FAILED: (
        "Cannot install definitions on target computers",
        "A client could not take the new definitions, or no client could be reached for them.",
    ),
    AlertEvent.DEFINITION_DIR_UNAVAILABLE: (
        "Unable to access definition directory",
        "The server's definitions folder is missing or unreadable.",
    ),
    AlertEvent.SCANNER_UNREACHABLE: (
        "Cannot connect to Quarantine Scanner svc",
        "The scanner is not running, so new samples are neither scanned nor forwarded.",
    ),
    AlertEvent.AGENT_STOPPED: (
        "The Quarantine Agent service has stopped",
        "No agent heartbeat: nothing talks to the gateway.",
    ),
    AlertEvent.WAITING_FOR_DEFINITIONS: (
        "Waiting for needed definitions",
        "The gateway named a needed sequence that has not arrived yet.",
    ),
    AlertEvent.CERTIFIED_DEFS_ARRIVED: (
        "New certified definitions arrived",
        "A newer certified definition set was installed on this server.",
    ),
    AlertEvent.UNCERTIFIED_DEFS_ARRIVED: (
        "New non-certified definitions arrived",
        "A non-certified set made for a submission was installed on this server.",
    ),
    AlertEvent.QUOTA_LOW: (
        "Disk quota remaining is low for Quarantine dir",
        "The quarantine folder is close to its configured maximum size.",
    ),
    AlertEvent.FREE_SPACE_BELOW_MAX: (
        "Disk free space is less than Quarantine max size",
        "The disk has less free space than the quarantine folder is allowed to use.",
    ),
    AlertEvent.SAMPLE_NOT_REPAIRED: (
        "Sample: was not repaired",
        "The sample was not repaired, or it needed no repair.",
    ),
    AlertEvent.SAMPLE_INSTALL_FAILED: (
        "Sample: unable to install definitions",
        "The definitions this sample needs could not be installed (often a corrupt set).",
    ),
    AlertEvent.SAMPLE_PROCESSING_ERROR: (
        "Sample: processing error",
        "Handling this sample failed; see its errors.",
    ),
    AlertEvent.SAMPLE_NEEDS_ATTENTION: (
        "Sample: needs attention from Tech Support",
        "Automation could not finish this sample; a person must decide.",
    ),
    AlertEvent.SAMPLE_HELD: (
        "Sample: held for manual submission",
        "The sample stays on this server until someone submits it by hand.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_DISTRIBUTE: (
        "Sample: too long without installing new defs",
        "The sample's cure is queued for delivery (distribute) but was not delivered in time.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_DISTRIBUTED: (
        "Sample: too long with Distributed Status",
        "The cure was delivered but the client has not confirmed its installation in time.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_NEEDED: (
        "Sample: too long with Needed status",
        "The needed definitions have not been fetched from the gateway in time.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_RELEASED: (
        "Sample: too long with Released status",
        "The released sample has not been taken by the gateway in time.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_SUBMITTED: (
        "Sample: too long with Submitted status",
        "The gateway has not finished with the submitted sample in time.",
    ),
    AlertEvent.SAMPLE_TOO_LONG_QUARANTINED: (
        "Sample: too long with Quarantined status",
        "The sample has waited too long for its first scan on this server.",
    ),
    AlertEvent.SAMPLE_DEFS_HELD: (
        "Sample: new definitions held for delivery",
        "The cure is on this server but delivery is on hold (status available).",
    ),
}

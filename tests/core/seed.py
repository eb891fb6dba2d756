"""The seed's vocabulary lists, typed in by hand from the shared seed folder so the code can be
checked against them (names only: the seed's descriptions are not copied anywhere)."""

# Table A-1, as the seed spells the statuses (capitalised words)
STATUSES = (
    "Attention Available Distribute Distributed Error Held Installed Needed",
    "Not installed",
    "Quarantined Released Restart Submitted Unneeded",
)

# Tables A-2 .. A-5
FINAL_STATES = [
    "abort",
    "attention",
    "broken",
    "declined",
    "error",
    "infected",
    "misfired",
    "nodetect",
    "norepair",
    "uninfectable",
    "uninfected",
    "unsubmittable",
    "encrypted",
    "delete",
    "restore",
]
TRANSIT_STATES = ["accepted", "importing", "receiving"]
PENDING_STATES = ["defer", "deferred", "deferring", "imported", "rescan"]
ACTIVE_STATES = [
    "archive",
    "archiving",
    "binary",
    "binaryControlling",
    "binaryReplicating",
    "binaryScoring",
    "binaryWait",
    "classifying",
    "fullBuilding",
    "fullUnitTesting",
    "incrBuilding",
    "incrUnitTesting",
    "locking",
    "macro",
    "macroControlling",
    "macroReplicating",
    "macroScoring",
    "macroWait",
    "signatures",
    "unlocking",
]

# Table A-6
ERRORS = [
    "abandoned",
    "content",
    "crumbled",
    "declined",
    "internal",
    "lost",
    "malformed",
    "missing",
    "overrun",
    "sample",
    "superseded",
    "type",
    "unavailable",
    "underrun",
    "unpackage",
    "unpublished",
]

# Table 3-2, the event names (these are labels, kept as the product shows them)
ALERT_EVENTS = (
    "Unable to connect to the Gateway",
    "Defcast error",
    "Cannot install definitions on target computers",
    "Unable to access definition directory",
    "Cannot connect to Quarantine Scanner svc",
    "The Quarantine Agent service has stopped",
    "Waiting for needed definitions",
    "New certified definitions arrived",
    "New non-certified definitions arrived",
    "Disk quota remaining is low for Quarantine dir",
    "Disk free space is less than Quarantine max size",
    "Sample: was not repaired",
    "Sample: unable to install definitions",
    "Sample: processing error",
    "Sample: needs attention from Tech Support",
    "Sample: held for manual submission",
    "Sample: too long without installing new defs",
    "Sample: too long with Distributed Status",
    "Sample: too long with Needed status",
    "Sample: too long with Released status",
    "Sample: too long with Submitted status",
    "Sample: too long with Quarantined status",
    "Sample: new definitions held for delivery",
)


def status_names() -> list[str]:
    """Table A-1 lower-cased, one entry per status ("Not installed" stays two words)."""
    names: list[str] = []
    for chunk in STATUSES:
        names += (
            [chunk.lower()] if " " in chunk and chunk.startswith("Not") else chunk.lower().split()
        )
    return names

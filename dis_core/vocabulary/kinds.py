"""Kinds of things the parts name to each other: engines, detections, scan results and the
outcomes an endpoint confirms."""

from enum import StrEnum

from dis_core.vocabulary.state import SampleState


class EngineKind(StrEnum):
    """The two replication engines, and the kinds of signature each produces."""

    BINARY = "binary"  # programs, run in the emulator among goat programs
    MACRO = "macro"  # Office documents with macros, opened in the simulated Office


class SignatureKind(StrEnum):
    """What a signature's rule is matched against."""

    BINARY = "binary"  # the file's bytes
    MACRO = "macro"  # the normalized VBA source of each macro module
    HASH = "hash"  # the whole file's checksum


class DetectionCategory(StrEnum):
    """What a signature says the file it matches is."""

    VIRUS = "virus"  # replicates; a repair may clean the host
    THREAT = "threat"  # does harm without infecting (worm, trojan)
    ARTIFACT = "artifact"  # a file that malware made
    TEST = "test"  # a test file such as EICAR
    HEURISTIC = "heuristic"  # suspicious content, not a verdict

    @property
    def known_end(self) -> SampleState | None:
        """The end a file known to be of this category settles at without analysis (None: a
        virus, whose end depends on its repair, and a heuristic hit, which settles nothing)."""
        return _KNOWN_ENDS.get(self)


_KNOWN_ENDS = {
    DetectionCategory.THREAT: SampleState.UNSUBMITTABLE,
    DetectionCategory.ARTIFACT: SampleState.DELETE,
    DetectionCategory.TEST: SampleState.DELETE,
}


class ScanResult(StrEnum):
    """X-Scan-Result: why the endpoint quarantined the file."""

    DETECTED = "detected"  # a signature matched and the endpoint has no repair for it
    SUSPICIOUS = "suspicious"  # the content heuristic (or the user) flagged it
    UNREPAIRABLE = "unrepairable"  # a signature with a repair matched, but the repair failed


class ConfirmationOutcome(StrEnum):
    """The per-sample results an install confirmation reports (docs/protocol.md)."""

    REPAIRED = "repaired"
    RESTORED = "restored"
    NOT_REPAIRED = "not_repaired"
    INSTALL_FAILED = "install_failed"

"""Shared core of the Digital Immune System: vocabulary, protocol, configuration, clock,
certificates, definition sets, scanner and the simulated malware world."""

__version__ = "0.1.0"

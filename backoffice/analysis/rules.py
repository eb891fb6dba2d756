"""YARA rule text for the signatures the back office writes (one rule per signature)."""

from __future__ import annotations

from dis_core.definitions.rulefile import rule_name

MAX_MACRO_TEXT = 400


def binary_rule(signature_id: str, virus_name: str, pattern: bytes) -> str:
    """Matches ``pattern`` anywhere in a PE file (the MZ check keeps it off documents)."""
    hexed = " ".join(f"{b:02X}" for b in pattern)
    return (
        f"rule {rule_name(signature_id)}\n{{\n"
        f'  meta:\n    virus = "{_quoted(virus_name)}"\n'
        f"  strings:\n    $a = {{ {hexed} }}\n"
        "  condition:\n    uint16(0) == 0x5A4D and $a\n}\n"
    )


def macro_rule(signature_id: str, virus_name: str, normalized: str) -> str:
    """Matches a run of normalized VBA text (the scanner feeds each module's normalized source)."""
    data = normalized.encode("utf-8")[:MAX_MACRO_TEXT]
    hexed = " ".join(f"{b:02X}" for b in data)
    return (
        f"rule {rule_name(signature_id)}\n{{\n"
        f'  meta:\n    virus = "{_quoted(virus_name)}"\n'
        f"  strings:\n    $a = {{ {hexed} }}\n"
        "  condition:\n    $a\n}\n"
    )


def _quoted(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in "._-!@#+/:")

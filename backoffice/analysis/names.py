"""Naming what the back office found: the name a program gives itself, else a made-up one."""

from __future__ import annotations

import hashlib
import re

from dis_core.vocabulary.kinds import EngineKind

_SELF_NAME = re.compile(rb"(Sim\.[A-Za-z0-9]{2,20}\.[A-Z])\b")
_MACRO_SELF_NAME = re.compile(r"\b(Sim\.[A-Za-z0-9]{2,20}\.[A-Z])\b")


def virus_name(program_or_text: bytes | str, kind: str, fallback_seed: bytes) -> str:
    """Analysts name a virus after the text it carries when it names itself, else by kind."""
    if isinstance(program_or_text, str):
        found_text = _MACRO_SELF_NAME.search(program_or_text)
        if found_text:
            return found_text.group(1)
    else:
        found = _SELF_NAME.search(program_or_text)
        if found:
            return found.group(1).decode("ascii")
    prefix = "Sim.Macro" if kind == EngineKind.MACRO else "Sim.Auto"
    return f"{prefix}{hashlib.sha256(fallback_seed).hexdigest()[:6].upper()}.A"


def family_of(name: str) -> str:
    parts = name.split(".")
    return parts[1].lower()[:60] if len(parts) >= 3 else name.lower()[:60]

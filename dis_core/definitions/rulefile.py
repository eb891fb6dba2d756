"""Rule files for the stand-alone ``yara`` tool: every rule of a set in one file."""

from __future__ import annotations

import re
from pathlib import Path

from dis_core.definitions.engines import split_imports
from dis_core.definitions.model import DefinitionSet


def rule_name(signature_id: str) -> str:
    """A rule identifier derived from a signature id (the recommended naming)."""
    return "sig_" + re.sub(r"[^A-Za-z0-9_]", "_", signature_id)


def rule_file_text(definitions: DefinitionSet, kind: str | None = None) -> str:
    """One YARA source with every rule (optionally one kind); imports hoisted to the top.

    Rule names are unique within a set (checked when it is built and read), so the file
    compiles as one namespace.
    """
    imports: set[str] = set()
    bodies: list[str] = []
    for sig in definitions.signatures:
        if kind is None or sig.kind == kind:
            needed, body = split_imports(sig.rule)
            imports |= needed
            bodies.append(f"// {sig.id} {sig.virus_name} ({sig.kind})\n" + body)
    header = "".join(f'import "{name}"\n' for name in sorted(imports))
    return header + "\n" + "\n\n".join(bodies) + "\n"


def write_rule_file(definitions: DefinitionSet, path: Path, kind: str | None = None) -> Path:
    path = Path(path)
    path.write_text(rule_file_text(definitions, kind), encoding="ascii")
    return path

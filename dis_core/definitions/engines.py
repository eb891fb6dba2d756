"""Two YARA engines behind one small interface: yara-python (default) and YARA-X.

All rules of a group are compiled as ONE source (imports hoisted to the top): rule names are
unique within a set, and a single namespace compiles about ten times faster than one
namespace per rule in yara-python and YARA-X alike. A match maps back to its signature
through the rule's name; the compiled rule names must be exactly the expected ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import yara
import yara_x

ENGINES = ("yara", "yara-x")
# YARA-X scans these rules 3.3-3.7x faster than yara-python on one thread (docs/benchmarks.md);
# yara-python stays selectable (definition_policy.engine = "yara") and tested
DEFAULT_ENGINE = "yara-x"
SCAN_TIMEOUT_S = 60
IMPORT = re.compile(r'(?m)^[ \t]*import[ \t]+"([a-z0-9_]+)"[ \t]*\r?\n?')
RULE_NAME = re.compile(r"(?m)^[ \t]*rule[ \t]+([A-Za-z_][A-Za-z0-9_]{0,127})\b")


@dataclass(frozen=True)
class RuleHit:
    signature_id: str
    offsets: dict[str, int]  # YARA string identifier ("$a") -> offset of its first match


class CompiledRules(Protocol):
    def match(self, data: bytes) -> list[RuleHit]: ...


class EngineError(Exception):
    """Rules did not compile; ``signature_id`` names the culprit when it could be found."""

    def __init__(self, message: str, signature_id: str | None = None) -> None:
        super().__init__(message)
        self.signature_id = signature_id

    @property
    def namespace(self) -> str | None:  # the earlier name of signature_id
        return self.signature_id


def split_imports(rule: str) -> tuple[set[str], str]:
    """The modules a rule imports, and the rule without its import lines."""
    return set(IMPORT.findall(rule)), IMPORT.sub("", rule).strip()


def combine(sources: dict[str, str]) -> tuple[str, dict[str, str]]:
    """One YARA source for ``{signature id: rule}`` and the map rule name -> signature id."""
    imports: set[str] = set()
    bodies: list[str] = []
    names: dict[str, str] = {}
    for signature_id, rule in sources.items():
        found = RULE_NAME.findall(rule)
        if len(found) != 1 or found[0] in names:
            raise EngineError(
                f"signature {signature_id} must declare one rule with a unique name", signature_id
            )
        names[found[0]] = signature_id
        needed, body = split_imports(rule)
        imports |= needed
        bodies.append(body)
    header = "".join(f'import "{module}"\n' for module in sorted(imports))
    return header + "\n\n".join(bodies) + "\n", names


class YaraPythonRules:
    def __init__(self, source: str, names: dict[str, str]) -> None:
        self._names = names
        self._rules = yara.compile(source=source, includes=False) if names else None
        _check_names(names, [rule.identifier for rule in self._rules or []])

    def match(self, data: bytes) -> list[RuleHit]:
        if self._rules is None:
            return []
        matches = self._rules.match(data=data, timeout=SCAN_TIMEOUT_S)
        return [RuleHit(self._names[m.rule], _python_offsets(m)) for m in matches]


def _python_offsets(match: Any) -> dict[str, int]:
    offsets: dict[str, int] = {}
    for string in match.strings:
        first = min((instance.offset for instance in string.instances), default=None)
        if first is not None:
            offsets[string.identifier] = min(first, offsets.get(string.identifier, first))
    return offsets


class YaraXRules:
    def __init__(self, source: str, names: dict[str, str]) -> None:
        self._names = names
        compiler = yara_x.Compiler()
        compiler.enable_includes(False)
        compiler.add_source(source)
        self._rules = compiler.build()
        _check_names(names, [rule.identifier for rule in self._rules] if names else [])

    def match(self, data: bytes) -> list[RuleHit]:
        if not self._names:
            return []
        scanner = yara_x.Scanner(self._rules)  # a Scanner is not shareable across threads
        scanner.set_timeout(SCAN_TIMEOUT_S)
        results = scanner.scan(data)
        return [RuleHit(self._names[r.identifier], _x_offsets(r)) for r in results.matching_rules]


def _x_offsets(rule: Any) -> dict[str, int]:
    offsets: dict[str, int] = {}
    for pattern in rule.patterns:
        first = min((m.offset for m in pattern.matches), default=None)
        if first is not None:
            offsets[pattern.identifier] = first
    return offsets


def _check_names(expected: dict[str, str], compiled: list[str]) -> None:
    if sorted(compiled) != sorted(expected):
        odd = sorted(set(compiled) ^ set(expected)) or sorted(compiled)
        raise EngineError(
            f"compiled rules are not one per signature (look at rule {odd[0]})",
            expected.get(odd[0]),
        )


def _build(engine: str, sources: dict[str, str]) -> CompiledRules:
    source, names = combine(sources)
    if engine == "yara":
        return YaraPythonRules(source, names)
    if engine == "yara-x":
        return YaraXRules(source, names)
    raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")


def compile_rules(engine: str, sources: dict[str, str]) -> CompiledRules:
    """Compile ``{signature id: rule source}``; EngineError naming the first bad signature."""
    try:
        return _build(engine, sources)
    except (yara.Error, yara_x.CompileError) as exc:
        culprit = _find_culprit(engine, sources)
        raise EngineError(f"rules do not compile: {exc}", culprit) from None


def _find_culprit(engine: str, sources: dict[str, str]) -> str | None:
    for signature_id, source in sources.items():
        try:
            _build(engine, {signature_id: source})
        except (yara.Error, yara_x.CompileError, EngineError):
            return signature_id
    return None

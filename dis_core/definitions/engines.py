"""Two YARA engines behind one small interface: yara-python (default) and YARA-X.

Each signature's rule is compiled into its own namespace named after the signature id, so
a match maps back to exactly one signature whatever the rule is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import yara
import yara_x

ENGINES = ("yara", "yara-x")
SCAN_TIMEOUT_S = 60


@dataclass(frozen=True)
class RuleHit:
    namespace: str
    offsets: dict[str, int]  # YARA string identifier ("$a") -> offset of its first match


class CompiledRules(Protocol):
    def match(self, data: bytes) -> list[RuleHit]: ...

    def rule_count(self) -> int: ...


class YaraPythonRules:
    def __init__(self, sources: dict[str, str]) -> None:
        self._rules = yara.compile(sources=sources, includes=False) if sources else None

    def match(self, data: bytes) -> list[RuleHit]:
        if self._rules is None:
            return []
        return [_python_hit(m) for m in self._rules.match(data=data, timeout=SCAN_TIMEOUT_S)]

    def rule_count(self) -> int:
        return sum(1 for _ in self._rules or [])


def _python_hit(match: Any) -> RuleHit:
    offsets: dict[str, int] = {}
    for string in match.strings:
        first = min((instance.offset for instance in string.instances), default=None)
        if first is not None:
            offsets[string.identifier] = min(first, offsets.get(string.identifier, first))
    return RuleHit(match.namespace, offsets)


class YaraXRules:
    def __init__(self, sources: dict[str, str]) -> None:
        compiler = yara_x.Compiler()
        compiler.enable_includes(False)
        for namespace, source in sources.items():
            compiler.new_namespace(namespace)
            compiler.add_source(source)
        self._rules = compiler.build()
        self._empty = not sources

    def match(self, data: bytes) -> list[RuleHit]:
        if self._empty:
            return []
        scanner = yara_x.Scanner(self._rules)  # a Scanner is not shareable across threads
        scanner.set_timeout(SCAN_TIMEOUT_S)
        results = scanner.scan(data)
        return [_x_hit(rule) for rule in results.matching_rules]

    def rule_count(self) -> int:
        return 0 if self._empty else sum(1 for _ in self._rules)


def _x_hit(rule: Any) -> RuleHit:
    offsets: dict[str, int] = {}
    for pattern in rule.patterns:
        first = min((m.offset for m in pattern.matches), default=None)
        if first is not None:
            offsets[pattern.identifier] = first
    return RuleHit(rule.namespace, offsets)


class EngineError(Exception):
    """Rules did not compile; ``namespace`` names the culprit when it could be found."""

    def __init__(self, message: str, namespace: str | None = None) -> None:
        super().__init__(message)
        self.namespace = namespace


def _build(engine: str, sources: dict[str, str]) -> CompiledRules:
    if engine == "yara":
        return YaraPythonRules(sources)
    if engine == "yara-x":
        return YaraXRules(sources)
    raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")


def compile_rules(engine: str, sources: dict[str, str]) -> CompiledRules:
    """Compile every source in its namespace; EngineError naming the first bad one."""
    try:
        return _build(engine, sources)
    except (yara.Error, yara_x.CompileError) as exc:
        culprit = _find_culprit(engine, sources)
        raise EngineError(f"rules do not compile: {exc}", culprit) from None


def _find_culprit(engine: str, sources: dict[str, str]) -> str | None:
    for namespace, source in sources.items():
        try:
            _build(engine, {namespace: source})
        except (yara.Error, yara_x.CompileError):
            return namespace
    return None

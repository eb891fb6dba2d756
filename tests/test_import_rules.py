"""The package structure: the core (dis_core) is the ground floor and imports no part, the
simulated world imports no part either, and no product module takes part in an import cycle.
Imports inside functions count as much as those at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("quarantine_server", "gateway_sim", "backoffice", "endpoint", "launcher")
GROUND = ("dis_core", "simworld")  # what every part may build on; they build on no part
PACKAGES = GROUND + PARTS


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imported_names(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _resolve(imported: str, known: dict[str, Path]) -> str | None:
    while imported and imported not in known:
        imported = imported.rpartition(".")[0]
    return imported or None


def import_graph() -> dict[str, set[str]]:
    known = product_modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = {_resolve(i, known) for i in _imported_names(name, path)}
        # a package re-exporting its own submodules is not a dependency cycle
        graph[name] = {
            t
            for t in targets
            if t and t != name and not (path.name == "__init__.py" and t.startswith(name + "."))
        }
    return graph


def _strings_naming_parts(path: Path) -> list[str]:
    """String constants that could load a part by name (``importlib.import_module("x.y")``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            head = node.value.split(".")[0]
            if head in PARTS and node.value.replace(".", "").replace("_", "").isalnum():
                found.append(node.value)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_ground_floor_imports_no_part() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.split(".")[0] in GROUND
        for target in targets
        if target.split(".")[0] in PARTS
    ]
    assert upward == []


def test_the_core_names_no_part_by_string() -> None:
    named = {
        name: strings
        for name, path in product_modules().items()
        if name.split(".")[0] in GROUND and (strings := _strings_naming_parts(path))
    }
    assert named == {}


def test_the_core_does_not_depend_on_the_simulated_world() -> None:
    into_world = [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.startswith("dis_core")
        for target in targets
        if target.startswith("simworld")
    ]
    assert into_world == []


def test_no_import_cycles_among_product_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_checker_finds_a_cycle_and_an_upward_import() -> None:
    graph = {
        "dis_core.a": {"backoffice.b"},
        "backoffice.b": {"backoffice.c"},
        "backoffice.c": {"backoffice.b"},
    }
    assert cycles(graph) == [["backoffice.b", "backoffice.c"]]

"""Imports go one way: no cycle between top-level modules and packages, and kit/ stays generic.

An AST walk of src/taskmanager (no import-linter: one small check needs no dependency).
Every import counts, including those inside functions, except those under
`if TYPE_CHECKING:`: they are never executed, so they only name types for mypy (state.py
annotates the hub and the retention job it holds that way).
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "taskmanager"

# What kit/ may import besides itself: the base modules every feature builds on.
KIT_MAY_IMPORT = {"config", "db", "errors", "logs"}

Graph = dict[str, dict[str, list[str]]]  # importer -> imported -> ["module:line", ...]


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for statement in node.body:
                hidden.update(id(child) for child in ast.walk(statement))
    return hidden


def _imported_modules(
    node: ast.Import | ast.ImportFrom, parts: list[str], is_package: bool
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: resolve against the importing module's package
        package = parts if is_package else parts[:-1]
        base = package[: len(package) - node.level + 1]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    # `from taskmanager import x` imports the submodule x when there is one.
    return [module] + [f"{module}.{alias.name}" for alias in node.names]


def _top_level(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "taskmanager" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (SRC / name).is_dir() or (SRC / f"{name}.py").is_file() else None


def build_graph() -> Graph:
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted(SRC.rglob("*.py")):
        parts = _module_name(path)
        if len(parts) < 2:
            continue  # taskmanager/__init__.py: the version only
        source = parts[1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_only(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in hidden:
                continue
            targets = {
                top
                for module in _imported_modules(node, parts, path.name == "__init__.py")
                if (top := _top_level(module)) is not None and top != source
            }
            for target in targets:
                graph[source][target].append(f"{'.'.join(parts)}:{node.lineno}")
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, colouring nodes)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def describe(graph: Graph, cycle: list[str]) -> str:
    lines = [" -> ".join(cycle)]
    for source, target in itertools.pairwise(cycle):
        lines.append(f"  {source} -> {target}: {', '.join(graph[source][target])}")
    return "\n".join(lines)


def test_no_import_cycle_between_top_level_modules() -> None:
    graph = build_graph()
    assert "events" in graph["tasks"], "the walk missed imports it should see"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between top-level modules:\n" + describe(graph, cycle)


def test_kit_imports_no_feature() -> None:
    graph = build_graph()
    wrong = {
        target: where for target, where in graph["kit"].items() if target not in KIT_MAY_IMPORT
    }
    assert not wrong, "kit/ must stay generic; it imports " + "; ".join(
        f"{target} ({', '.join(where)})" for target, where in sorted(wrong.items())
    )


def test_the_check_sees_a_cycle() -> None:
    """The detector itself: a cycle through three modules is found and named with its lines."""
    graph: Graph = {
        "a": {"b": ["taskmanager.a:3"]},
        "b": {"c": ["taskmanager.b.x:7"]},
        "c": {"a": ["taskmanager.c:1"], "d": ["taskmanager.c:2"]},
        "d": {},
    }
    cycle = find_cycle(graph)
    assert cycle == ["a", "b", "c", "a"]
    assert "b -> c: taskmanager.b.x:7" in describe(graph, cycle)
    assert find_cycle({"a": {"b": ["taskmanager.a:1"]}, "b": {}}) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("if TYPE_CHECKING:\n    from taskmanager.app import x\n", set()),
        ("def f():\n    from taskmanager.app import x\n", {"app"}),
        ("from taskmanager import cli\n", {"cli"}),
    ],
)
def test_which_imports_count(source: str, expected: set[str]) -> None:
    tree = ast.parse(source)
    hidden = _type_checking_only(tree)
    found = {
        top
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in hidden
        for module in _imported_modules(node, ["taskmanager", "kit", "x"], False)
        if (top := _top_level(module)) is not None
    }
    assert found == expected

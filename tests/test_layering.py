"""The two layers of ``conformance``: the engine imports neither its pytest front nor kmw.

Each check runs in a fresh interpreter, so what another test imported cannot hide an import.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import conformance.engine

REPO = Path(__file__).resolve().parents[1]
ENGINE_MODULES = sorted(
    f"conformance.engine.{m.name}" for m in pkgutil.iter_modules(conformance.engine.__path__)
)
#: Top-level modules the engine may not load: pytest (and its internals), the front, kmw.
FORBIDDEN = ("pytest", "_pytest", "pluggy", "conformance.front", "kmw")


def loaded_after_importing(module: str) -> list[str]:
    code = (f"import importlib, json, sys; importlib.import_module({module!r}); "
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout)


def forbidden(loaded: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_the_engine_has_modules_to_check() -> None:
    assert "conformance.engine.properties" in ENGINE_MODULES
    assert "conformance.engine.model" in ENGINE_MODULES


@pytest.mark.parametrize("module", ["conformance.engine", *ENGINE_MODULES])
def test_engine_module_imports_neither_pytest_nor_the_front_nor_kmw(module: str) -> None:
    assert forbidden(loaded_after_importing(module)) == []


def test_the_check_sees_a_forbidden_import() -> None:
    # The front imports pytest: the same check must see it there.
    assert "pytest" in forbidden(loaded_after_importing("conformance.front.plugin"))


def test_no_engine_function_imports_them_later() -> None:
    """Imports inside functions (run only on some paths) count too."""
    import ast

    found = []
    for path in sorted(Path(conformance.engine.__path__[0]).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}:{node.lineno} {n}" for n in forbidden(names)]
    assert found == []


def _type_checking_imports(tree: Any) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:`` (never run)."""
    import ast

    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def import_graph(packages: tuple[str, ...] = ("kmw", "conformance")) -> dict[str, set[str]]:
    """Module -> the project modules it imports, from every import statement that can run
    (those inside functions too: a cycle through a lazy import is still a cycle; not those
    under ``if TYPE_CHECKING:``)."""
    import ast

    modules: dict[str, Path] = {}
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        typing_only = _type_checking_imports(tree)
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                deps |= {m for m in [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                         if m in modules}
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_kmw_or_conformance() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_only_for_type_checking_are_no_edges() -> None:
    import ast

    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kmw.x\n"
                     "import kmw.y\n")
    skipped = _type_checking_imports(tree)
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) and id(n) not in skipped
             for a in n.names]
    assert names == ["kmw.y"]

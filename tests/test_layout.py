"""The layout keeps its promises: the library imports nothing of the stack program or the
tooling, the stack program imports nothing of the tooling, and no module imports another that
imports it back (counting imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"app_secrets": ROOT / "components" / "app_secrets", "stack_program": ROOT / "stack_program",
            "tooling": ROOT / "tooling"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.glob("*.py"):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_the_graph_sees_first_party_imports():
    graph = import_graph()
    assert "app_secrets.policies" in graph["app_secrets.secret"]          # relative import
    assert "stack_program.program" in graph["tooling.offline"]           # import inside a function


def test_library_imports_only_itself():
    for name, targets in import_graph().items():
        if name.startswith("app_secrets"):
            assert {t.split(".")[0] for t in targets} <= {"app_secrets"}, name


def test_stack_program_does_not_import_the_tooling():
    for name, targets in import_graph().items():
        if name.startswith("stack_program"):
            assert {t.split(".")[0] for t in targets} <= {"app_secrets", "stack_program"}, name


def test_no_import_cycles():
    graph = import_graph()
    cycles = []

    def visit(node, trail):
        for nxt in graph[node]:
            if nxt in trail:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif len(trail) < 12:
                visit(nxt, trail + [nxt])

    for start in graph:
        visit(start, [start])
    assert cycles == []

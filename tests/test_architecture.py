"""The architecture, enforced: every project module parsed with `ast`, counting every import
(also those inside functions, which run later but still tie the two modules together).

- no import cycles between project modules;
- `eventlog` imports nothing of `projections`, `api` or `bench`; `projections` nothing of
  `api` or `bench`; `api` nothing of `bench` (dependencies point eventlog <- projections <-
  api; `bench` and `tests` use all three; the release tooling, `release`, may read `api` for
  the served OpenAPI document, and nothing shipped imports it);
- no shipped module (anything outside `tests/`) imports `tests`;
- the archive and the blob layer use only the log's public API (`eventlog/__init__.py`):
  log bytes are read and written by `eventlog` alone.

An edge is an import naming a project module: `from a.b import c` points at `a.b.c` when
that is a module, else at `a.b`. Importing `a.b.c` also runs the package `a.b`, but that
implicit edge is not counted: every package would be "in a cycle" with the modules its
`__init__` re-exports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("eventlog", "projections", "api", "bench", "release", "tests")
FORBIDDEN = {
    "eventlog": ("projections", "api", "bench", "release", "tests"),
    "projections": ("api", "bench", "release", "tests"),
    "api": ("bench", "release", "tests"),
    "bench": ("release", "tests"),
    "release": ("bench", "tests"),
}
"""Which top-level packages each shipped package must not import."""
PUBLIC_LOG_ONLY = ("projections.archive", "projections.blobs")
"""Packages that may import `eventlog` itself but none of its modules."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every project module by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported_names(path: Path, name: str) -> Iterator[str]:
    """The dotted names every import statement of a module reaches, relative ones resolved."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            yield from (f"{base}.{alias.name}" for alias in node.names)


def target(name: str) -> str | None:
    """The project module an imported name points at: itself, or its longest prefix that
    is a module (`from a import b` where `b` is a function); None outside the project."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports (itself excluded)."""
    edges: dict[str, frozenset[str]] = {}
    for name, path in modules().items():
        targets = {target(imported) for imported in imported_names(path, name)}
        edges[name] = frozenset(t for t in targets if t is not None and t != name)
    return edges


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_parser_sees_imports_inside_functions() -> None:
    """A deferred import counts: `api.cli.storage_commands` imports the archive only inside
    its commands."""
    assert "projections.archive.errors" in graph()["api.cli.storage_commands"]


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a"}),
        "d": frozenset({"a"}),
    }
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({**edges, "c": frozenset()}) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_dependencies_point_down() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, targets in graph().items()
        for imported in targets
        if imported.split(".")[0] in FORBIDDEN.get(module.split(".")[0], ())
    )
    assert wrong == []


def test_the_archive_uses_only_the_public_log_api() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, targets in graph().items()
        if module.startswith(PUBLIC_LOG_ONLY)
        for imported in targets
        if imported.startswith("eventlog.")
    )
    assert wrong == []

"""Print the import graph between genzoo's packages and what breaks its layering.

    python scripts/import_graph.py          # exit 1 when a layer imports upwards or a circle exists

Every import in src/genzoo counts, at module level and inside functions (read as text; nothing
is run). A unit is a subpackage (`models`) or a top-level module (`api`). The layers are the
ones docs/architecture.md draws; a unit imports its own layer or lower ones, never higher,
and the lowest two layers import nothing beside them except where `BESIDE` allows.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "genzoo"
LAYERS: list[set[str]] = [  # low to high
    {"errors", "utils"},
    {"networks", "losses", "metrics", "data"},
    {"models"},
    {"callbacks"},
    {"config", "training", "tasks", "zoo"},
    {"reporting", "api"},
    {"cli", "__init__"},
]
BESIDE = {("utils", "errors"), ("metrics", "networks")}  # allowed within the lowest layers


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imported(node: ast.AST, package: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: from .x import y
        base = package[: len(package) - node.level + 1]
        return [".".join(base + ([node.module] if node.module else []))]
    if node.module == "genzoo":
        return [f"genzoo.{alias.name}" for alias in node.names]
    return [node.module] if node.module else []


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """unit -> the other units of genzoo it imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        here = parts[:-1] if path.name == "__init__.py" else parts
        source = unit_of(".".join(here))
        for node in ast.walk(ast.parse(path.read_text())):
            for name in _imported(node, parts[:-1]):
                if name.split(".")[0] == "genzoo" and unit_of(name) != source:
                    edges[source].add(unit_of(name))
    return dict(edges)


def layer_of(unit: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if unit in layer), None)


def _circles(edges: dict[str, set[str]]) -> list[str]:
    found, done, path = [], set(), []

    def visit(unit: str) -> None:
        path.append(unit)
        for other in sorted(edges.get(unit, ())):
            if other in path:
                found.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in done:
                visit(other)
        path.pop()
        done.add(unit)

    for unit in sorted(edges):
        if unit not in done:
            visit(unit)
    return found


def problems(edges: dict[str, set[str]]) -> list[str]:
    """Each import that breaks the layering, each circle, each unit outside the layers."""
    out = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            low, high = layer_of(source), layer_of(target)
            if low is None or high is None:
                out.append(
                    f"{source} -> {target}: {source if low is None else target} has no layer"
                )
            elif high > low or (high == low <= 1 and (source, target) not in BESIDE):
                out.append(f"{source} imports {target}, a higher or sibling layer")
    return out + [f"circle: {circle}" for circle in _circles(edges)]


def main() -> int:
    edges = import_graph()
    for source in sorted(edges, key=lambda u: (layer_of(u) or 0, u)):
        print(f"{source:10s} -> {', '.join(sorted(edges[source]))}")
    found = problems(edges)
    print("\n".join(["", *found]) if found else "\nno layering problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

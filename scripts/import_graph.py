"""Measure the package's import structure: modules, floors, circles, imports running back up.

Every ``import`` statement counts, wherever it stands (top level, in a function, under
``TYPE_CHECKING``), because each is a dependency a reader has to follow. A module stands on the
floor above everything it imports; modules that import each other in a loop form a circle, and
an import inside a circle runs back up. ``--packages`` measures the graph of subpackages instead.

    python scripts/import_graph.py            # figures, circles and the back-up imports
    python scripts/import_graph.py --packages # the same for subpackages
    python scripts/import_graph.py --check    # exit 1 on a circle, an import of a higher
                                              # layer, or more than MAX_FLOORS subpackage floors
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "orchestrator"
MAX_FLOORS = 14
LAYERS = [
    ["errors", "_version", "issues", "sizes", "terminal_text"],
    ["files", "container_files", "verdict", "_compat", "runner_packages"],
    ["data", "aws"],
    ["pipeline"],
    ["engines"],
    ["run"],
    ["scripttest"],
    ["dataflow"],
    ["report"],
    ["suite", "testing"],
    ["__init__"],
    ["cli", "__main__"],
]
"""The order of the package's parts, bottom up: a part imports only from its own layer's
other parts' modules or from layers below (the root ``__init__`` hands on names from all)."""


@dataclass(frozen=True)
class Figures:
    modules: int
    imports: int
    floors: int
    circles: list[list[str]]
    back_up: list[tuple[str, str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, name taken from it or None) for every import statement of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, is_package, node)
            for alias in node.names:
                yield target, alias.name


def owner(module: str, modules: dict[str, Path]) -> str:
    while module and module not in modules:
        module = module.rpartition(".")[0]
    return module


def faces(modules: dict[str, Path]) -> dict[tuple[str, str], str]:
    """(package, name) -> the module a package's ``__init__`` takes that name from."""
    found: dict[tuple[str, str], str] = {}
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        for target, taken in imports_of(name, path):
            if taken is not None and target.startswith(PACKAGE):
                source = f"{target}.{taken}" if f"{target}.{taken}" in modules else target
                found[(name, taken)] = owner(source, modules)
    return found


def imported(
    name: str, path: Path, modules: dict[str, Path], face: dict[tuple[str, str], str]
) -> Iterator[str]:
    """The package's modules that one module imports: a name a package face hands on counts
    as an import of the module that defines it."""
    for target, taken in imports_of(name, path):
        if taken is not None and f"{target}.{taken}" in modules:
            target = f"{target}.{taken}"
        elif taken is not None and (target, taken) in face and target != name:
            target = face[(target, taken)]
        target = owner(target, modules)
        if target.startswith(PACKAGE) and target != name:
            yield target


def import_graph(packages: bool) -> dict[str, set[str]]:
    modules = package_modules()
    face = faces(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        source = group(name) if packages else name
        graph.setdefault(source, set())
        for target in imported(name, path, modules, face):
            target = group(target) if packages else target
            if target != source:
                graph[source].add(target)
    return graph


def group(module: str) -> str:
    """A module's subpackage (or the module itself at the package root)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def floors(graph: dict[str, set[str]], rings: list[list[str]]) -> int:
    """Floors of the graph with each circle taken as one room."""
    room = {member: ring[0] for ring in rings for member in ring}
    condensed: dict[str, set[str]] = {}
    for source, targets in graph.items():
        here = room.get(source, source)
        condensed.setdefault(here, set())
        condensed[here] |= {room.get(t, t) for t in targets} - {here}
    height: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in height:
            height[node] = 1 + max((floor(t) for t in condensed[node]), default=0)
        return height[node]

    return max((floor(node) for node in condensed), default=0)


def layer_of(module: str) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    raise KeyError(f"{module} is on no layer of LAYERS")


def imports_up() -> list[tuple[str, str]]:
    """Imports from a module to a module of a higher layer."""
    graph = import_graph(packages=False)
    return sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(source)
    )


def measure(packages: bool = False) -> Figures:
    graph = import_graph(packages)
    rings = circles(graph)
    ring_of = {member: i for i, ring in enumerate(rings) for member in ring}
    back_up = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if source in ring_of and ring_of[source] == ring_of.get(target)
    )
    return Figures(
        modules=len(graph),
        imports=sum(len(targets) for targets in graph.values()),
        floors=floors(graph, rings),
        circles=rings,
        back_up=back_up,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", action="store_true", help="measure subpackages, not modules")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is exceeded")
    args = parser.parse_args()
    figures = measure(args.packages)
    print(
        f"{figures.modules} {'packages' if args.packages else 'modules'}, "
        f"{figures.imports} imports, {figures.floors} floors, "
        f"{len(figures.circles)} circles, {len(figures.back_up)} imports inside circles"
    )
    for ring in figures.circles:
        print("circle:", " -> ".join(ring))
    upward = imports_up()
    for source, target in upward:
        print("imports a higher layer:", source, "->", target)
    failed = bool(figures.circles) or bool(upward)
    if args.packages:
        failed = failed or figures.floors > MAX_FLOORS
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

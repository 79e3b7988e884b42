"""Graph questions about a pipeline: edges, order, cycles, descendants."""

from __future__ import annotations

from collections.abc import Mapping

from .pipeline import Step


def edges(steps: Mapping[str, Step]) -> list[tuple[str, str]]:
    """Every (upstream, downstream) pair, in step order."""
    return [(up, step.name) for step in steps.values() for up in step.upstream]


def find_cycle(steps: Mapping[str, Step]) -> list[str] | None:
    """The steps of one cycle, first step repeated at the end, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for up in steps[name].upstream:
            if up not in steps:
                continue
            if state.get(up) == 1:
                return [*path[path.index(up) :], up]
            if up not in state and (cycle := visit(up)):
                return cycle
        state[name] = 2
        path.pop()
        return None

    for name in steps:
        if name not in state and (cycle := visit(name)):
            return list(reversed(cycle))
    return None


def topological_order(steps: Mapping[str, Step]) -> list[str]:
    """Steps ordered so each comes after everything it depends on; ties keep definition order."""
    remaining = {name: set(step.upstream) & set(steps) for name, step in steps.items()}
    order: list[str] = []
    while remaining:
        ready = [name for name, ups in remaining.items() if not ups]
        if not ready:
            raise ValueError("cycle")
        for name in ready:
            order.append(name)
            del remaining[name]
        for ups in remaining.values():
            ups.difference_update(ready)
    return order


def descendants(steps: Mapping[str, Step], name: str) -> set[str]:
    """Every step that directly or indirectly consumes ``name``."""
    children: dict[str, list[str]] = {n: [] for n in steps}
    for up, down in edges(steps):
        children.setdefault(up, []).append(down)
    found: set[str] = set()
    stack = list(children.get(name, []))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found

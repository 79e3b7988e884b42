"""Graph questions about a pipeline: edges, order, cycles, descendants."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from .model import Step


def edges(steps: Mapping[str, Step]) -> list[tuple[str, str]]:
    """Every (upstream, downstream) pair, in step order."""
    return [(up, step.name) for step in steps.values() for up in step.upstream]


def find_cycle(steps: Mapping[str, Step]) -> list[str] | None:
    """The steps of one cycle, first step repeated at the end, or None."""
    done: set[str] = set()
    for name in steps:
        if name not in done and (cycle := _cycle_upstream_of(name, steps, done)):
            return list(reversed(cycle))
    return None


def _cycle_upstream_of(root: str, steps: Mapping[str, Step], done: set[str]) -> list[str] | None:
    """Depth-first walk upstream from ``root`` with an explicit stack, so long chains fit."""
    path = [root]
    on_path = {root}
    pending = [_known_upstream(root, steps)]
    while pending:
        up = next(pending[-1], None)
        if up is None:
            done.add(path[-1])
            on_path.discard(path.pop())
            pending.pop()
        elif up in on_path:
            return [*path[path.index(up) :], up]
        elif up not in done:
            path.append(up)
            on_path.add(up)
            pending.append(_known_upstream(up, steps))
    return None


def _known_upstream(name: str, steps: Mapping[str, Step]) -> Iterator[str]:
    return (up for up in steps[name].upstream if up in steps)


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


def ancestors(steps: Mapping[str, Step], names: Iterable[str]) -> set[str]:
    """Every step that ``names`` directly or indirectly read from, ``names`` not included."""
    found: set[str] = set()
    stack = [up for name in names for up in steps[name].upstream]
    while stack:
        current = stack.pop()
        if current not in found and current in steps:
            found.add(current)
            stack.extend(steps[current].upstream)
    return found

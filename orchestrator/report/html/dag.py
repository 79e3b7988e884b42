"""The DAG of a pipeline run as inline SVG: a box a step, coloured by its status and linked to
its section, laid out in columns by depth, with an arrow from each upstream step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...dataflow.edges import EdgeResult
from ...run.results import StepResult
from .text import STATUS_TONE, cut, duration, esc, open_tag

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 168, 48, 56, 20, 16
NAME_CHARS = 22
SUB_CHARS = 30
"""What fits under a step's name in its box."""


def dag_levels(steps: Sequence[StepResult]) -> dict[str, int]:
    """Each step's depth: 0 without upstream steps, else one more than its deepest upstream
    step (a cycle, which a run cannot have, is cut where it closes)."""
    upstream = {s.name: list(s.upstream) for s in steps}
    levels: dict[str, int] = {}

    def level(name: str, seen: frozenset[str]) -> int:
        if name not in levels:
            parents = [u for u in upstream[name] if u in upstream and u not in seen]
            inner = seen | {name}
            levels[name] = 1 + max((level(u, inner) for u in parents), default=-1)
        return levels[name]

    for step in steps:
        level(step.name, frozenset())
    return levels


def _layout(steps: Sequence[StepResult]) -> dict[str, tuple[int, int]]:
    """(column, row) of each step: columns by depth, rows ordered by their upstream rows."""
    levels = dag_levels(steps)
    order = {s.name: i for i, s in enumerate(steps)}
    upstream = {s.name: s.upstream for s in steps}
    place: dict[str, tuple[int, int]] = {}
    for column in range(max(levels.values(), default=-1) + 1):
        names = [s.name for s in steps if levels[s.name] == column and s.name not in place]

        def key(name: str) -> tuple[float, int]:
            rows = [place[u][1] for u in upstream[name] if u in place]
            return (sum(rows) / len(rows) if rows else -1.0, order[name])

        for row, name in enumerate(sorted(names, key=key)):
            place[name] = (column, row)
    return place


def dag_svg(
    steps: Sequence[StepResult],
    edges: Sequence[EdgeResult],
    anchors: Mapping[tuple[str, str], str],
    prefix: str,
) -> str:
    """The steps as boxes coloured by status, laid out by depth, with arrows from each upstream
    step; each box links to the step's section."""
    place = _layout(steps)
    columns = 1 + max(c for c, _ in place.values())
    rows = 1 + max(r for _, r in place.values())
    width = 2 * PAD + columns * BOX_W + (columns - 1) * GAP_X
    height = 2 * PAD + rows * BOX_H + (rows - 1) * GAP_Y
    broken = {(e.producer, e.consumer) for e in edges if any(i.is_error for i in e.issues)}
    marker = f"{prefix}-arrow"
    arrows = "".join(
        _arrow(place[u], place[s.name], marker, (u, s.name) in broken)
        for s in steps
        for u in dict.fromkeys(s.upstream)
        if u in place
    )
    boxes = "".join(_box(s, place[s.name], anchors.get(("step", s.name))) for s in steps)
    return (
        f'<figure class="dag"><svg class="dag-svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'style="min-width:{min(width, 320)}px" aria-label="pipeline steps by status">'
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'class="arrow-head"/></marker></defs>{arrows}{boxes}</svg>'
        f"<figcaption>{_legend()}</figcaption></figure>\n"
    )


def _corner(cell: tuple[int, int]) -> tuple[int, int]:
    return PAD + cell[0] * (BOX_W + GAP_X), PAD + cell[1] * (BOX_H + GAP_Y)


def _arrow(start: tuple[int, int], end: tuple[int, int], marker: str, broken: bool) -> str:
    """A curve from the right of one box to the left of another; one that skips columns runs
    in the gap above the boxes instead of through the boxes between."""
    (left, top1), (right, top2) = _corner(start), _corner(end)
    x1, y1, x2, y2 = left + BOX_W, top1 + BOX_H // 2, right - 2, top2 + BOX_H // 2
    half = GAP_X // 2
    if end[0] - start[0] <= 1:
        bend = max(half, (x2 - x1) // 2)
        path = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    else:
        lane = min(top1, top2) - GAP_Y // 2
        path = (
            f"M{x1},{y1} C{x1 + half},{y1} {x1 + half},{lane} {x1 + GAP_X},{lane} "
            f"L{x2 - GAP_X},{lane} C{x2 - half},{lane} {x2 - half},{y2} {x2},{y2}"
        )
    return (
        f'<path class="dag-edge{" broken" if broken else ""}" d="{path}" '
        f'marker-end="url(#{marker})"/>'
    )


def _box(step: StepResult, cell: tuple[int, int], anchor: str | None) -> str:
    x, y = _corner(cell)
    tone = STATUS_TONE[step.status]
    sub = ["cached" if step.cached_from else step.status.value]
    if step.condition is not None:
        sub = [f"{'true' if step.condition.met else 'false'} → {step.condition.branch}"]
    if step.exit_code not in (None, 0):
        sub.append(f"exit {step.exit_code}")
    if step.duration_seconds is not None and len(" · ".join(sub)) < SUB_CHARS - 10:
        sub.append(duration(step.duration_seconds))
    tip = f"{step.name}: {', '.join(sub)}" + (f" ({step.reason})" if step.reason else "")
    group = open_tag(
        "g",
        class_=f"dag-node status-{step.status.value} tone-{tone}",
        data_step=step.name,
        data_kind=step.kind,
    )
    # A condition runs no container: drawn as a pill, its text set in from the round ends.
    round_end, inset = (BOX_H // 2, 18) if step.kind == "condition" else (7, 10)
    box = (
        f"{group}<title>{esc(tip)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="{round_end}"/>'
        f'<text class="name" x="{x + inset}" y="{y + 20}">'
        f"{esc(cut(step.name, NAME_CHARS))}</text>"
        f'<text class="sub" x="{x + inset}" y="{y + 38}">{esc(" · ".join(sub))}</text></g>'
    )
    return f'<a href="#{esc(anchor)}">{box}</a>' if anchor else box


def _legend() -> str:
    shown = [
        ("succeeded", "ok"),
        ("failed", "bad"),
        ("skipped", "skip"),
        ("interrupted", "warn"),
        ("pending", "pend"),
    ]
    return " ".join(f'<span class="key tone-{tone}">{name}</span>' for name, tone in shown)

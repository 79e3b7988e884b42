"""Container limits from instance settings, and graph questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.pipeline.graph import descendants, find_cycle, topological_order
from orchestrator.pipeline.model import Instance, build_step
from orchestrator.pipeline.resources import GIB, limits, parse_memory


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512m", 512 * 2**20), ("2g", 2 * GIB), ("1.5GiB", int(1.5 * GIB)), ("1024", 1024)],
)
def test_parse_memory(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


def test_limits_from_instance_type_bounded_by_machine() -> None:
    assert limits(Instance(type="ml.m5.xlarge"), 2, 64 * GIB) == (2.0, 16 * GIB)
    assert limits(Instance(type="ml.m5.large"), 8, 4 * GIB) == (2.0, 4 * GIB)


def test_explicit_limits_win_and_unknown_types_are_unlimited() -> None:
    assert limits(Instance(type="ml.m5.large", cpus=0.5, memory="256m"), 2, GIB) == (
        0.5,
        256 * 2**20,
    )
    assert limits(Instance(type="ml.x99.large"), 2, GIB) == (None, None)


def steps(tmp_path: Path, edges: dict[str, list[str]]) -> dict[str, object]:
    script = tmp_path / "s.py"
    script.write_text("")
    return {
        name: build_step(name, "processing", {"script": str(script), "depends_on": ups}, tmp_path)
        for name, ups in edges.items()
    }


def test_order_cycle_descendants(tmp_path: Path) -> None:
    dag = steps(tmp_path, {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []})
    assert topological_order(dag) == ["a", "e", "b", "c", "d"]  # type: ignore[arg-type]
    assert find_cycle(dag) is None  # type: ignore[arg-type]
    assert descendants(dag, "b") == {"d"}  # type: ignore[arg-type]
    assert descendants(dag, "a") == {"b", "c", "d"}  # type: ignore[arg-type]
    cyclic = steps(tmp_path, {"a": ["c"], "b": ["a"], "c": ["b"], "x": []})
    cycle = find_cycle(cyclic)  # type: ignore[arg-type]
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}

"""The package's import structure, measured by scripts/import_graph.py: no circles, no import of
a higher layer, and few floors of subpackages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_graph.py"


@pytest.fixture(scope="module")
def graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


def test_no_module_imports_another_in_a_circle(graph: ModuleType) -> None:
    assert graph.measure().circles == []


def test_no_module_imports_a_higher_layer(graph: ModuleType) -> None:
    assert graph.imports_up() == []


def test_the_subpackages_stand_on_few_floors(graph: ModuleType) -> None:
    figures = graph.measure(packages=True)
    assert figures.circles == []
    assert figures.floors <= graph.MAX_FLOORS


def test_the_measure_sees_a_circle(graph: ModuleType) -> None:
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert graph.circles(ring) == [["a", "b", "c"]]
    assert graph.floors(ring, graph.circles(ring)) == 2


def test_every_module_is_on_a_layer(graph: ModuleType) -> None:
    for module in graph.import_graph(packages=False):
        graph.layer_of(module)

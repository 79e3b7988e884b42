"""The package root: every public name resolves, and importing it loads no heavy module."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import orchestrator


@pytest.mark.parametrize("name", sorted(orchestrator._EXPORTS))
def test_every_public_name_resolves_to_what_its_module_defines(name: str) -> None:
    module = importlib.import_module(f"orchestrator.{orchestrator._EXPORTS[name]}")
    value = getattr(orchestrator, name)
    assert value is getattr(module, name)
    # Defined there, not only imported there (a constant has no module of its own).
    assert getattr(value, "__module__", module.__name__) == module.__name__


def test_public_names_are_the_lazy_exports() -> None:
    assert set(orchestrator.__all__) == {*orchestrator._EXPORTS, "__version__"}


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = orchestrator.no_such_name  # type: ignore[attr-defined]


def test_a_pipeline_file_import_loads_neither_docker_nor_pyarrow() -> None:
    code = (
        "import sys; from orchestrator import Pipeline; "
        "print(sorted(m for m in ('docker', 'pyarrow', 'orchestrator.dataflow.contract_check') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

"""The package root and the subpackage faces: every public name resolves, the root API stays
small and is what the docs import, the 0.1 names and module paths still work and warn, and
importing the root loads no heavy module."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import orchestrator
from orchestrator import _compat

REPO = Path(__file__).resolve().parents[2]
FACES = sorted(
    ".".join(init.parent.relative_to(REPO).parts)
    for init in (REPO / "orchestrator").glob("*/**/__init__.pyi")
)


def test_the_root_api_is_about_twenty_names() -> None:
    assert 18 <= len(orchestrator.__all__) <= 24, orchestrator.__all__
    assert len(set(orchestrator.__all__)) == len(orchestrator.__all__)


@pytest.mark.parametrize("name", sorted(orchestrator.__all__))
def test_every_public_name_resolves(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(orchestrator, name) is not None


@pytest.mark.parametrize("face", FACES)
def test_every_subpackage_names_public_types_that_resolve(face: str) -> None:
    package = importlib.import_module(face)
    assert package.__doc__, f"{face} has no docstring saying what it holds"
    assert package.__all__, face
    for name in package.__all__:
        value = getattr(package, name)
        defined_in = getattr(value, "__module__", None)
        assert defined_in is None or defined_in.startswith(face), (face, name, defined_in)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = orchestrator.no_such_name  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(_compat.MOVED_NAMES))
def test_a_0_1_root_name_still_works_and_says_where_it_moved(name: str) -> None:
    where = _compat.MOVED_NAMES[name]
    code = (
        "import warnings; warnings.simplefilter('error'); "
        f"from orchestrator import {name}"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "DeprecationWarning" in result.stderr and where in result.stderr, result.stderr
    with pytest.warns(DeprecationWarning):
        value = orchestrator.__getattr__(name)
    assert value is getattr(importlib.import_module(where), name)


@pytest.mark.parametrize("old", sorted(_compat.MOVED_MODULES))
def test_a_0_1_module_path_still_works_and_says_where_it_moved(old: str) -> None:
    new = _compat.MOVED_MODULES[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    public = [n for n in vars(target) if not n.startswith("_")]
    assert public and all(getattr(module, n) is getattr(target, n) for n in public)


def test_the_pytest_plugin_is_registered_at_its_new_path() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'cit = "orchestrator.testing.pytest_plugin"' in text
    importlib.import_module("orchestrator.testing.pytest_plugin")


IMPORT = re.compile(r"^\s*from (orchestrator[\w.]*) import (\([^)]*\)|[^\n]+)", re.M)


def _doc_imports() -> list[tuple[str, str]]:
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in IMPORT.finditer(text):
            written = match.group(2).strip("()").replace("\n", ",")
            names = [n.split("#")[0].strip() for n in written.split(",")]
            found += [(f"{doc.name}: from {match.group(1)}", n) for n in names if n]
    return found


def test_the_docs_import_only_public_names_from_the_root() -> None:
    imports = _doc_imports()
    assert imports, "the docs show no Python import"
    wrong = [
        f"{where} import {name}"
        for where, name in imports
        if not where.endswith("from orchestrator") or name not in orchestrator.__all__
    ]
    assert not wrong, wrong


def test_a_pipeline_file_import_loads_neither_docker_nor_pyarrow() -> None:
    code = (
        "import sys; from orchestrator import Pipeline; "
        "print(sorted(m for m in ('docker', 'pyarrow', 'orchestrator.dataflow.contract_check') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_distribution_is_cit_sagemaker_with_the_cit_command() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "cit-sagemaker"  # 'cit' on PyPI is another package
    assert project["scripts"] == {"cit": "orchestrator.cli:main"}
    assert "pip install -e" in (REPO / "README.md").read_text(encoding="utf-8")


def test_0_1_run_pipeline_from_the_workflow_module_still_only_executes() -> None:
    from orchestrator.run.pipeline_run import execute_pipeline

    sys.modules.pop("orchestrator.workflow", None)
    with pytest.warns(DeprecationWarning):
        workflow = importlib.import_module("orchestrator.workflow")
    assert workflow.run_pipeline is execute_pipeline


def test_cit_help_loads_no_data_model_engine_or_report_code() -> None:
    heavy = ("pydantic", "docker", "pyarrow", "boto3", "orchestrator.run.pipeline_run")
    code = (
        "import sys; from typer.testing import CliRunner; from orchestrator.cli.app import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

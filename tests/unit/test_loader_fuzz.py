"""Every file cit reads, fed generated documents: valid ones bent at random places (odd
scalars, control characters, huge numbers, deep nesting, aliases) and hostile text (alias
bombs, thousands of brackets). Each outcome must be success or cit's input error: exit code 2
and one line that names the file. Never another exception.

The example count is modest so the unit suite stays quick; ``CIT_FUZZ_EXAMPLES=2000`` runs a
longer search (with a random seed instead of the fixed one)."""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.data.contracts import load_contract
from orchestrator.data.schemas import load_schema
from orchestrator.data.snapshots import load_snapshot, snapshot_file
from orchestrator.data.synthetic import check_spec, generate_table
from orchestrator.errors import CitError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.scripttest.cases import load_test_cases
from orchestrator.scripttest.runner import check_cases
from orchestrator.suite.config import load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"
EXAMPLES = int(os.environ.get("CIT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize="CIT_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
runner = CliRunner()

# --- what is generated ------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "A=B",
    "a\nb",
    "nul\x00byte",
    "\x1b[31mred",
    "tab\there",
    "../../etc",
    "/dev/zero",
    "s3://",
    "s3://bucket/key",
    "~nosuchuser/x",
    "-1",
    "1e400",
    "é" * 300,
    "{{ template }}",
    "*",
]
ODD_NUMBERS = [0, -1, 2**63, 2**64, -(2**63) - 1, 10**40, 10**12, 1e308, float("inf")]

odd_text = st.sampled_from(ODD_TEXT)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
    odd_text,  # twice: the text cit's messages quote is where one-line messages break
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
keys = st.one_of(st.sampled_from(["name", "kind", "step", "output", "path", "type"]), scalars)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(keys.filter(lambda k: not isinstance(k, float)), inner, max_size=3)
    ),
    max_leaves=8,
)


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


odd_values = st.one_of(values, st.builds(nested, st.integers(min_value=30, max_value=200), scalars))


def alias_bomb(levels: int, width: int) -> str:
    """YAML of a few hundred bytes whose last anchor stands for width**levels values."""
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + f"\nbomb: *l{levels - 1}\n"


hostile_text = st.one_of(
    st.builds(lambda n: "[" * n, st.integers(min_value=60, max_value=20000)),
    st.builds(lambda n: "{a: " * n + "1" + "}" * n, st.integers(min_value=60, max_value=3000)),
    st.builds(lambda n: "- " * n + "x\n", st.integers(min_value=60, max_value=3000)),
    st.builds(alias_bomb, st.integers(min_value=2, max_value=9), st.integers(2, 12)),
    st.just("a: &a [*a]\n"),
    st.just("a: !!python/object/apply:os.system ['true']\n"),
    st.just("a: !!binary '%%%'\n"),
    st.just("a: 2001-02-30\n"),
    st.just("a: " + "9" * 5000 + "\n"),
    st.just("\x00\x01"),
    st.just("a: 1\na: 2\n"),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


def paths_in(document: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``document`` a value can be put (keys of mappings, list indexes)."""
    found = [at]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_in(value, (*at, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_in(value, (*at, index))
    return found


@st.composite
def bent(draw: st.DrawFn, template: Any) -> Any:
    """``template`` with up to three places replaced, removed, or given an unknown key."""
    document = copy.deepcopy(template)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths_in(document)[1:]  # the whole document is replaced by hostile_text
        if not places:
            return document
        place = draw(st.sampled_from(places))
        parent = document
        for part in place[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "rename", "remove", "add"]))
        if action == "replace":
            parent[place[-1]] = draw(odd_values)
        elif action == "remove":
            del parent[place[-1]]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.one_of(odd_text, keys))] = parent.pop(place[-1])
        elif isinstance(parent, dict):
            parent[draw(keys.filter(lambda k: not isinstance(k, float)))] = draw(odd_values)
    return document


def as_yaml(document: Any) -> str:
    try:
        return yaml.safe_dump(document, allow_unicode=False, sort_keys=False)
    except (yaml.YAMLError, RecursionError):
        return json.dumps(document, default=str)


def as_json(document: Any) -> str:
    try:
        return json.dumps(document)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(str(document))


# --- the files --------------------------------------------------------------------------------

PIPELINE = {
    "name": "fuzzed",
    "steps": {
        "prep": {
            "kind": "processing",
            "script": "s.py",
            "inputs": {"raw": "data.csv"},
            "outputs": ["out"],
            "env": {"LABEL": "label"},
            "arguments": ["--ratio", 0.2],
            "timeout_seconds": 60,
            "instance": {"cpus": 1, "memory": "1g"},
            "contract": "contract.yaml",
        },
        "train": {
            "kind": "training",
            "script": "s.py",
            "inputs": {"train": {"step": "prep", "output": "out", "path": "train"}},
            "hyperparameters": {"depth": 3},
            "image": "cit-runner:0.1.0",
        },
    },
    "expectations": {"train": {"outputs": ["model/*"], "metrics": {"auc": ">= 0.5"}}},
}
CONTRACT = {
    "entry_point": "s.py",
    "expected_input_paths": {"raw": "/opt/ml/processing/input/raw"},
    "expected_output_paths": {"out": "/opt/ml/processing/output/out"},
    "required_env_vars": ["LABEL"],
    "expected_arguments": {"ratio": "0.2"},
    "input_schemas": {"raw": "schema.yaml"},
}
SCHEMA = {
    "format": "csv",
    "columns": {
        "a": {"type": "integer", "min": 0, "max": 10, "allowed": [1, 2], "weights": [1, 3]},
        "b": {"type": "string", "null_ratio": 0.1},
    },
    "min_rows": 1,
}
CASES = {
    "test_cases": [
        {
            "name": "c1",
            "input_data": {"raw": "data.csv"},
            "environment_vars": {"LABEL": 1},
            "arguments": ["--ratio", "0.1"],
            "expected_outputs": ["out/*"],
            "expected_metrics": {"auc": ">= 0.5"},
            "expected_behavior": {"should_complete": True, "max_execution_time_seconds": 10},
            "data_quality_assertions": ["no_missing_values", {"row_count": {"min": 1}}],
            "expected_schema": "schema.yaml",
        },
        {"name": "c2", "input_data": {"raw": {"synthetic": {"schema": "schema.yaml", "rows": 5}}}},
    ]
}
CONFIG = {
    "test_scenarios": [{"name": "s", "dag_file": "pipeline.yaml", "timeout_minutes": 5}],
    "data_quality_checks": [{"check_type": "missing_value_detection", "max_missing_ratio": 0.1}],
    "execution": {"parallel_execution": True, "max_workers": 2},
    "s3_integration": {"retry_attempts": 3},
}
SNAPSHOT = {
    "step": "prep",
    "output": "out",
    "datasets": [{"path": "", "format": "csv", "columns": [{"name": "a", "type": "int64"}]}],
}
DEFINITION = json.loads((FIXTURES / "subpath.definition.json").read_text())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project the fuzzed files refer to: a script, data, a contract and a schema."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(FIXTURES / "scripts", root / "scripts")
    for name in ("prep.py", "train.py", "evaluate.py"):
        if (root / "scripts" / name).exists():
            shutil.copy(root / "scripts" / name, root / name)
    (root / "s.py").write_text("print('hello')\n")
    (root / "data.csv").write_text("a,b\n1,x\n")
    (root / "contract.yaml").write_text(as_yaml(CONTRACT))
    (root / "schema.yaml").write_text(as_yaml(SCHEMA))
    (root / "pipeline.yaml").write_text(as_yaml(PIPELINE))
    return root


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def refused_properly(error: CitError, path: Path) -> None:
    """cit's input error: exit code 2, one line, naming the file."""
    text = str(error)
    assert error.exit_code == 2
    assert "\n" not in text and "\r" not in text, text
    assert str(path) in text, text


def loads_or_refuses(path: Path, load: Callable[[], Any]) -> None:
    try:
        load()
    except CitError as error:
        refused_properly(error, path)


# --- each loader: write the text where it reads it, read it ----------------------------------


def pipeline_via_cli(folder: Path, text: str) -> None:
    """The pipeline through ``cit validate-contracts``: exit code 2 means one line naming it."""
    path = write(folder, "fuzzed.yaml", text)
    result = runner.invoke(app, ["validate-contracts", "--dag", str(path)])
    if not isinstance(result.exception, SystemExit | None):
        raise AssertionError(f"{type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert str(path) in lines[0], result.output
    assert not (folder / ".cit").exists()


def definition(folder: Path, text: str) -> None:
    path = write(folder / "scripts", "fuzzed.definition.json", text)
    loads_or_refuses(path, lambda: load_pipeline(path))


def case_file(folder: Path, text: str) -> None:
    path = write(folder, "cases.yaml", text)
    step = load_pipeline(folder / "pipeline.yaml").steps["prep"]
    loads_or_refuses(
        path, lambda: check_cases(step, load_test_cases(path).test_cases, folder / "registry")
    )


def contract(folder: Path, text: str) -> None:
    path = write(folder, "fuzzed-contract.yaml", text)
    loads_or_refuses(path, lambda: load_contract(path))


def schema_and_data(folder: Path, text: str) -> None:
    path = write(folder, "fuzzed-schema.yaml", text)

    def load_and_generate() -> None:
        schema = load_schema(path)
        try:
            check_spec(schema, 7, "csv")
        except ValueError:  # its way to say "not these rows": callers name the field
            return
        generate_table(schema, 7, seed=1)

    loads_or_refuses(path, load_and_generate)


def configuration(folder: Path, text: str) -> None:
    path = write(folder, "config.yaml", text)
    loads_or_refuses(path, lambda: load_config(path))


def snapshot(folder: Path, text: str) -> None:
    pipeline_file = folder / "pipeline.yaml"
    path = snapshot_file(pipeline_file, "prep", "out")
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path.parent, path.name, text)
    loads_or_refuses(path, lambda: load_snapshot(pipeline_file, "prep", "out"))


LOADERS: dict[str, Callable[[Path, str], None]] = {
    "pipeline": pipeline_via_cli,
    "definition": definition,
    "test cases": case_file,
    "contract": contract,
    "schema": schema_and_data,
    "configuration": configuration,
    "snapshot": snapshot,
}


# --- the properties ---------------------------------------------------------------------------


@FUZZ
@given(loader=st.sampled_from(list(LOADERS)), text=hostile_text)
def test_hostile_text_is_refused_in_one_line_by_every_loader(
    folder: Path, loader: str, text: str
) -> None:
    LOADERS[loader](folder, text)


@FUZZ
@given(text=bent(PIPELINE).map(as_yaml))
def test_a_bent_pipeline_is_checked_or_refused_in_one_line(folder: Path, text: str) -> None:
    pipeline_via_cli(folder, text)


@FUZZ
@given(text=bent(DEFINITION).map(as_json))
def test_a_bent_sagemaker_definition_is_loaded_or_refused(folder: Path, text: str) -> None:
    definition(folder, text)


@FUZZ
@given(text=bent(CASES).map(as_yaml))
def test_a_bent_test_case_file_is_loaded_or_refused(folder: Path, text: str) -> None:
    case_file(folder, text)


@FUZZ
@given(text=bent(CONTRACT).map(as_yaml))
def test_a_bent_contract_is_loaded_or_refused(folder: Path, text: str) -> None:
    contract(folder, text)


@FUZZ
@given(text=bent(SCHEMA).map(as_yaml))
def test_a_bent_schema_is_loaded_or_refused_and_generates(folder: Path, text: str) -> None:
    schema_and_data(folder, text)


@FUZZ
@given(text=bent(CONFIG).map(as_yaml))
def test_a_bent_test_all_configuration_is_loaded_or_refused(folder: Path, text: str) -> None:
    configuration(folder, text)


@FUZZ
@given(text=bent(SNAPSHOT).map(as_json))
def test_a_bent_snapshot_is_loaded_or_refused(folder: Path, text: str) -> None:
    snapshot(folder, text)

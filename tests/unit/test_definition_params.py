"""--param and --code-dir: a SageMaker pipeline definition's parameters set and its code found
elsewhere, through the loader, ``run_pipeline`` and every command that takes --dag."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, run_pipeline
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.errors import InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import LocalSource, S3Source
from orchestrator.pipeline.sagemaker_definition import DefinitionOptions, definition_options
from orchestrator.run.settings import RUNNER_IMAGE
from tests.unit.test_sagemaker_definition import SKLEARN_IMAGE

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sagemaker"
TABULAR = ROOT / "examples" / "tabular"
TABULAR_JSON = FIXTURES / "tabular.definition.json"
SUBPATH_JSON = FIXTURES / "subpath.definition.json"
runner = CliRunner()


def with_parameters(folder: Path, *, copy_scripts: bool = True) -> Path:
    """subpath.definition.json with parameters of each type feeding Prep's argument, env
    and instance type; one of them has no default."""
    data: dict[str, Any] = json.loads(SUBPATH_JSON.read_text())
    data["Parameters"] += [
        {"Name": "Split", "Type": "Float", "DefaultValue": 0.2},
        {"Name": "Seed", "Type": "Integer", "DefaultValue": 1},
        {"Name": "Shuffle", "Type": "Boolean", "DefaultValue": False},
        {"Name": "Instance", "Type": "String"},
    ]
    prep = data["Steps"][0]["Arguments"]
    prep["AppSpecification"]["ContainerArguments"] = [
        "--split", {"Get": "Parameters.Split"}, "--seed", {"Get": "Parameters.Seed"}
    ]  # fmt: skip
    prep["Environment"] = {"SHUFFLE": {"Get": "Parameters.Shuffle"}}
    prep["ProcessingResources"]["ClusterConfig"]["InstanceType"] = {"Get": "Parameters.Instance"}
    if copy_scripts:
        shutil.copytree(FIXTURES / "scripts", folder / "scripts")
    path = folder / "p.definition.json"
    path.write_text(json.dumps(data))
    return path


def load(path: Path, *params: str, code_dir: Path | None = None) -> Any:
    return load_pipeline(path, definition=definition_options(list(params), code_dir))


def error_of(path: Path, *params: str, code_dir: Path | None = None) -> str:
    with pytest.raises(InputError) as caught:
        load(path, *params, code_dir=code_dir)
    return str(caught.value)


GIVEN = ("Instance=ml.c5.xlarge",)


# --- parameters --------------------------------------------------------------------------------


def test_params_override_defaults_and_reach_the_step(tmp_path: Path) -> None:
    path = with_parameters(tmp_path)
    prep = load(
        path, *GIVEN, "Split=0.35", "Seed=7", "Shuffle=TRUE", "InputData=s3://other-bucket/in"
    ).steps["Prep"]
    assert prep.inputs["data"].source == S3Source(uri="s3://other-bucket/in")
    assert prep.arguments == ["--split", "0.35", "--seed", "7"]
    assert prep.env == {"SHUFFLE": "true"}  # as SageMaker renders a Boolean parameter
    assert prep.instance.type == "ml.c5.xlarge"


def test_defaults_are_kept_for_parameters_not_given(tmp_path: Path) -> None:
    prep = load(with_parameters(tmp_path), *GIVEN).steps["Prep"]
    assert prep.inputs["data"].source == S3Source(uri="s3://cit-bucket/raw")
    assert prep.arguments == ["--split", "0.2", "--seed", "1"]


def test_a_local_path_given_for_an_input_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = with_parameters(tmp_path)
    elsewhere = tmp_path / "work"
    (elsewhere / "raw").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    prep = load(path, *GIVEN, "InputData=raw").steps["Prep"]
    assert prep.inputs["data"].source == LocalSource(path=elsewhere / "raw")


def test_a_parameter_without_a_default_needs_param(tmp_path: Path) -> None:
    message = error_of(with_parameters(tmp_path))
    assert message.endswith(
        "Parameters.Instance: has no DefaultValue; give its value with --param Instance=VALUE"
    )


def test_an_unknown_parameter_is_named_with_the_defined_ones(tmp_path: Path) -> None:
    message = error_of(with_parameters(tmp_path), *GIVEN, "Splt=0.1")
    assert message.endswith(
        "--param Splt: the definition has no parameter 'Splt' "
        "(defined: InputData, Instance, Seed, Shuffle, Split)"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Seed=1.5", '--param Seed: "1.5" is not an Integer'),
        ("Seed=seven", '--param Seed: "seven" is not an Integer'),
        ("Split=a third", '--param Split: "a third" is not a Float'),
        ("Split=nan", '--param Split: "nan" is not a Float'),
        ("Shuffle=yes", '--param Shuffle: "yes" is not a Boolean; give true or false'),
    ],
)
def test_a_value_that_does_not_fit_the_type(tmp_path: Path, given: str, expected: str) -> None:
    assert error_of(with_parameters(tmp_path), *GIVEN, given).endswith(expected)


def test_values_from_python_are_checked_against_the_type(tmp_path: Path) -> None:
    path = with_parameters(tmp_path)
    options = definition_options({"Instance": "ml.c5.xlarge", "Seed": 3, "Split": 1})
    assert load_pipeline(path, definition=options).steps["Prep"].arguments == [
        "--split", "1.0", "--seed", "3"
    ]  # fmt: skip
    with pytest.raises(InputError, match="--param Seed: true is not an Integer"):
        load_pipeline(path, definition=definition_options({"Instance": "x", "Seed": True}))
    with pytest.raises(InputError, match="--param Instance: 3 is not a String"):
        load_pipeline(path, definition=definition_options({"Instance": 3}))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (["Split"], "--param: 'Split' is not NAME=VALUE"),
        (["=3"], "--param: '=3' is not NAME=VALUE"),
        (["Seed=1", "Seed=2"], "--param: Seed is given twice"),
    ],
)
def test_a_malformed_param(params: list[str], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        definition_options(params)
    assert str(caught.value) == expected


def test_a_value_may_hold_an_equals_sign(tmp_path: Path) -> None:
    prep = load(with_parameters(tmp_path), "Instance=a=b").steps["Prep"]
    assert prep.instance.type == "a=b"


def test_param_for_a_pipeline_that_is_not_a_definition() -> None:
    with pytest.raises(InputError) as caught:
        load_pipeline(TABULAR / "pipeline.py", definition=definition_options(["RawData=x"]))
    assert str(caught.value) == (
        f"{TABULAR / 'pipeline.py'}: --param: only for a SageMaker pipeline (a definition .json "
        "or an SDK .py file); this pipeline is in cit's own format, whose values are set in "
        "the file"
    )


def test_no_options_is_falsy() -> None:
    assert not DefinitionOptions()
    assert not definition_options(None, None)


# --- code folder -------------------------------------------------------------------------------


def test_code_dir_finds_the_scripts_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "pipeline").mkdir()
    path = with_parameters(tmp_path / "pipeline", copy_scripts=False)
    assert "cannot map" in error_of(path, *GIVEN)
    code = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "scripts", code)
    pipeline = load(path, *GIVEN, code_dir=code)
    assert pipeline.steps["Prep"].script == code / "prep.py"
    assert pipeline.steps["Train"].script == code / "train.py"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_code_dir_that_is_not_a_folder(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "code"
    if kind == "file":
        folder.write_text("")
    with pytest.raises(InputError) as caught:
        definition_options(code_dir=folder)
    expected = "no such folder" if kind == "missing" else "is not a folder"
    assert str(caught.value) == f"--code-dir: {folder}: {expected}"


# --- run_pipeline and the commands -------------------------------------------------------------


@pytest.fixture
def tabular(tmp_path: Path) -> Path:
    """examples/tabular with its SDK definition beside pipeline.py, its scripts in code/ of
    another folder and its raw data in other/."""
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    shutil.copy(TABULAR_JSON, folder / "pipeline.definition.json")
    shutil.move(folder / "scripts", tmp_path / "code")
    shutil.move(folder / "data" / "raw", tmp_path / "other")
    return folder / "pipeline.definition.json"


def fake_engine() -> FakeEngine:
    rows = "label,id,x\n0,1,0.5\n1,2,0.7\n"
    out = "/opt/ml/processing/output"
    prep = FakeBehaviour(writes={f"{out}/{n}/{n}.csv": rows for n in ("train", "val", "test")})
    images = {RUNNER_IMAGE: "sha256:runner", SKLEARN_IMAGE: "sha256:sklearn"}
    return FakeEngine({"preprocess": prep}, images=images)


def raw_mount(fake: FakeEngine) -> Path:
    """Where the preprocess step's raw input came from on the host."""
    prep = next(spec for spec in fake.specs if spec.labels["cit.step"] == "preprocess")
    mount = next(m for m in prep.mounts if m.target == "/opt/ml/processing/input/raw")
    return Path(mount.source)


def test_run_pipeline_takes_params_and_code_dir(tabular: Path) -> None:
    fake = fake_engine()
    code = tabular.parent.parent / "code"
    result = run_pipeline(
        tabular,
        fake,
        params={"RawData": str(tabular.parent.parent / "other")},
        code_dir=code,
        formats=[],
    )
    assert result.exit_code == 0
    assert len(fake.specs) == 3
    assert raw_mount(fake) == (tabular.parent.parent / "other").resolve()
    with pytest.raises(InputError, match=r"--code-dir: .*: no such folder"):
        run_pipeline(tabular, fake, code_dir=tabular.parent / "nowhere")


def test_cli_run_with_param_and_code_dir(tabular: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_engine()
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    base = tabular.parent.parent
    cit_dir = base / ".cit"
    result = runner.invoke(
        app,
        [
            "run", "--dag", str(tabular), "--cit-dir", str(cit_dir), "-q",
            "--param", f"RawData={base / 'other'}", "--code-dir", str(base / "code"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(fake.specs) == 3
    assert raw_mount(fake) == (base / "other").resolve()


def test_cli_commands_with_dag_accept_the_options(tabular: Path) -> None:
    base = tabular.parent.parent
    given = ["--param", f"RawData={base / 'other'}", "--code-dir", str(base / "code")]
    result = runner.invoke(app, ["validate-contracts", "--dag", str(tabular), *given])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["validate-contracts", "--dag", str(tabular)])
    assert result.exit_code == 2
    assert "cannot map" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["test-flow"],
        ["validate-contracts"],
        ["test-script", "--script", "preprocess"],
        ["test-s3", "--script", "preprocess", "--s3-bucket", "bkt"],
    ],
)
def test_cli_unknown_param_exits_2_naming_it(
    tabular: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "connect", fake_engine)
    base = tabular.parent.parent
    cit_dir = [] if command == ["validate-contracts"] else ["--cit-dir", str(base / ".cit")]
    result = runner.invoke(
        app,
        [
            *command, "--dag", str(tabular), *cit_dir,
            "--code-dir", str(base / "code"), "--param", "Raw=x",
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--param Raw: the definition has no parameter 'Raw' (defined: MaxDepth, RawData)" in (
        " ".join(result.output.split())
    )


@pytest.mark.parametrize("command", [["run"], ["test-script", "--script", "preprocess"]])
def test_cli_code_dir_is_checked_first(tabular: Path, command: list[str]) -> None:
    result = runner.invoke(
        app, [*command, "--dag", str(tabular), "--code-dir", str(tabular.parent / "nowhere")]
    )
    assert result.exit_code == 2, result.output
    assert "--code-dir:" in result.output
    assert "no such folder" in result.output


def test_cli_param_for_a_yaml_or_python_pipeline(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate-contracts", "--dag", str(TABULAR / "pipeline.py"), "--param", "A=1"]
    )
    assert result.exit_code == 2, result.output
    assert "only for a SageMaker pipeline (a definition .json or an SDK .py file)" in " ".join(
        result.output.split()
    )


def test_cli_param_without_dag_for_test_script() -> None:
    result = runner.invoke(
        app, ["test-script", "--script", str(TABULAR / "scripts" / "preprocess.py"),
              "--input-data", str(TABULAR / "data" / "raw"), "--param", "A=1"]
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--param: only with --dag" in " ".join(result.output.split())


def test_cli_test_script_takes_a_step_of_a_definition_with_its_options(
    tabular: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_engine()
    monkeypatch.setattr(cli, "connect", lambda: fake)
    base = tabular.parent.parent
    result = runner.invoke(
        app,
        [
            "test-script", "--script", "preprocess", "--dag", str(tabular),
            "--input-data", str(base / "other"), "--quality-checks", "none",
            "--cit-dir", str(base / ".cit"), "-q",
            "--param", f"RawData={base / 'other'}", "--code-dir", str(base / "code"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [spec] = fake.specs
    script = "/opt/ml/processing/input/code/preprocess.py"
    assert next(m.source for m in spec.mounts if m.target == script) == str(
        base / "code" / "preprocess.py"
    )

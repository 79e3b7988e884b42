"""A pipeline built with the SageMaker Python SDK (``cit run --dag sm_pipeline.py``): read
offline, with no connection opened, its uploads mapped back to the user's files, the same steps
and edges as the example's own pipeline.py."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.errors import InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import LocalSource, Pipeline, StepOutput
from orchestrator.pipeline.sagemaker_definition import definition_options

ROOT = Path(__file__).resolve().parents[2]
TABULAR = ROOT / "examples" / "tabular"
SDK_PIPELINE = TABULAR / "sagemaker_pipeline.py"
GENERATE = ROOT / "tests" / "fixtures" / "sagemaker" / "generate.py"
runner = CliRunner()

pytest.importorskip("sagemaker", reason="the SageMaker SDK is a test dependency (.[dev])")


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every attempt to open a network connection, refused and recorded."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts


def wiring(pipeline: Pipeline) -> dict[str, dict[str, str]]:
    """Each step's inputs, as the edge or local path they take."""
    return {
        name: {
            channel: str(item.source) if isinstance(item.source, StepOutput) else "local"
            for channel, item in step.inputs.items()
        }
        for name, step in pipeline.steps.items()
    }


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_the_example_loads_as_its_pipeline_py(no_connections: list[Any]) -> None:
    sdk = load_pipeline(SDK_PIPELINE)
    native = load_pipeline(TABULAR / "pipeline.py")

    assert sdk.name == "tabular-xgboost"  # the SDK Pipeline's name, not the file's
    assert list(sdk.steps) == list(native.steps) == ["preprocess", "train", "evaluate"]
    assert wiring(sdk) == wiring(native)
    for name, step in sdk.steps.items():
        assert step.script == native.steps[name].script  # the user's own files
        assert step.kind is native.steps[name].kind
        assert step.arguments == native.steps[name].arguments
    assert sdk.steps["train"].source_dir == TABULAR / "scripts"
    assert sdk.steps["train"].hyperparameters == {"max_depth": 4, "n_estimators": 60, "eta": 0.2}
    raw = sdk.steps["preprocess"].inputs["raw"].source
    assert isinstance(raw, LocalSource) and raw.path == TABULAR / "data" / "raw"
    assert no_connections == []


def test_a_parameter_reaches_the_hyperparameters() -> None:
    loaded = load_pipeline(SDK_PIPELINE, definition=definition_options(["MaxDepth=7"]))
    assert loaded.steps["train"].hyperparameters["max_depth"] == 7


def test_loading_leaves_the_environment_and_logging_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "a-profile-that-does-not-exist")
    before = dict(os.environ)
    load_pipeline(SDK_PIPELINE)
    assert dict(os.environ) == before
    assert logging.root.manager.disable == logging.NOTSET


def test_a_local_input_the_sdk_would_upload_is_the_local_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "part.csv").write_text("a,b\n1,2\n")
    write(tmp_path, "prep.py", "print('prep')\n")
    path = write(
        tmp_path,
        "sm.py",
        """
        from pathlib import Path
        from sagemaker.processing import ProcessingInput, ProcessingOutput
        from sagemaker.sklearn.processing import SKLearnProcessor
        from sagemaker.workflow.pipeline import Pipeline
        from sagemaker.workflow.pipeline_context import PipelineSession
        from sagemaker.workflow.steps import ProcessingStep

        HERE = Path(__file__).parent
        processor = SKLearnProcessor(
            framework_version="1.2-1", role="arn:aws:iam::111122223333:role/r",
            instance_type="ml.m5.xlarge", instance_count=1, sagemaker_session=PipelineSession(),
        )
        step = ProcessingStep("prep", step_args=processor.run(
            code=str(HERE / "prep.py"),
            inputs=[ProcessingInput(source=str(HERE / "data"),
                                    destination="/opt/ml/processing/input/data")],
            outputs=[ProcessingOutput(output_name="out", source="/opt/ml/processing/output")],
        ))
        pipeline = Pipeline("local-input", steps=[step])
        """,
    )
    prep = load_pipeline(path).steps["prep"]
    source = prep.inputs["data"].source
    assert isinstance(source, LocalSource) and source.path == (tmp_path / "data").resolve()
    assert prep.script == (tmp_path / "prep.py").resolve()


def test_a_file_that_imports_the_sdk_may_define_a_cit_pipeline(tmp_path: Path) -> None:
    write(tmp_path, "prep.py", "print('prep')\n")
    path = write(
        tmp_path,
        "p.py",
        """
        from sagemaker.workflow.parameters import ParameterString  # noqa: F401
        from orchestrator import Pipeline

        pipeline = Pipeline("native")
        pipeline.processing("prep", script="prep.py", outputs=["out"])
        """,
    )
    assert list(load_pipeline(path).steps) == ["prep"]
    with pytest.raises(InputError, match="only for a SageMaker pipeline; this file defines"):
        load_pipeline(path, definition=definition_options(["X=1"]))


def test_several_sdk_pipelines_need_one_named_pipeline(tmp_path: Path) -> None:
    body = """
        from sagemaker.workflow.pipeline import Pipeline
        from sagemaker.workflow.fail_step import FailStep

        first = Pipeline("first", steps=[FailStep("f1", error_message="x")])
        second = Pipeline("second", steps=[FailStep("f2", error_message="y")])
        """
    path = write(tmp_path, "two.py", body)
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    assert str(caught.value) == (
        f"{path}: defines several SageMaker pipelines (first, second); assign the one to run "
        "to a variable named 'pipeline'"
    )


def test_a_failing_definition_is_one_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken.py",
        """
        from sagemaker.workflow.pipeline import Pipeline

        class Broken:
            name = "broken"
            step_type = None
            def to_request(self):
                raise RuntimeError("cannot describe this step")

        pipeline = Pipeline("broken", steps=[Broken()])
        """,
    )
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(f"{path}: Pipeline.definition() failed: ")
    assert "\n" not in str(caught.value)


def test_without_the_sdk_the_install_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "sagemaker" else find_spec(name, *args),
    )
    with pytest.raises(InputError) as caught:
        load_pipeline(SDK_PIPELINE)
    assert str(caught.value) == (
        f"{SDK_PIPELINE}: imports the SageMaker Python SDK, which is not installed: "
        'pip install "cit-sagemaker[sagemaker]"'
    )


def test_cit_validate_contracts_reads_the_sdk_pipeline() -> None:
    result = runner.invoke(app, ["validate-contracts", "--dag", str(SDK_PIPELINE)])
    assert result.exit_code == 0, result.output
    assert "no contract: preprocess, train, evaluate" in result.output


def test_the_fixtures_are_what_the_sdk_writes_now() -> None:
    """The committed definitions the other tests read are regenerated by the real SDK here."""
    done = subprocess.run(
        [sys.executable, str(GENERATE), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]

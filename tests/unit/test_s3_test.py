"""Testing a script on S3 data (orchestrator.suite.s3_manager): where each input comes from, the
input checks, and one run judged on the fake engine; S3 and SageMaker are faked in memory."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.aws.discovery import SageMakerDiscovery
from orchestrator.aws.fake_sagemaker import FakeSageMaker
from orchestrator.errors import InputError, StepNotFound
from orchestrator.issues import Severity
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.on_s3 import (
    S3TestResult,
    execution_sources,
    fetch_sources,
    prefix_sources,
    run_s3_test,
)
from orchestrator.scripttest.runner import script_step

from ..runs import run_dirs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/tabular/execution/abc123"
BUCKET = "s3://runs/tabular/abc123"
FEATURES = (
    "label,id,age,income,account_tenure_months,num_transactions\n1,7,40.0,52000.5,12.0,30.0\n"
)


def discovery(*steps: str) -> SageMakerDiscovery:
    fake = FakeSageMaker()
    if "preprocess" in steps:
        outputs = {name: f"{BUCKET}/preprocess/{name}/" for name in ("train", "val", "test")}
        fake.add_processing_step(ARN, "preprocess", outputs)
    if "train" in steps:
        fake.add_training_step(ARN, "train", f"{BUCKET}/train/model/output/model.tar.gz")
    return SageMakerDiscovery(api=fake)


@pytest.fixture(scope="module")
def example_pipeline():  # type: ignore[no-untyped-def]
    return load_and_validate(EXAMPLE / "pipeline.py")


def test_inputs_wired_in_the_pipeline_come_from_their_steps_in_the_execution(
    example_pipeline,  # type: ignore[no-untyped-def]
) -> None:
    evaluate = example_pipeline.steps["evaluate"]
    sources = execution_sources(
        evaluate, "train", ARN, discovery("preprocess", "train"), pipeline=example_pipeline
    )
    assert sources == {
        "model": f"{BUCKET}/train/model/output/model.tar.gz",
        "test": f"{BUCKET}/preprocess/test/",
    }


def test_a_given_input_is_not_looked_up(example_pipeline) -> None:  # type: ignore[no-untyped-def]
    evaluate = example_pipeline.steps["evaluate"]
    sources = execution_sources(
        evaluate,
        "train",
        ARN,
        discovery("train"),  # preprocess is not in this execution
        pipeline=example_pipeline,
        given={"test": "local/test"},
    )
    assert sources["test"] == "local/test"


def test_a_missing_producer_names_the_input_and_how_to_give_it(
    example_pipeline,  # type: ignore[no-untyped-def]
) -> None:
    evaluate = example_pipeline.steps["evaluate"]
    with pytest.raises(StepNotFound) as caught:
        execution_sources(evaluate, "train", ARN, discovery("train"), pipeline=example_pipeline)
    message = str(caught.value)
    assert "input 'test' of 'evaluate' comes from 'preprocess'" in message
    assert "--input-data test=PATH" in message


def test_a_step_the_script_does_not_read_from_is_refused(
    example_pipeline,  # type: ignore[no-untyped-def]
) -> None:
    train = example_pipeline.steps["train"]
    with pytest.raises(InputError, match=r"'train' takes no input from 'evaluate'.*preprocess"):
        execution_sources(train, "evaluate", ARN, discovery("train"), pipeline=example_pipeline)


def test_without_a_pipeline_inputs_take_the_outputs_of_the_same_name() -> None:
    evaluate = script_step(
        EXAMPLE / "scripts" / "evaluate.py", EXAMPLE / "contracts" / "evaluate.yaml"
    )
    sources = execution_sources(
        evaluate, "preprocess", ARN, discovery("preprocess"), given={"model": "m/"}
    )
    assert sources == {"test": f"{BUCKET}/preprocess/test/", "model": "m/"}
    with pytest.raises(InputError, match="no output of step 'train' matches input test"):
        execution_sources(evaluate, "train", ARN, discovery("train"), given={"model": "m/"})


def test_one_input_takes_the_only_required_output(tmp_path: Path) -> None:
    script = tmp_path / "score.py"
    script.write_text("open('/opt/ml/processing/input/artifacts/x')\n")
    step = script_step(script, None)
    sources = execution_sources(step, "train", ARN, discovery("train"))
    assert sources == {"artifacts": f"{BUCKET}/train/model/output/model.tar.gz"}


def test_a_prefix_feeds_one_input_whole_or_several_by_name() -> None:
    evaluate = script_step(
        EXAMPLE / "scripts" / "evaluate.py", EXAMPLE / "contracts" / "evaluate.yaml"
    )
    assert prefix_sources(evaluate, "s3://bkt/run") == {
        "model": "s3://bkt/run/model/",
        "test": "s3://bkt/run/test/",
    }
    assert prefix_sources(evaluate, "s3://bkt/run/", {"model": "m"}) == {
        "test": "s3://bkt/run/test/",
        "model": "m",
    }
    preprocess = script_step(
        EXAMPLE / "scripts" / "preprocess.py", EXAMPLE / "contracts" / "preprocess.yaml"
    )
    assert prefix_sources(preprocess, "s3://bkt/raw") == {"raw": "s3://bkt/raw/"}


def test_each_uri_is_fetched_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def fetch(uri: str) -> Path:
        calls.append(uri)
        return tmp_path

    local = fetch_sources({"a": "s3://bkt/x/", "b": "s3://bkt/x/", "c": str(tmp_path)}, fetch)
    assert calls == ["s3://bkt/x/"]
    assert local == {"a": tmp_path, "b": tmp_path, "c": tmp_path}


# -- one run on the fake engine ----------------------------------------------------------------

METRICS = "/opt/ml/processing/output/metrics/metrics.json"
PREDICTIONS = "/opt/ml/processing/output/predictions/p.csv"


def fake_engine(
    exit_code: int = 0, predictions: str = "id,probability\n1,0.7\n2,0.2\n"
) -> FakeEngine:
    behaviour = FakeBehaviour(
        exit_code=exit_code,
        writes={
            METRICS: json.dumps({"auc": {"value": 0.91}, "accuracy": 0.8}),
            PREDICTIONS: predictions,
        },
    )
    return FakeEngine({"evaluate": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})


def run_settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit", max_workers=1, cpus_available=2, memory_available=2**33, user=None
    )


@pytest.fixture
def s3_data(tmp_path: Path) -> dict[str, Path]:
    """What a fake fetch returns for each URI: a model folder and a test-data folder."""
    model = tmp_path / "cache" / "model"
    model.mkdir(parents=True)
    (model / "model.tar.gz").write_bytes(b"\x1f\x8b not really")
    test = tmp_path / "cache" / "test"
    test.mkdir()
    (test / "part-0.csv").write_text(FEATURES)
    return {"s3://bkt/run/model/": model, "s3://bkt/run/test/": test}


def evaluate_step():  # type: ignore[no-untyped-def]
    return script_step(EXAMPLE / "scripts" / "evaluate.py", EXAMPLE / "contracts" / "evaluate.yaml")


SOURCES = {"model": "s3://bkt/run/model/", "test": "s3://bkt/run/test/"}


def run_evaluate(
    tmp_path: Path, s3_data: dict[str, Path], **options: Any
) -> tuple[S3TestResult, list[str]]:
    """The example's evaluate step run on ``s3_data`` (fake fetch, fake engine); the result
    and the URIs fetched."""
    fetched: list[str] = []

    def fetch(uri: str) -> Path:
        fetched.append(uri)
        return s3_data[uri]

    fields: dict[str, Any] = {
        "source_file": EXAMPLE / "scripts" / "evaluate.py",
        "quality_checks": "none",
        **options,
    }
    context = RunContext(
        engine=fields.pop("engine", None) or fake_engine(),
        settings=run_settings(tmp_path),
        fetch_s3=fields.pop("fetch", fetch),
    )
    sources = fields.pop("sources", SOURCES)
    return run_s3_test(evaluate_step(), sources, context, **fields), fetched


def test_a_run_on_s3_data_is_checked_judged_and_reports_its_metrics(
    tmp_path: Path, s3_data: dict[str, Path]
) -> None:
    seen: list[int] = []
    result, fetched = run_evaluate(
        tmp_path,
        s3_data,
        validate_schema=True,
        quality_checks="predictions_in_range_0_1,no_nan_predictions",
        on_checked=lambda checks: seen.append(len(checks)),
    )
    assert seen == [2]
    assert sorted(fetched) == sorted(SOURCES.values())
    assert result.passed, result.test
    assert result.performance_metrics == {"auc": 0.91, "accuracy": 0.8}
    assert result.data_quality_score == 1.0
    test_input = next(c for c in result.inputs if c.channel == "test")
    assert test_input.expected is not None and test_input.expected.source
    assert test_input.expected.source.endswith("features.yaml")
    assert [d.rows for d in test_input.captured.datasets] == [1]
    assert test_input.issues == []
    assert result.test.run_dir is not None
    manifest = json.loads((result.test.run_dir / "manifest.json").read_text())
    assert "s3://bkt/run/test/" in json.dumps(manifest)


def test_data_that_breaks_the_declared_schema_fails_the_test(
    tmp_path: Path, s3_data: dict[str, Path]
) -> None:
    (s3_data["s3://bkt/run/test/"] / "part-0.csv").write_text("id,label\n1,0\n")
    result, _ = run_evaluate(tmp_path, s3_data, validate_schema=True)
    assert result.test.passed
    assert not result.passed
    errors = [i for i in result.schema_issues if i.severity is Severity.ERROR]
    assert errors and all(i.edge == "s3://bkt/run/test/ -> evaluate.test" for i in errors)
    assert all(i.step == "evaluate" for i in errors)
    assert any(i.column == "age" for i in errors)


def test_a_crashing_script_fails_with_no_quality_score(
    tmp_path: Path, s3_data: dict[str, Path]
) -> None:
    result, _ = run_evaluate(
        tmp_path, s3_data, engine=fake_engine(exit_code=3), quality_checks="all"
    )
    assert result.inputs == []  # no schema check unless asked
    assert not result.passed and result.exit_code == 1
    assert result.test.quality_checks_run == 0
    assert result.data_quality_score is None  # the checks never ran: no 100 %


def test_a_missed_quality_check_lowers_the_score(tmp_path: Path, s3_data: dict[str, Path]) -> None:
    engine = fake_engine(predictions="id,probability\n1,1.7\n2,0.2\n")
    checks = "predictions_in_range_0_1,row_count,no_nan_predictions"
    result, _ = run_evaluate(tmp_path, s3_data, engine=engine, quality_checks=checks)
    assert result.test.quality_checks_run == 3
    assert result.data_quality_score == round(2 / 3, 4)
    assert not result.passed


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quality_checks": "no_such_check"}, "no_such_check"),
        (
            {"expected_output_schema": Path("/no/such/schema.yaml")},
            "--expected-output-schema: no such file or folder: /no/such/schema.yaml",
        ),
        ({"sources": {**SOURCES, "extra": "s3://bkt/x/"}}, "unknown channel extra"),
        ({"sources": {"model": "s3://bkt/run/model/"}}, "gives no data for input test"),
        ({"sources": {**SOURCES, "test": "/no/such/folder"}}, "no such file or folder: /no/such"),
    ],
)
def test_mistakes_are_refused_before_anything_is_fetched(
    tmp_path: Path, s3_data: dict[str, Path], options: dict[str, Any], message: str
) -> None:
    fetched: list[str] = []
    with pytest.raises(InputError, match=re.escape(message)):
        run_evaluate(tmp_path, s3_data, fetch=lambda uri: fetched.append(uri), **options)
    assert fetched == []


def test_a_local_file_input_is_checked_alone(tmp_path: Path, s3_data: dict[str, Path]) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "test.csv").write_text(FEATURES)
    (folder / "unrelated.csv").write_text("x,y\n1,2\n")
    sources = {"model": "s3://bkt/run/model/", "test": str(folder / "test.csv")}
    result, fetched = run_evaluate(tmp_path, s3_data, sources=sources, validate_schema=True)
    assert fetched == ["s3://bkt/run/model/"]
    test_input = next(c for c in result.inputs if c.channel == "test")
    assert test_input.captured.files == 1
    assert [c.name for c in test_input.captured.datasets[0].columns][:2] == ["label", "id"]
    assert test_input.issues == []
    assert result.passed


# -- cit test-s3: what is refused before anything runs ------------------------------------------

PIPELINE = str(EXAMPLE / "pipeline.py")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "give --pipeline-execution ARN --step NAME, or --s3-bucket BUCKET"),
        (["--pipeline-execution", ARN], "--pipeline-execution needs --step"),
        (["--s3-bucket", "bkt", "--step", "train"], "--step goes with --pipeline-execution"),
        (
            ["--pipeline-execution", ARN, "--step", "train", "--s3-bucket", "bkt"],
            "give --pipeline-execution or --s3-bucket/--s3-prefix, not both",
        ),
        (
            ["--pipeline-execution", ARN, "--step", "train", "--s3-prefix", "p/"],
            "give --pipeline-execution or --s3-bucket/--s3-prefix, not both",
        ),
        (["--pipeline-execution", ARN, "--step", "nope"], "no step named 'nope' in the pipeline"),
        (["--s3-bucket", "bkt", "--input-data", "extra=/tmp"], "'evaluate' has no input extra"),
        (["--s3-bucket", "Bad_Bucket"], "bucket name 'Bad_Bucket'"),
        (["--pipeline-execution", "exec-123", "--step", "train"], "not a pipeline execution ARN"),
        (
            ["--s3-bucket", "bkt", "--input-data", "data"],
            "--input-data: 'data' is not CHANNEL=PATH",
        ),
        (
            ["--s3-bucket", "bkt", "--contract", str(EXAMPLE / "contracts" / "evaluate.yaml")],
            "--contract is for a script file",
        ),
        (["--s3-bucket", "bkt", "--config", "missing.yaml"], "no such configuration file"),
    ],
)
def test_test_s3_refuses_bad_options_in_one_line(args: list[str], expected: str) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli.app import app

    done = CliRunner().invoke(
        app, ["test-s3", "--script", "evaluate", "--dag", PIPELINE, *args], env={"COLUMNS": "300"}
    )
    assert done.exit_code == 2, done.output
    assert expected in done.output
    assert "Traceback" not in done.output


def test_test_s3_refuses_an_unknown_step_of_the_pipeline() -> None:
    from typer.testing import CliRunner

    from orchestrator.cli.app import app

    args = ["test-s3", "--script", "nope", "--dag", PIPELINE, "--s3-bucket", "bkt"]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert done.exit_code == 2
    assert "no step named 'nope'; steps: preprocess, train, evaluate" in done.output


def test_cit_test_s3_fails_on_an_input_schema_error_and_its_report_agrees(
    tmp_path: Path, s3_data: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli import command as cli
    from orchestrator.cli.app import app

    monkeypatch.setattr(cli, "connect", fake_engine)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    (s3_data["s3://bkt/run/test/"] / "part-0.csv").write_text("id,age\n7,40.0\n")
    args = [
        "test-s3", "--script", "evaluate", "--dag", PIPELINE, "--s3-bucket", "bkt",
        "--input-data", f"model={s3_data['s3://bkt/run/model/']}",
        "--input-data", f"test={s3_data['s3://bkt/run/test/']}",
        "--validate-schema", "--quality-checks", "none", "--quiet",
        "--cit-dir", str(tmp_path / ".cit"), "--format", "junit",
    ]  # fmt: skip
    done = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert done.exit_code == 1, done.output
    [command_dir] = [
        p for p in run_dirs(tmp_path / ".cit" / "runs") if not (p / "manifest.json").exists()
    ]
    report = json.loads((command_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"]) == ("failed", 1)
    (test_input,) = [t for t in report["suites"][0]["tests"] if t["name"].endswith(".test")]
    assert test_input["outcome"] == "failed" and test_input["failure_type"] == "missing_column"
    assert '<failure message="error [missing_column]' in (command_dir / "report.xml").read_text()

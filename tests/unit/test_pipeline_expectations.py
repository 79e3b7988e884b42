"""Expectations on the whole pipeline: declared in YAML, in Python and in a test-all scenario,
every mistake found before anything runs, and judged on the outputs of a run on the fake engine
(counted in the exit code, report.json, JUnit, HTML and the pytest/unittest verdicts)."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, Pipeline, RunSettings
from orchestrator.cli.app import app
from orchestrator.data.metrics import MetricExpectation
from orchestrator.dataflow import tester as dataflow
from orchestrator.dataflow.edges import DataFlowTestResult
from orchestrator.dataflow.expectation_results import (
    MetricResult,
    OutputResult,
    QualityResult,
    judge,
)
from orchestrator.errors import InputError
from orchestrator.pipeline.expectations import ExpectedMetric, ExpectedOutput, ExpectedQuality
from orchestrator.report.console import print_expectations
from orchestrator.report.html.page import render_html
from orchestrator.report.junit import render_junit
from orchestrator.report.model import Outcome, Report, build_report, load_report, pipeline_suite
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.rundir import read_manifest
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.suite.config import load_config
from orchestrator.suite.run import run_all
from orchestrator.testing.unittest_suite import CitRunner, pipeline_tests, pipeline_verdict

TRAIN = "/opt/ml/processing/output/train/train.csv"
TEST = "/opt/ml/processing/output/test/test.csv"
MODEL = "/opt/ml/model/model.txt"
PREDICTIONS = "/opt/ml/processing/output/predictions/predictions.csv"
METRICS = "/opt/ml/processing/output/metrics/metrics.json"

PIPELINE = """
name: scored
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [train, test]}
  train: {kind: training, script: scripts/train.py, inputs: {train: {step: prep, output: train}}}
  score:
    kind: processing
    script: scripts/score.py
    inputs: {model: {step: train, output: model}, test: {step: prep, output: test}}
    outputs: [predictions, metrics]
expectations:
  prep:
    data_quality:
      train: [{row_count: {at_least: 2x prep.test}}]
  score:
    metrics: {auc_roc: ">= 0.8"}
    outputs: ["predictions/*.csv"]
    data_quality:
      predictions: [no_nan_predictions, {row_count: {equals: prep.test}}]
"""
NAMES = [
    "prep.train: row_count {at_least: 2x prep.test}",
    "score: auc_roc >= 0.8",
    "score: output predictions/*.csv",
    "score.predictions: no_nan_predictions",
    "score.predictions: row_count {equals: prep.test}",
]


def rows(count: int, probability: str = "0.5") -> str:
    return "id,label,probability\n" + "".join(f"{i},1,{probability}\n" for i in range(count))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("prep.py", "train.py", "score.py"):
        (tmp_path / "scripts").mkdir(exist_ok=True)
        (tmp_path / "scripts" / name).write_text("print('hello')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a,b\n1,2\n")
    write(tmp_path, "pipeline.yaml", PIPELINE)
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def fake(
    *,
    train_rows: int = 6,
    predictions: str | None = None,
    metrics: Any = None,
    **more: FakeBehaviour,
) -> FakeEngine:
    """prep writes 3 test rows and ``train_rows`` train rows; score writes ``predictions``
    (3 rows) and ``metrics`` ({"auc_roc": 0.9})."""
    score: dict[str, str] = {PREDICTIONS: rows(3) if predictions is None else predictions}
    score[METRICS] = json.dumps({"auc_roc": 0.9} if metrics is None else metrics)
    behaviours = {
        "prep": FakeBehaviour(writes={TRAIN: rows(train_rows), TEST: rows(3)}),
        "train": FakeBehaviour(writes={MODEL: "weights"}),
        "score": FakeBehaviour(writes={k: v for k, v in score.items() if v}),
        **more,
    }
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit", max_workers=2, cpus_available=2, memory_available=2**33, user=None
    )


def run(file: Path, engine: FakeEngine, path: list[str] | None = None) -> DataFlowTestResult:
    pipeline = load_and_validate(file)
    return dataflow.test_flow(
        pipeline, file, RunContext(engine=engine, settings=settings(file.parent)), path=path
    )


def verdicts(flow: DataFlowTestResult) -> dict[str, tuple[str, str]]:
    return {r.name: (r.outcome, r.message) for r in flow.expectations}


def report_of(flow: DataFlowTestResult) -> Report:
    run_result = read_manifest(Path(flow.run_dir))
    return build_report("run", [pipeline_suite(flow, run_result)])


# -- declaring --------------------------------------------------------------------------------


def test_yaml_expectations_are_read_one_per_bound_pattern_and_check(project: Path) -> None:
    pipeline = load_and_validate(project / "pipeline.yaml")
    found = pipeline.expectations
    assert [e.label for e in found] == NAMES
    metric = found[1]
    assert isinstance(metric, ExpectedMetric) and metric.pattern == "metrics.json"
    assert metric.expected == MetricExpectation(metric="auc_roc", op=">=", value=0.8)
    assert metric.field == "expectations.score.metrics.auc_roc"
    assert isinstance(found[2], ExpectedOutput) and found[2].pattern == "predictions/*.csv"
    quality = found[4]
    assert isinstance(quality, ExpectedQuality) and quality.output == "predictions"
    assert quality.check.datasets() == [("equals", "prep.test")]
    assert quality.field == "expectations.score.data_quality.predictions.1.row_count"


def test_python_expectations_read_the_same(project: Path) -> None:
    pipeline = Pipeline("scored", base_dir=project)
    prep = pipeline.processing("prep", script="scripts/prep.py", outputs=["train", "test"])
    score = pipeline.processing(
        "score",
        script="scripts/score.py",
        inputs={"test": prep.output("test")},
        outputs=["predictions", "metrics"],
    )
    pipeline.expect(prep, data_quality={"train": [{"row_count": {"at_least": "2x prep.test"}}]})
    pipeline.expect(
        score,
        metrics={"auc_roc": ">= 0.8"},
        outputs=["predictions/*.csv"],
        data_quality={
            "predictions": ["no_nan_predictions", {"row_count": {"equals": prep.output("test")}}]
        },
    )
    assert [e.label for e in pipeline.expectations] == NAMES
    assert [e.label for e in pipeline.with_steps(pipeline.steps).expectations] == NAMES


def test_repeated_expectations_are_numbered(project: Path) -> None:
    pipeline = Pipeline("p", base_dir=project)
    pipeline.processing("score", script="scripts/score.py", outputs=["metrics"])
    pipeline.expect("score", metrics={"auc": 0.8})
    pipeline.expect("score", metrics={"auc": ">= 0.8"})
    assert [name for _, name in pipeline_tests(pipeline)][1:] == [
        "score: auc >= 0.8",
        "score: auc >= 0.8 (2)",
    ]


def replaced(old: str, new: str) -> str:
    assert old in PIPELINE
    return PIPELINE.replace(old, new)


MISTAKES = {
    "unknown step": (
        replaced("  score:\n    metrics", "  scor:\n    metrics"),
        "expectations.scor: no step named 'scor' (did you mean 'score'?); steps: prep, train, "
        "score",
    ),
    "unknown output": (
        replaced("predictions: [no_nan", "prediction: [no_nan"),
        "expectations.score.data_quality.prediction: 'score' has no output 'prediction'; its "
        "outputs: predictions, metrics",
    ),
    "unknown check": (
        replaced("[no_nan_predictions,", "[no_nan_prediction,"),
        "expectations.score.data_quality.predictions.0.check: unknown check 'no_nan_prediction' "
        "(did you mean 'no_nan_predictions'?)",
    ),
    "unknown check written as a key": (
        replaced("{row_count: {equals", "{row_cont: {equals"),
        "expectations.score.data_quality.predictions.1.row_cont: unknown check 'row_cont' "
        "(did you mean 'row_count'?)",
    ),
    "bad bound": (
        replaced('">= 0.8"', '"=> 0.8"'),
        "expectations.score.metrics.auc_roc: cannot read '=> 0.8'",
    ),
    "bound that is no number": (
        replaced('">= 0.8"', "[0.8]"),
        "expectations.score.metrics.auc_roc: must be an expression such as",
    ),
    "unknown field": (
        replaced("    metrics: {auc", "    metric: {auc"),
        "expectations.score.metric: unknown field 'metric' (did you mean 'metrics'?); allowed: "
        "metrics, metrics_file, outputs, data_quality",
    ),
    "output pattern outside the outputs": (
        replaced('["predictions/*.csv"]', '["../predictions/*.csv"]'),
        "expectations.score.outputs.0: '../predictions/*.csv' must be relative to the outputs",
    ),
    "unknown output of the compared step": (
        replaced("{equals: prep.test}", "{equals: prep.tset}"),
        "expectations.score.data_quality.predictions.1.row_count.equals: 'prep' has no output "
        "'tset'; its "
        "outputs: train, test",
    ),
    "compared with neither an output nor a file": (
        replaced("{equals: prep.test}", "{equals: prepare.test}"),
        "expectations.score.data_quality.predictions.1.row_count.equals: 'prepare.test' is neither "
        "step.output of a step (prep, train, score) nor a file or folder",
    ),
    "compared with a training archive": (
        replaced("{equals: prep.test}", "{equals: train.model}"),
        "expectations.score.data_quality.predictions.1.row_count.equals: 'train.model' is a "
        "training "
        "step's archive, not a table",
    ),
    "a factor that is no factor": (
        replaced("{at_least: 2x prep.test}", "{at_least: 0x prep.test}"),
        "expectations.prep.data_quality.train.0.row_count.at_least: '0x prep.test': the factor "
        "must be above 0",
    ),
    "a row bound that is no bound": (
        replaced("{at_least: 2x prep.test}", "{at_least: [2]}"),
        "expectations.prep.data_quality.train.0.row_count.at_least: must be a number of rows "
        "(500), a dataset (preprocess.test) or a factor times one (3x preprocess.test)",
    ),
    "the output named twice": (
        replaced("{row_count: {equals: prep.test}}", "{check: row_count, output: metrics}"),
        "expectations.score.data_quality.predictions.1.output: the key above names the output",
    ),
    "metrics of a training step": (
        replaced(
            "  prep:\n    data_quality",
            "  train:\n    metrics: {auc: 0.8}\n  prep:\n    data_quality",
        ),
        "expectations.train.metrics: a training step's files reach cit packed in model.tar.gz",
    ),
    "metrics_file without metrics": (
        replaced('    outputs: ["pred', '    metrics_file: m.json\n    outputs: ["pred').replace(
            '    metrics: {auc_roc: ">= 0.8"}\n', ""
        ),
        "expectations.score.metrics_file: says where metrics are read; give metrics too",
    ),
    "a step that declares nothing": (
        replaced("  prep:\n    data_quality", "  train: {}\n  prep:\n    data_quality"),
        "expectations.train: declares nothing; give metrics, metrics_file, outputs, data_quality",
    ),
    "not a mapping": (
        PIPELINE.split("expectations:")[0] + "expectations: [score]\n",
        "expectations: must map step names to",
    ),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_each_mistake_is_one_line_naming_file_and_field(project: Path, case: str) -> None:
    text, expected = MISTAKES[case]
    file = write(project, "bad.yaml", text)
    with pytest.raises(InputError) as caught:
        load_and_validate(file)
    message = str(caught.value)
    assert message.startswith(f"{file}: ") and "\n" not in message
    assert expected in message


def test_a_mistake_in_python_names_the_line_and_field(project: Path) -> None:
    file = write(
        project,
        "bad.py",
        """
        from orchestrator import Pipeline

        pipeline = Pipeline("p")
        score = pipeline.processing("score", script="scripts/score.py", outputs=["metrics"])
        pipeline.expect(score, metrics={"auc": "> = 0.8"})
        """,
    )
    with pytest.raises(InputError) as caught:
        load_and_validate(file)
    assert str(caught.value).startswith(f"{file}:5: expectations.score.metrics.auc: cannot read")


def test_an_unknown_step_in_python_is_found_before_anything_runs(project: Path) -> None:
    file = write(
        project,
        "bad.py",
        """
        from orchestrator import Pipeline

        pipeline = Pipeline("p")
        pipeline.processing("score", script="scripts/score.py", outputs=["metrics"])
        pipeline.expect("scores", metrics={"auc": 0.8})
        """,
    )
    result = CliRunner().invoke(app, ["run", "--dag", str(file), "--cit-dir", str(project)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        f"error: {file}: expectations.scores: no step named 'scores' (did you mean 'score'?); "
        "steps: score"
    ]
    assert not (project / "runs").exists()


# -- judging ----------------------------------------------------------------------------------


def test_a_green_run_passes_every_expectation(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake())
    assert {name: outcome for name, (outcome, _) in verdicts(flow).items()} == dict.fromkeys(
        NAMES, "passed"
    )
    assert flow.exit_code == 0
    metric = flow.expectations[1]
    assert isinstance(metric, MetricResult)
    assert (metric.actual, metric.metrics_file) == (0.9, "metrics/metrics.json")
    output = flow.expectations[2]
    assert isinstance(output, OutputResult) and output.actual == ["predictions/predictions.csv"]
    count = flow.expectations[4]
    assert isinstance(count, QualityResult) and count.actual is not None
    assert count.expected == {"check": "row_count", "equals": "prep.test"}
    assert count.actual.measured == {"rows": 3, "equals": 3}
    assert count.message == "row_count: 3 rows (min 1, equals prep.test = 3)"


def test_a_model_that_learns_noise_fails_its_metric_everywhere_the_verdict_is_told(
    project: Path,
) -> None:
    flow = run(project / "pipeline.yaml", fake(metrics={"auc_roc": 0.5}))
    assert flow.run_status.ok and flow.is_compatible
    assert verdicts(flow)["score: auc_roc >= 0.8"] == ("failed", "auc_roc is 0.5, expected >= 0.8")
    assert flow.exit_code == 1

    report = report_of(flow)
    assert (report.outcome, report.exit_code) == (Outcome.FAILED, 1)
    (item,) = [t for t in report.tests if t.outcome is Outcome.FAILED]
    assert (item.kind, item.name, item.classname) == ("expectation", NAMES[1], "score")
    data = json.loads(report.model_dump_json())
    (stored,) = [t for t in data["suites"][0]["tests"] if t["outcome"] == "failed"]
    assert stored["expectation"]["expected"] == {
        "metric": "auc_roc",
        "op": ">=",
        "value": 0.8,
        "upper": None,
    }
    assert stored["expectation"]["actual"] == 0.5
    assert load_report_roundtrip(report, project).tests == report.tests

    junit = render_junit(report)
    assert 'message="auc_roc is 0.5, expected &gt;= 0.8" type="metric"' in junit
    assert 'name="score: auc_roc &gt;= 0.8" classname="score"' in junit

    html = render_html(report)
    assert "<h3>Expectations</h3>" in html
    assert "<td>predictions: row_count {equals: prep.test}</td><td>rows 3, equals 3</td>" in html
    assert 'score: auc_roc &gt;= 0.8</td><td><span class="badge tone-bad">failed' in html


def test_steps_only_reports_a_failed_expectation_without_judging_it(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(metrics={"auc_roc": 0.5}))
    suite = pipeline_suite(flow, read_manifest(Path(flow.run_dir)), judge_flow=False)
    report = build_report("run", [suite], steps_only=True)
    assert (report.outcome, report.exit_code) == (Outcome.PASSED, 0)
    (item,) = [t for t in report.tests if t.name == NAMES[1]]
    assert item.outcome is Outcome.SKIPPED
    assert item.message == "not judged (--steps-only): auc_roc is 0.5, expected >= 0.8"


def load_report_roundtrip(report: Report, folder: Path) -> Report:
    path = folder / "report.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return load_report(path)


def test_row_counts_relative_to_another_output_fail_with_both_counts(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(train_rows=5, predictions=rows(2)))
    found = verdicts(flow)
    assert found[NAMES[0]] == (
        "failed",
        "row_count: 5 rows, fewer than 2x prep.test (2 * 3 = 6 rows)",
    )
    assert found[NAMES[4]] == ("failed", "row_count: 2 rows, not as many as prep.test (3 rows)")
    assert flow.exit_code == 1


def test_what_was_not_written_fails_with_that_reason(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(predictions="", metrics={}))
    found = verdicts(flow)
    assert found["score: auc_roc >= 0.8"] == (
        "failed",
        "metric 'auc_roc' not in metrics/metrics.json (it has: nothing)",
    )
    assert found["score: output predictions/*.csv"] == (
        "failed",
        "expected output 'predictions/*.csv' was not written (outputs: metrics/metrics.json)",
    )
    outcome, message = found["score.predictions: no_nan_predictions"]
    assert outcome == "failed"
    assert message.startswith("no_nan_predictions: cannot read score.predictions: ")
    assert message.endswith(
        "holds no table files; allowed: .csv, .tsv, .parquet, .pq, .jsonl, .ndjson, .json"
    )


def test_links_a_step_left_in_its_outputs_are_not_followed(project: Path) -> None:
    file = project / "pipeline.yaml"
    flow = run(file, fake(metrics={"auc_roc": 0.5}))
    outputs = Path(flow.run_dir) / "steps" / "score" / "outputs"
    host = project / "host"
    host.mkdir()
    (host / "metrics.json").write_text('{"auc_roc": 0.99}')
    (host / "predictions.csv").write_text(rows(3))
    for link, target in (
        (outputs / "metrics" / "metrics.json", host / "metrics.json"),
        (outputs / "predictions" / "predictions.csv", host / "predictions.csv"),
    ):
        link.unlink()
        link.symlink_to(target)
    found = {r.name: r for r in judge(load_and_validate(file), read_manifest(Path(flow.run_dir)))}
    assert found["score: auc_roc >= 0.8"].message.startswith(
        "metrics file 'metrics.json' was not written"
    )
    assert found["score: output predictions/*.csv"].outcome == "failed"
    assert found["score.predictions: no_nan_predictions"].outcome == "failed"


def test_expectations_of_a_step_that_did_not_succeed_are_skipped(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(score=FakeBehaviour(exit_code=1)))
    found = verdicts(flow)
    assert found[NAMES[0]][0] == "passed"
    for name in NAMES[1:]:
        assert found[name] == ("skipped", "not judged: 'score' did not succeed (failed)")
    report = report_of(flow)
    assert [t.outcome for t in report.tests if t.kind == "expectation"] == [
        Outcome.PASSED,
        *[Outcome.SKIPPED] * 4,
    ]


def test_a_check_comparing_with_a_step_that_did_not_succeed_is_skipped(project: Path) -> None:
    text = PIPELINE.replace("{at_least: 2x prep.test}", "{at_least: score.predictions}")
    flow = run(write(project, "later.yaml", text), fake(score=FakeBehaviour(exit_code=1)))
    assert verdicts(flow)["prep.train: row_count {at_least: score.predictions}"] == (
        "skipped",
        "not judged: 'score', whose output it compares with, did not succeed (failed)",
    )
    flow = run(project / "pipeline.yaml", fake(prep=FakeBehaviour(exit_code=2)))
    assert verdicts(flow)[NAMES[0]] == ("skipped", "not judged: 'prep' did not succeed (failed)")
    assert verdicts(flow)[NAMES[4]][1] == "not judged: 'score' did not succeed (skipped)"


def test_steps_off_the_tested_path_are_not_judged(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(), path=["prep", "train"])
    assert verdicts(flow)[NAMES[0]][0] == "passed"
    assert verdicts(flow)[NAMES[1]] == ("skipped", "not judged: 'score' was not part of this run")
    assert flow.exit_code == 0


def test_a_missed_check_of_warning_severity_passes_with_its_warning(project: Path) -> None:
    text = PIPELINE.replace("[no_nan_predictions,", "[{no_nan_predictions: {severity: warning}},")
    file = write(project, "warned.yaml", text)
    flow = run(file, fake(predictions=rows(3, probability="")))
    outcome, message = verdicts(flow)["score.predictions: no_nan_predictions {severity: warning}"]
    assert outcome == "passed" and message.startswith("warning: no_nan_predictions: 3 of 3 rows")
    assert flow.exit_code == 0
    (item,) = [t for t in report_of(flow).tests if t.name.startswith("score.predictions: no_nan")]
    assert item.outcome is Outcome.PASSED and item.details == [message]


def test_unittest_and_pytest_verdicts_name_each_expectation(project: Path) -> None:
    file = project / "pipeline.yaml"
    pipeline = load_and_validate(file)
    assert pipeline_tests(pipeline)[-5:] == [("expectation", name) for name in NAMES]
    runner = CitRunner(project / ".cit", find_engine=lambda: fake(metrics={"auc_roc": 0.5}))
    outcome = runner.run_pipeline(pipeline, file)
    assert not outcome.ok
    assert outcome.problems == ["score: auc_roc >= 0.8: auc_roc is 0.5, expected >= 0.8"]
    verdict = pipeline_verdict(outcome, "score: auc_roc >= 0.8")
    assert verdict.outcome is Outcome.FAILED and verdict.run_dir == str(outcome.run_dir)
    assert pipeline_verdict(outcome, NAMES[0]).outcome is Outcome.PASSED
    assert pipeline_verdict(outcome, "score").outcome is Outcome.PASSED


# -- test-all scenarios -----------------------------------------------------------------------

CONFIG = """
test_scenarios:
  - name: scored
    dag_file: pipeline.yaml
    expectations:
      score:
        metrics: {accuracy: ">= 0.9"}
        data_quality:
          predictions: [{row_count: {at_most: 0.5x reference/rows.csv}}]
"""


def test_a_scenario_adds_expectations_judged_in_its_suite(project: Path) -> None:
    write(project, "reference/rows.csv", rows(4))
    config = load_config(write(project, "config.yaml", CONFIG))
    result = run_all(
        config,
        RunContext(
            engine=fake(metrics={"auc_roc": 0.9, "accuracy": 0.7}), settings=settings(project)
        ),
    )
    (suite,) = result.suites
    found = {t.name: (t.outcome, t.message) for t in suite.tests if t.kind == "expectation"}
    at_most = "score.predictions: row_count {at_most: 0.5x reference/rows.csv}"
    assert list(found) == [*NAMES, "score: accuracy >= 0.9", at_most]
    assert found["score: accuracy >= 0.9"] == (Outcome.FAILED, "accuracy is 0.7, expected >= 0.9")
    assert found[at_most] == (
        Outcome.FAILED,
        "row_count: 3 rows, more than 0.5x reference/rows.csv (0.5 * 4 = 2 rows)",
    )
    assert suite.outcome is Outcome.FAILED and result.exit_code == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '">= 0.9"',
            '"at least 0.9"',
            "test_scenarios.scored.expectations.score.metrics.accuracy: cannot read",
        ),
        (
            "score:\n        metrics",
            "scor:\n        metrics",
            "test_scenarios.scored.expectations.scor: no step named 'scor'",
        ),
        (
            "reference/rows.csv",
            "reference/none.csv",
            "test_scenarios.scored.expectations.score.data_quality.predictions.0.row_count."
            "at_most: 'reference/none.csv' is neither",
        ),
    ],
)
def test_mistakes_in_a_scenarios_expectations_are_found_before_anything_runs(
    project: Path, old: str, new: str, expected: str
) -> None:
    write(project, "reference/rows.csv", rows(4))
    file = write(project, "config.yaml", CONFIG.replace(old, new))
    engine = fake()
    with pytest.raises(InputError) as caught:
        run_all(load_config(file), RunContext(engine=engine, settings=settings(project)))
    assert str(caught.value).startswith(f"{file}: ") and expected in str(caught.value)
    assert engine.specs == []


def test_the_console_table_shows_what_a_step_wrote_as_text(project: Path) -> None:
    flow = run(project / "pipeline.yaml", fake(metrics={"[bold]auc\x1b[2J": 0.9}))
    out = io.StringIO()
    print_expectations(Console(file=out, width=200, color_system=None), flow.expectations)
    text = out.getvalue()
    assert "(it has: [bold]auc\\x1b[2J)" in text
    assert "\x1b" not in text
    assert "expectations: 4 passed, 1 failed" in text

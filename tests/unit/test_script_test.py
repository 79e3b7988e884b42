"""The script test runner on the fake engine: step resolution, one run per case, the case's
inputs/env/arguments in the container spec, and the verdict of each case."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.errors import InputError
from orchestrator.run.context import RunContext
from orchestrator.run.results import Status
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.cases import load_test_cases
from orchestrator.scripttest.runner import resolve_step, run_script_tests, scanned_outputs

SCRIPT = """
import json, os
LABEL = os.environ["LABEL"]
open("/opt/ml/processing/output/metrics/metrics.json", "w").write(json.dumps({"auc": 0.9}))
open("/opt/ml/processing/output/predictions/p.csv", "w").write("id,probability\\n1,0.5\\n")
"""
METRICS = "/opt/ml/processing/output/metrics/metrics.json"
PREDICTIONS = "/opt/ml/processing/output/predictions/p.csv"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "evaluate.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.csv").write_text("id,label\n1,0\n2,1\n")
    return tmp_path


def cases(folder: Path, text: str) -> Path:
    path = folder / "cases.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit",
        max_workers=1,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
    )


def engine(auc: float = 0.9, rows: int = 2, exit_code: int = 0) -> FakeEngine:
    predictions = "id,probability\n" + "".join(f"{i},0.5\n" for i in range(rows))
    behaviour = FakeBehaviour(
        exit_code=exit_code,
        logs=["small_dataset_warning: only 2 rows"],
        writes={METRICS: json.dumps({"auc": auc}), PREDICTIONS: predictions},
    )
    return FakeEngine({"evaluate": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})


CASES = """
test_cases:
  - name: good
    input_data: {test: data}
    environment_vars: {LABEL: label}
    arguments: ["--threshold", "0.5"]
    expected_metrics: {auc: ">= 0.8"}
    expected_outputs: ["metrics.json", "predictions/*.csv"]
    expected_behavior: {min_predictions: 2}
    warnings_expected: ["small_dataset_warning"]
  - name: strict
    input_data: {test: data}
    environment_vars: {LABEL: label}
    expected_metrics: {auc: ">= 0.95"}
    expected_outputs: ["roc_curve.jpg"]
"""


def test_outputs_are_read_from_the_script(project: Path) -> None:
    assert scanned_outputs(project / "evaluate.py") == ["metrics", "predictions"]


def test_each_case_runs_in_its_own_container_with_its_inputs(project: Path) -> None:
    step, source = resolve_step(str(project / "evaluate.py"))
    fake = engine()
    loaded = load_test_cases(cases(project, CASES))
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=fake, settings=settings(project)),
        source_file=source,
    )
    assert [s.labels["cit.step"] for s in fake.specs] == ["evaluate", "evaluate"]
    first = fake.specs[0]
    assert first.env["LABEL"] == "label"
    assert list(first.command[-2:]) == ["--threshold", "0.5"]
    assert any(m.target == "/opt/ml/processing/input/test" and m.read_only for m in first.mounts)
    assert (result.total, result.passed) == (2, 1) and result.exit_code == 1
    good, strict = result.test_results
    assert good.passed and good.error_message is None and good.run_dir is not None
    assert good.run_dir != strict.run_dir
    messages = [f.message for f in strict.failures]
    assert len(messages) == 2, messages  # every failed expectation, not just the first
    assert "auc is 0.9, expected >= 0.95" in messages[0]
    assert "roc_curve.jpg" in messages[1]


def test_min_predictions_counts_the_predictions_output(project: Path) -> None:
    step, source = resolve_step(str(project / "evaluate.py"))
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: few
                input_data: {test: data}
                expected_behavior: {min_predictions: 5}
            """,
        )
    )
    fake = engine(rows=3)
    # A second table among the outputs: only the output's name says which one holds the
    # predictions (with one table, it would be picked as the only one).
    per_class = "class,count\n" + "".join(f"{i},1\n" for i in range(10))
    fake.behaviours["evaluate"].writes["/opt/ml/processing/output/metrics/per_class.csv"] = (
        per_class
    )
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=fake, settings=settings(project)),
        source_file=source,
    )
    (case,) = result.test_results
    assert not case.passed
    assert case.error_message == "wrote 3 predictions, fewer than min_predictions 5"


def test_a_step_of_a_pipeline_by_name(project: Path) -> None:
    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data}, outputs: [metrics, predictions], env: {LABEL: x}}\n"
    )
    step, source = resolve_step("evaluate", dag=project / "p.yaml")
    assert step.name == "evaluate" and source == project / "p.yaml"
    with pytest.raises(InputError, match="no step named 'nope'; steps: evaluate"):
        resolve_step("nope", dag=project / "p.yaml")


def test_a_case_must_give_every_input_of_the_step(project: Path) -> None:
    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data, model: data}, outputs: [metrics]}\n"
    )
    step, source = resolve_step("evaluate", dag=project / "p.yaml")
    loaded = load_test_cases(cases(project, CASES))
    with pytest.raises(InputError, match=r"gives no data for input model of 'evaluate'"):
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(engine=engine(), settings=settings(project)),
            source_file=source,
        )


def test_should_complete_false_passes_when_the_script_fails(project: Path) -> None:
    step, source = resolve_step(str(project / "evaluate.py"))
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: bad-input
                input_data: {test: data}
                expected_behavior: {should_complete: false}
            """,
        )
    )
    failing = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(exit_code=1), settings=settings(project)),
        source_file=source,
    )
    assert failing.test_results[0].passed
    succeeding = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(), settings=settings(project)),
        source_file=source,
    )
    assert "should_complete" in (succeeding.test_results[0].error_message or "")


def test_data_quality_checks_run_on_the_predictions(project: Path) -> None:
    step, source = resolve_step(str(project / "evaluate.py"))
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: quality
                input_data: {test: data}
                data_quality_assertions:
                  - predictions_in_range_0_1
                  - consistent_prediction_count
                  - {check: row_count, min: 10, severity: warning}
            """,
        )
    )
    same = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(rows=2), settings=settings(project)),
        source_file=source,
    )
    assert same.test_results[0].passed, same.test_results[0].failures
    more = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(rows=3), settings=settings(project)),
        source_file=source,
    )
    (failure,) = more.test_results[0].failures  # the warning-level row_count is not a failure
    assert failure.kind == "data_quality" and failure.expectation == "consistent_prediction_count"
    assert "3" in failure.message and "2" in failure.message


def test_script_unit_tester_from_a_contract(project: Path) -> None:
    from orchestrator.scripttest.tester import ScriptUnitTester

    (project / "contract.yaml").write_text(
        "entry_point: evaluate.py\n"
        "expected_input_paths: {test: /opt/ml/processing/input/test}\n"
        "expected_output_paths:\n"
        "  metrics: /opt/ml/processing/output/metrics\n"
        "  predictions: /opt/ml/processing/output/predictions\n"
    )
    tester = ScriptUnitTester(
        project / "contract.yaml", engine=engine(auc=0.7), settings=settings(project)
    )
    result = tester.test_script_functionality(
        [
            {"name": "ok", "input_data": {"test": str(project / "data")}},
            {
                "name": "auc",
                "input_data": {"test": str(project / "data")},
                "expected_metrics": {"auc": ">= 0.8"},
            },
        ]
    )
    assert (result.passed, result.total) == (1, 2)
    assert [(r.name, r.passed) for r in result.test_results] == [("ok", True), ("auc", False)]
    assert result.test_results[1].error_message == "auc is 0.7, expected >= 0.8"
    with pytest.raises(InputError, match="entry_point"):
        ScriptUnitTester(project / "contract.yaml", script=project / "nope.py")


# Process isolation: the same runner, a host process instead of a container (no Docker).

PROCESS_SCRIPT = """
import argparse, csv, json, os
from pathlib import Path

def main(input_paths, output_paths, environ_vars, job_args):
    rows = []
    for file in sorted(Path(input_paths["test"]).glob("*.csv")):
        with file.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    if "label" not in rows[0]:
        raise ValueError("input has no 'label' column")
    if len(rows) < 5:
        print("small_dataset_warning: only", len(rows), "rows")
    scale = float(environ_vars["SCALE"])
    threshold = float(job_args.threshold)
    scores = [min(1.0, int(r["id"]) / scale) for r in rows]
    with open(Path(output_paths["predictions"], "p.csv"), "w") as out:
        out.write("id,probability\\n" + "".join(f"{r['id']},{s}\\n" for r, s in zip(rows, scores)))
    metrics = {"auc": sum(s >= threshold for s in scores) / len(scores), "rows": len(rows)}
    Path(output_paths["metrics"], "metrics.json").write_text(json.dumps(metrics))

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", default="0.5")
    main({"test": "/opt/ml/processing/input/test"},
         {"metrics": "/opt/ml/processing/output/metrics",
          "predictions": "/opt/ml/processing/output/predictions"},
         dict(os.environ), parser.parse_args())
"""

PROCESS_CASES = """
test_cases:
  - name: good
    input_data: {test: data}
    environment_vars: {SCALE: "4"}
    arguments: ["--threshold", "0.5"]
    expected_metrics: {auc: "== 0.5", rows: "== 2"}
    expected_outputs: ["metrics.json", "predictions/p.csv"]
    expected_behavior: {min_predictions: 2}
    data_quality_assertions: [predictions_in_range_0_1, consistent_prediction_count]
    warnings_expected: ["small_dataset_warning: only 2 rows"]
  - name: strict
    input_data: {test: data}
    environment_vars: {SCALE: "4"}
    arguments: ["--threshold", "0.9"]
    expected_metrics: {auc: ">= 0.5"}
    expected_outputs: ["roc_curve.jpg"]
  - name: bad-input
    input_data: {test: bad}
    environment_vars: {SCALE: "4"}
    arguments: ["--threshold", "0.5"]
    expected_behavior: {should_complete: false}
    warnings_expected: ["/ValueError: input has no 'label' column$/"]
"""


@pytest.fixture
def process_project(project: Path) -> Path:
    (project / "evaluate.py").write_text(textwrap.dedent(PROCESS_SCRIPT))
    (project / "bad").mkdir()
    (project / "bad" / "x.csv").write_text("id,other\n1,2\n")
    return project


def test_process_isolation_runs_main_and_judges_every_case(
    process_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{process_project}/no-such.sock")
    step, source = resolve_step(str(process_project / "evaluate.py"))
    loaded = load_test_cases(cases(process_project, PROCESS_CASES))
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(settings=settings(process_project), isolation="process"),
        source_file=source,
    )
    good, strict, bad = result.test_results
    assert [r.isolation for r in result.test_results] == ["process"] * 3
    assert good.passed, good.failures
    assert good.run_dir is not None
    outputs = good.run_dir / "steps" / "evaluate" / "outputs"
    assert json.loads((outputs / "metrics" / "metrics.json").read_text()) == {
        "auc": 0.5,
        "rows": 2,
    }
    assert (outputs / "predictions" / "p.csv").read_text() == "id,probability\n1,0.25\n2,0.5\n"
    assert [f.message for f in strict.failures] == [
        "auc is 0, expected >= 0.5",
        "expected output 'roc_curve.jpg' was not written "
        "(outputs: metrics/metrics.json, predictions/p.csv)",
    ]
    assert bad.passed, bad.failures  # it crashed, as it should
    log = (bad.run_dir or Path()) / "steps" / "evaluate" / "log.txt"
    assert "Traceback (most recent call last):" in log.read_text()
    assert (result.passed, result.total) == (2, 3)
    manifest = json.loads(((good.run_dir or Path()) / "manifest.json").read_text())
    assert manifest["steps"][0]["image_id"] == "process:host-python"


def test_process_isolation_refuses_a_script_without_main_before_running(
    project: Path,
) -> None:
    step, source = resolve_step(str(project / "evaluate.py"))
    loaded = load_test_cases(cases(project, CASES))
    fake = engine()
    with pytest.raises(InputError, match=r"evaluate.py has no main\(input_paths, output_paths"):
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(engine=fake, settings=settings(project), isolation="process"),
            source_file=source,
        )
    assert fake.specs == [] and not (project / ".cit").exists()


def test_process_isolation_refuses_arguments_that_are_no_options(process_project: Path) -> None:
    step, source = resolve_step(str(process_project / "evaluate.py"))
    loaded = load_test_cases(
        cases(
            process_project,
            """
            test_cases:
              - name: positional
                input_data: {test: data}
                arguments: ["--threshold", "0.5", "extra"]
            """,
        )
    )
    with pytest.raises(InputError, match=r"test_cases.positional.arguments: argument 'extra'"):
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(settings=settings(process_project), isolation="process"),
            source_file=source,
        )


def test_the_isolation_given_is_the_one_recorded(process_project: Path) -> None:
    step, source = resolve_step(str(process_project / "evaluate.py"))
    loaded = load_test_cases(cases(process_project, CASES))
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(), settings=settings(process_project)),
        source_file=source,
    )
    assert [r.isolation for r in result.test_results] == ["container", "container"]


def test_script_unit_tester_in_process_isolation(process_project: Path) -> None:
    from orchestrator.scripttest.tester import ScriptUnitTester

    (process_project / "contract.yaml").write_text(
        "entry_point: evaluate.py\n"
        "expected_input_paths: {test: /opt/ml/processing/input/test}\n"
        "expected_output_paths:\n"
        "  metrics: /opt/ml/processing/output/metrics\n"
        "  predictions: /opt/ml/processing/output/predictions\n"
    )
    tester = ScriptUnitTester(
        process_project / "contract.yaml", settings=settings(process_project), isolation="process"
    )
    case = {
        "name": "ok",
        "input_data": {"test": str(process_project / "data")},
        "environment_vars": {"SCALE": "2"},
        "arguments": ["--threshold", "0.9"],
        "expected_metrics": {"auc": "== 0.5"},
    }
    result = tester.test_script_functionality([case])
    assert (result.passed, result.total) == (1, 1), result.test_results
    assert result.test_results[0].isolation == "process"


# --- one quick check without a test-case file -------------------------------------------------


def test_quick_case_maps_the_only_input_and_picks_checks(project: Path) -> None:
    from orchestrator.scripttest.runner import quick_case

    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data}, outputs: [metrics, predictions]}\n"
    )
    step, _ = resolve_step("evaluate", dag=project / "p.yaml")
    case = quick_case(step, project / "data")
    assert list(case.input_data) == ["test"]
    assert [c.check for c in case.data_quality_assertions] == [
        "row_count",
        "max_missing_ratio",
        "predictions_in_range_0_1",
        "no_nan_predictions",
        "consistent_prediction_count",
    ]
    named = quick_case(step, project / "data", quality_checks="no_missing_values, row_count")
    assert [c.check for c in named.data_quality_assertions] == ["no_missing_values", "row_count"]
    with pytest.raises(InputError, match="--quality-checks: unknown check 'nope'"):
        quick_case(step, project / "data", quality_checks="nope")
    with pytest.raises(InputError, match="columns: required by unique_key; checks with param"):
        quick_case(step, project / "data", quality_checks="unique_key")


def test_quick_case_needs_channels_for_several_inputs(project: Path) -> None:
    from orchestrator.scripttest.runner import quick_case

    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data, model: data}, outputs: [metrics]}\n"
    )
    step, _ = resolve_step("evaluate", dag=project / "p.yaml")
    with pytest.raises(InputError, match="has inputs test, model; give each as --input-data"):
        quick_case(step, project / "data")
    case = quick_case(step, {"test": project / "data", "model": project / "data"})
    assert sorted(case.input_data) == ["model", "test"]


def test_data_quality_of_one_run_from_python(project: Path) -> None:
    from orchestrator.scripttest.tester import ScriptUnitTester

    (project / "contract.yaml").write_text(
        "entry_point: evaluate.py\n"
        "expected_input_paths: {test: /opt/ml/processing/input/test}\n"
        "expected_output_paths:\n"
        "  metrics: /opt/ml/processing/output/metrics\n"
        "  predictions: /opt/ml/processing/output/predictions\n"
    )
    (project / "predictions.yaml").write_text(
        "format: csv\ncolumns: {id: integer, probability: {type: float, max: 0.4}}\n"
    )
    tester = ScriptUnitTester(
        project / "contract.yaml", engine=engine(rows=2), settings=settings(project)
    )
    result = tester.test_data_quality(project / "data")
    assert result.passed, result.failures  # 2 input rows, 2 predictions in [0, 1]
    schema = tester.test_data_quality(project / "data", project / "predictions.yaml")
    assert [(f.kind, f.actual) for f in schema.failures] == [("schema", "value_out_of_range")]


def test_a_case_reads_registered_test_data(project: Path) -> None:
    from orchestrator.scripttest.registry import TestDataRegistry

    registry = TestDataRegistry(project / ".cit" / "registry")
    entry = registry.register("evaluate", "standard", project / "data")
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: from-registry
                input_data: {test: {registry: evaluate/standard}}
            """,
        )
    )
    step, source = resolve_step(str(project / "evaluate.py"))
    fake = engine()
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=fake, settings=settings(project)),
        source_file=source,
    )
    assert result.test_results[0].passed
    (mount,) = [m for m in fake.specs[0].mounts if m.target == "/opt/ml/processing/input/test"]
    assert Path(mount.source) == registry.path(entry)
    missing = load_test_cases(
        cases(
            project, "test_cases:\n  - {name: x, input_data: {test: {registry: evaluate/nope}}}\n"
        )
    )
    fake = engine()
    with pytest.raises(InputError, match="nope"):
        run_script_tests(
            step,
            [*loaded.test_cases, *missing.test_cases],
            RunContext(engine=fake, settings=settings(project)),
            source_file=source,
        )
    assert fake.specs == []  # found before any case ran


# --- what is known wrong before anything runs -------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "{name: a, input_data: {test: data}, expected_schema: {nope: s.yaml}}",
            "test_cases.a.expected_schema: 'evaluate' has no output 'nope'",
        ),
        (
            "{name: a, input_data: {test: data},"
            " data_quality_assertions: [{check: row_count, output: nope}]}",
            "test_cases.a.data_quality_assertions: 'evaluate' has no output 'nope'",
        ),
    ],
)
def test_mistakes_stop_before_any_case_runs(project: Path, case: str, message: str) -> None:
    (project / "s.yaml").write_text("columns: {id: integer}\n")
    loaded = load_test_cases(
        cases(project, f"test_cases:\n  - {{name: ok, input_data: {{test: data}}}}\n  - {case}\n")
    )
    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data}, outputs: [metrics, predictions]}\n"
    )
    step, source = resolve_step("evaluate", dag=project / "p.yaml")
    fake = engine()
    with pytest.raises(InputError, match=message) as caught:
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(engine=fake, settings=settings(project)),
            source_file=source,
        )
    assert "cases.yaml" in str(caught.value)
    assert fake.specs == []


def test_a_channel_the_step_does_not_have(project: Path) -> None:
    (project / "p.yaml").write_text(
        "name: p\nsteps:\n  evaluate: {kind: processing, script: evaluate.py,"
        " inputs: {test: data}, outputs: [metrics]}\n"
    )
    step, source = resolve_step("evaluate", dag=project / "p.yaml")
    loaded = load_test_cases(
        cases(project, "test_cases:\n  - {name: a, input_data: {test: data, extra: data}}\n")
    )
    with pytest.raises(InputError, match="has no input extra; its inputs: test"):
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(engine=engine(), settings=settings(project)),
            source_file=source,
        )


def test_a_script_file_takes_its_inputs_from_its_source_or_contract(project: Path) -> None:
    step, _ = resolve_step(str(project / "evaluate.py"))
    assert list(step.inputs) == []  # evaluate.py reads no /opt/ml/processing/input path
    (project / "reader.py").write_text(
        "import pandas\npandas.read_csv('/opt/ml/processing/input/raw/x.csv')\n"
        "open('/opt/ml/processing/input/code/helper.py')\n"
    )
    reader, _ = resolve_step(str(project / "reader.py"))
    assert list(reader.inputs) == ["raw"]
    (project / "contract.yaml").write_text(
        "entry_point: reader.py\n"
        "expected_input_paths: {rows: /opt/ml/processing/input/rows}\n"
        "expected_output_paths: {out: /opt/ml/processing/output/out}\n"
    )
    contracted, _ = resolve_step(str(project / "reader.py"), contract=project / "contract.yaml")
    assert list(contracted.inputs) == ["rows"]
    assert contracted.inputs["rows"].destination == "/opt/ml/processing/input/rows"


def test_checks_name_their_output_and_warnings_are_reported(project: Path) -> None:
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: per-output
                input_data: {test: data}
                data_quality_assertions:
                  - {check: row_count, output: predictions, max: 1, severity: warning}
                  - {check: no_missing_values, output: predictions}
            """,
        )
    )
    step, source = resolve_step(str(project / "evaluate.py"))
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=engine(rows=3), settings=settings(project)),
        source_file=source,
    )
    (case,) = result.test_results
    assert case.passed and case.failures == []
    (warning,) = case.warnings
    assert warning.expectation == "row_count" and "predictions" in warning.message


def test_synthetic_data_that_cannot_be_made_stops_before_any_case_runs(project: Path) -> None:
    (project / "bad.yaml").write_text("columns: {x: {type: integer, min: 5, max: 1}}\n")
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - {name: fine, input_data: {test: data}}
              - name: gen
                input_data: {test: {synthetic: {schema: bad.yaml, rows: 10}}}
            """,
        )
    )
    step, source = resolve_step(str(project / "evaluate.py"))
    fake = engine()
    with pytest.raises(InputError, match=r"test_cases\.gen\.input_data\.test: .*min 5") as caught:
        run_script_tests(
            step,
            loaded.test_cases,
            RunContext(engine=fake, settings=settings(project)),
            source_file=source,
        )
    assert "cases.yaml" in str(caught.value) and fake.specs == []


def test_ctrl_c_marks_the_running_case_and_the_rest_interrupted(project: Path) -> None:
    import threading

    from orchestrator.run.observer import NullObserver

    cancel = threading.Event()

    class CancelOnStart(NullObserver):
        def step_started(self, step: object) -> None:
            cancel.set()

    loaded = load_test_cases(
        cases(
            project,
            "test_cases:\n  - {name: a, input_data: {test: data}}\n"
            "  - {name: b, input_data: {test: data}}\n",
        )
    )
    step, source = resolve_step(str(project / "evaluate.py"))
    fake = FakeEngine(
        {"evaluate": FakeBehaviour(seconds=5.0)}, images={RUNNER_IMAGE: "sha256:runner"}
    )
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(
            engine=fake, settings=settings(project), observer=CancelOnStart(), cancel=cancel
        ),
        source_file=source,
    )
    assert [(r.name, r.error_message, r.passed) for r in result.test_results] == [
        ("a", "interrupted", False),
        ("b", "interrupted", False),
    ]
    assert [r.run_status for r in result.test_results] == [Status.INTERRUPTED] * 2
    assert all(r.interrupted for r in result.test_results)
    assert result.test_results[0].run_dir is not None  # it had started


def test_a_case_that_failed_with_the_message_interrupted_is_failed_not_interrupted() -> None:
    from orchestrator.report.model import Outcome, case_test
    from orchestrator.scripttest.case_checks import Failure, TestCaseResult

    said = Failure(kind="behavior", expectation="completes", message="interrupted")
    failed = TestCaseResult(name="c", failures=[said], run_status=Status.FAILED)
    assert not failed.interrupted and not failed.passed
    assert case_test(failed, "s").outcome is Outcome.FAILED
    stopped = TestCaseResult(name="c", error_message="interrupted", run_status=Status.INTERRUPTED)
    assert case_test(stopped, "s").outcome is Outcome.INTERRUPTED
    again = TestCaseResult.model_validate_json(stopped.model_dump_json())
    assert again.interrupted and not again.passed


def test_the_report_shows_the_metrics_of_a_cases_own_metrics_file(project: Path) -> None:
    from orchestrator.report.model import script_suite

    step, source = resolve_step(str(project / "evaluate.py"))
    behaviour = FakeBehaviour(
        writes={
            METRICS: json.dumps({"auc": 0.5}),  # the default file, not this case's
            "/opt/ml/processing/output/metrics/eval/scores.json": json.dumps({"auc": 0.9}),
            PREDICTIONS: "id,probability\n1,0.5\n",
        }
    )
    fake = FakeEngine({"evaluate": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})
    loaded = load_test_cases(
        cases(
            project,
            """
            test_cases:
              - name: own-file
                input_data: {test: data}
                metrics_file: metrics/eval/scores.json
                expected_metrics: {auc: ">= 0.8"}
            """,
        )
    )
    result = run_script_tests(
        step,
        loaded.test_cases,
        RunContext(engine=fake, settings=settings(project)),
        source_file=source,
    )
    (case,) = result.test_results
    assert case.passed and case.metrics_file == "metrics/eval/scores.json"
    assert script_suite(result).metrics == {"own-file": {"auc": 0.9}}


def test_one_context_is_shared_by_every_case_of_a_command(project: Path) -> None:
    from orchestrator.run.observer import NullObserver

    started: list[str] = []

    class Seen(NullObserver):
        def step_started(self, step: object) -> None:
            started.append(str(getattr(step, "name", step)))

    built: list[str] = []
    step, source = resolve_step(str(project / "evaluate.py"))
    loaded = load_test_cases(cases(project, CASES))
    fake = FakeEngine({"evaluate": FakeBehaviour()})  # no runner image: it is built
    context = RunContext(
        engine=fake,
        settings=settings(project),
        observer=Seen(),
        build_default=built.append,
        run_id="20260101-000000-abcd",
    )
    result = run_script_tests(step, loaded.test_cases, context, source_file=source)
    assert [r.run_dir.name if r.run_dir else None for r in result.test_results] == [
        "20260101-000000-abcd-good",
        "20260101-000000-abcd-strict",
    ]
    assert started == ["evaluate", "evaluate"] and built == [RUNNER_IMAGE] * 2
    assert context.registry == project / ".cit" / "registry"


def test_a_context_without_an_engine_cannot_run_a_pipeline(project: Path) -> None:
    from orchestrator.pipeline.model import Pipeline

    with pytest.raises(ValueError, match="needs an engine"):
        RunContext(settings=settings(project)).run(Pipeline("p"), project / "p.yaml")


def test_the_console_calls_an_interrupted_case_interrupted_as_the_report_does() -> None:
    from rich.console import Console

    from orchestrator.report.console import print_script_result
    from orchestrator.scripttest.case_checks import ScriptTestResult, TestCaseResult

    stopped = TestCaseResult(name="c", error_message="interrupted", run_status=Status.INTERRUPTED)
    failed = TestCaseResult(name="d", error_message="boom", run_status=Status.FAILED)
    console = Console(record=True, width=120)
    print_script_result(console, ScriptTestResult(script="s", test_results=[stopped, failed]))
    rows = {line.split()[1]: line for line in console.export_text().splitlines() if "│" in line}
    assert "interrupted" in rows["c"] and "failed" not in rows["c"]
    assert "failed" in rows["d"]

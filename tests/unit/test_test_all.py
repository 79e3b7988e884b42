"""cit test-all on the fake engine: the configuration's scenarios, script tests and global
data-quality checks become suites and tests; execution settings reach the container specs;
every mistake is found before anything runs; Ctrl-C stops the rest; uploads go to (moto's) S3."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.errors import InputError
from orchestrator.report.config import ReportingConfig
from orchestrator.report.model import Outcome, Suite
from orchestrator.report.write import write_reports
from orchestrator.run.context import RunContext
from orchestrator.run.settings import RUNNER_IMAGE, RunSettings
from orchestrator.suite.config import load_config
from orchestrator.suite.run import TestAllResult, needs_containers, run_all, suite_line
from tests.s3_server import S3Server

OUT = "/opt/ml/processing/output/out/data.csv"
SCORES = "/opt/ml/processing/output/scores/scores.csv"
OTHER = "/opt/ml/processing/output/other/other.csv"
GOOD = "id,label,amount\n1,0,10.0\n2,1,12.0\n3,0,11.0\n4,1,9.0\n"
HOLES = "id,label,amount\n1,0,\n2,1,12.0\n3,0,\n4,1,9.0\n"
PIPELINE = """
name: shop
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
  use: {kind: processing, script: scripts/use.py, outputs: [scores],
        inputs: {data: {step: prep, output: out}}}
  side: {kind: processing, script: scripts/use.py, outputs: [other], inputs: {data: data}}
"""
OTHER_PIPELINE = """
name: other
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
"""
SCENARIO = """
test_scenarios:
  - name: shop
    dag_file: pipeline.yaml
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two pipelines (shop: prep -> use, and side; other: prep) and a reference table."""
    files = {
        "scripts/prep.py": "print('prep')\n",
        "scripts/use.py": "print('use')\n",
        "data/raw.csv": "id,label\n1,0\n",
        "reference/ref.csv": GOOD,
        "pipeline.yaml": PIPELINE,
        "other.yaml": OTHER_PIPELINE,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit",
        max_workers=4,
        cpus_available=4,
        memory_available=8 * 2**30,
        user=None,
    )


def engine(
    out: str = GOOD, use_exit: int = 0, seconds: float = 0.0, **more: FakeBehaviour
) -> FakeEngine:
    behaviours = {
        "prep": FakeBehaviour(writes={OUT: out}, seconds=seconds),
        "use": FakeBehaviour(exit_code=use_exit, writes={SCORES: "id,probability\n1,0.5\n"}),
        "side": FakeBehaviour(writes={OTHER: "id,amount\n1,3.0\n"}, seconds=seconds),
        **more,
    }
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner", "mine:1": "sha256:m"})


def write_config(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def run(
    folder: Path,
    text: str,
    fake: FakeEngine | None = None,
    *,
    cancel: threading.Event | None = None,
    on_suite: Callable[[Suite], None] | None = None,
) -> TestAllResult:
    config = load_config(write_config(folder, text))
    engine_ = fake if fake is not None else engine()
    context = RunContext(engine=engine_, settings=settings(folder), cancel=cancel)
    return run_all(config, context, on_suite=on_suite)


def items_of(suite: Suite) -> dict[str, tuple[str, Outcome]]:
    return {test.name: (test.kind, test.outcome) for test in suite.tests}


# -- what runs and what the suites say ---------------------------------------------------------


def test_a_green_configuration_gives_one_suite_per_scenario_and_script_test(
    project: Path,
) -> None:
    text = (
        SCENARIO
        + """
script_tests:
  use:
    test_cases:
      - name: reads-the-data
        input_data: {data: data}
        expected_outputs: [scores/scores.csv]
        data_quality_checks: [no_nan_predictions]
data_quality_checks:
  - {check_type: schema_validation, strict_mode: true}
  - {check_type: missing_value_detection, max_missing_ratio: 0.0}
  - {check_type: statistical_validation, column: label, mean: [0.25, 0.75]}
  - {check_type: data_drift_detection, reference: reference/ref.csv, outputs: [prep.out]}
"""
    )
    seen: list[str] = []
    result = run(project, text, on_suite=lambda suite: seen.append(suite_line(suite)))
    assert result.exit_code == 0
    pipeline, script = result.suites
    assert (pipeline.name, pipeline.kind, pipeline.outcome) == ("shop", "pipeline", Outcome.PASSED)
    assert items_of(pipeline) == {
        "prep": ("step", Outcome.PASSED),
        "use": ("step", Outcome.PASSED),
        "side": ("step", Outcome.PASSED),
        "prep.out -> use.data": ("edge", Outcome.PASSED),
        "max_missing_ratio on prep.out": ("quality", Outcome.PASSED),
        "max_missing_ratio on use.scores": ("quality", Outcome.PASSED),
        "max_missing_ratio on side.other": ("quality", Outcome.PASSED),
        "statistics(label) on prep.out": ("quality", Outcome.PASSED),
        "distribution_drift on prep.out": ("quality", Outcome.PASSED),
    }
    drift = next(t for t in pipeline.tests if t.name == "distribution_drift on prep.out")
    assert drift.classname == "prep"
    assert [line.split(" matches ")[0] for line in drift.details] == [
        "passed: id",
        "passed: label",
        "passed: amount",
    ]  # every column it shares with the reference
    assert (script.name, script.kind, script.outcome) == ("use", "script", Outcome.PASSED)
    assert items_of(script) == {"reads-the-data": ("case", Outcome.PASSED)}
    assert script.cases[0].quality_checks_run == 1  # the seed's data_quality_checks
    assert seen == [
        "pipeline shop: passed (9 passed)",
        "script use: passed (1 passed)",
    ]


def test_failed_quality_checks_fail_the_suite_with_the_rows_that_fail(project: Path) -> None:
    text = (
        SCENARIO
        + """
data_quality_checks:
  - {check_type: missing_value_detection, max_missing_ratio: 0.1, columns: [amount]}
  - {check_type: statistical_validation, column: amount, mean: [100, 200], severity: warning}
"""
    )
    result = run(project, text, engine(out=HOLES))
    assert result.exit_code == 1
    (suite,) = result.suites
    assert suite.outcome is Outcome.FAILED
    missing = next(t for t in suite.tests if t.name == "max_missing_ratio on prep.out")
    assert missing.outcome is Outcome.FAILED and missing.failure_type == "max_missing_ratio"
    assert "amount 2 (50%)" in (missing.message or "")
    assert any(line.startswith("  row 0: ") for line in missing.details)
    warned = next(t for t in suite.tests if t.name == "statistics(amount) on prep.out")
    assert warned.outcome is Outcome.PASSED  # a warning fails nothing
    assert (warned.message or "").startswith("warning: amount: mean 10.5 outside [100, 200]")


def test_a_column_no_output_has_fails_unless_outputs_say_where(project: Path) -> None:
    text = SCENARIO + "data_quality_checks:\n  - {check_type: statistical_validation, "
    nowhere = run(project, text + "column: amuont, mean: [0, 1]}\n")
    (suite,) = nowhere.suites
    (item,) = [t for t in suite.tests if t.kind == "quality"]
    assert (item.name, item.classname, item.outcome) == (
        "statistics(amuont) on shop",
        "shop",
        Outcome.FAILED,
    )
    assert "no table output has column amuont" in (item.message or "")
    named = run(project, text + "column: amount, mean: [0, 100], outputs: [use.scores]}\n")
    (item,) = [t for t in named.suites[0].tests if t.kind == "quality"]
    assert item.name == "statistics(amount) on use.scores"
    assert item.outcome is Outcome.FAILED
    assert "column 'amount' is not in the table" in (item.message or "")


def test_drift_fails_on_shifted_data(project: Path) -> None:
    shifted = "id,label,amount\n" + "".join(f"{i},{i % 2},{100 + i}.0\n" for i in range(8))
    text = SCENARIO + (
        "data_quality_checks:\n"
        "  - {check_type: data_drift_detection, reference: reference/ref.csv, threshold: 0.1,"
        " outputs: [prep.out]}\n"
    )
    result = run(project, text, engine(out=shifted))
    (item,) = [t for t in result.suites[0].tests if t.kind == "quality"]
    assert item.outcome is Outcome.FAILED and item.failure_type == "distribution_drift"
    assert (item.message or "").startswith("id drifted from")
    assert any(line.startswith("failed: amount drifted from") for line in item.details)
    assert any(line.startswith("passed: label matches") for line in item.details)
    assert [d.column for d in item.distributions] == ["id", "label", "amount"]
    amount = item.distributions[2]
    assert sum(amount.actual) == pytest.approx(1.0) and sum(amount.reference) == pytest.approx(1.0)


def test_a_failing_scenario_does_not_stop_the_others(project: Path) -> None:
    text = """
test_scenarios:
  - {name: first, dag_file: pipeline.yaml}
  - {name: second, dag_file: other.yaml}
script_tests:
  side:
    test_cases: [{name: once, input_data: {data: data}}]
"""
    result = run(project, text, engine(use_exit=3))
    assert result.exit_code == 1
    assert [(s.name, s.outcome) for s in result.suites] == [
        ("first", Outcome.FAILED),
        ("second", Outcome.PASSED),
        ("side", Outcome.PASSED),
    ]
    assert items_of(result.suites[0])["use"] == ("step", Outcome.FAILED)


def test_a_failing_script_case_fails_its_suite(project: Path) -> None:
    text = (
        SCENARIO
        + """
script_tests:
  strict:
    script: use
    test_cases:
      - {name: wants-metrics, input_data: {data: data}, expected_metrics: {auc: ">= 0.9"}}
"""
    )
    result = run(project, text)
    assert result.exit_code == 1
    script = result.suites[1]
    assert (script.name, script.outcome) == ("strict", Outcome.FAILED)
    assert items_of(script) == {"wants-metrics": ("case", Outcome.FAILED)}


# -- execution settings ---------------------------------------------------------------------


def overlapped(suite: Suite, a: str, b: str) -> bool:
    assert suite.run is not None
    first, second = suite.run.step(a), suite.run.step(b)
    assert first.started_at and first.finished_at and second.started_at and second.finished_at
    return first.started_at < second.finished_at and second.started_at < first.finished_at


def test_parallel_execution_false_runs_one_step_at_a_time(project: Path) -> None:
    parallel = run(project, SCENARIO + "execution: {max_workers: 2}\n", engine(seconds=0.3))
    assert overlapped(parallel.suites[0], "prep", "side")
    serial = run(
        project, SCENARIO + "execution: {parallel_execution: false}\n", engine(seconds=0.3)
    )
    assert not overlapped(serial.suites[0], "prep", "side")


def test_container_image_and_timeouts_reach_the_container_specs(project: Path) -> None:
    text = """
test_scenarios:
  - {name: capped, dag_file: pipeline.yaml, timeout_minutes: 2}
  - {name: default-cap, dag_file: other.yaml}
script_tests:
  side:
    test_cases: [{name: once, input_data: {data: data}}]
execution: {container_image: "mine:1", timeout_minutes: 5, pids_limit: 512}
"""
    fake = engine()
    assert run(project, text, fake).exit_code == 0
    by_run = {(s.labels["cit.pipeline"], s.labels["cit.step"]): s for s in fake.specs}
    assert {s.image for s in fake.specs} == {"mine:1"}
    assert {s.pids_limit for s in fake.specs} == {512}
    assert by_run[("shop", "prep")].timeout_seconds == 120  # the scenario's own cap
    assert by_run[("other", "prep")].timeout_seconds == 300  # execution.timeout_minutes
    assert by_run[("side-once", "side")].timeout_seconds == 300  # script tests too


def test_test_data_replaces_the_inputs_it_names(project: Path) -> None:
    data = project / "test_data" / "prep.raw"
    data.mkdir(parents=True)
    (data / "small.csv").write_text("id,label\n9,1\n")
    text = (
        "test_scenarios:\n  - {name: small, dag_file: pipeline.yaml, test_data_path: test_data}\n"
    )
    fake = engine()
    assert run(project, text, fake).exit_code == 0
    prep = next(s for s in fake.specs if s.labels["cit.step"] == "prep")
    side = next(s for s in fake.specs if s.labels["cit.step"] == "side")
    sources = {m.target: m.source for m in prep.mounts}
    assert sources["/opt/ml/processing/input/raw"] == str(data.resolve())
    assert {m.source for m in side.mounts} >= {str(project / "data")}  # not named: untouched


def test_script_tests_in_process_isolation_need_no_engine(project: Path) -> None:
    (project / "double.py").write_text(
        textwrap.dedent(
            """
            import os
            SOURCE = "/opt/ml/processing/input/data"
            TARGET = "/opt/ml/processing/output/result"

            def main(input_paths, output_paths, environ_vars, job_args):
                with open(os.path.join(output_paths["result"], "result.csv"), "w") as f:
                    f.write("id\\n1\\n")
            """
        )
    )
    text = """
script_tests:
  double.py:
    test_cases: [{name: once, input_data: {data: data}, expected_outputs: [result/result.csv]}]
execution: {isolation_mode: process}
"""
    config = load_config(write_config(project, text))
    assert not needs_containers(config)
    result = run_all(config, RunContext(engine=None, settings=settings(project)))
    assert result.exit_code == 0, result.suites[0].cases
    (suite,) = result.suites
    assert suite.name == "double.py"
    assert suite.cases[0].isolation == "process"


# -- Ctrl-C -----------------------------------------------------------------------------------


def test_cancel_stops_the_running_scenario_and_marks_the_rest_interrupted(project: Path) -> None:
    text = """
test_scenarios:
  - {name: first, dag_file: pipeline.yaml}
  - {name: second, dag_file: other.yaml}
script_tests:
  side:
    test_cases: [{name: once, input_data: {data: data}}]
"""
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    try:
        result = run(project, text, engine(seconds=10), cancel=cancel)
    finally:
        timer.cancel()
    assert result.exit_code == 130
    first, second, script = result.suites
    assert first.outcome is Outcome.INTERRUPTED and first.run is not None
    assert second.outcome is Outcome.INTERRUPTED and second.run is None
    assert items_of(second) == {"prep": ("step", Outcome.SKIPPED)}
    assert script.outcome is Outcome.INTERRUPTED
    assert items_of(script) == {"once": ("case", Outcome.INTERRUPTED)}


# -- mistakes, all found before anything runs ---------------------------------------------------

CASE = "test_cases: [{name: c1, input_data: {data: data}}]"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        (
            "test_scenarios: [{name: a, dag_file: nope.yaml}]",
            "test_scenarios.a.dag_file",
            "no such pipeline file",
        ),
        (
            "test_scenarios: [{name: a, dag_file: pipeline.yaml, test_data_path: td}]",
            "test_scenarios.a.test_data_path",
            "'prep.rwa' in",
        ),
        (
            SCENARIO + "script_tests:\n  nothing: {" + CASE + "}",
            "script_tests.nothing",
            "'nothing' is no step of a scenario's pipeline and no script file",
        ),
        (
            "test_scenarios: [{name: a, dag_file: pipeline.yaml}, {name: b, dag_file: other.yaml}]"
            "\nscript_tests:\n  prep: {" + CASE.replace("data:", "raw:") + "}",
            "script_tests.prep",
            "is in several scenarios' pipelines",
        ),
        (
            SCENARIO + "script_tests:\n  use: {dag: other.yaml, " + CASE + "}",
            "script_tests.use",
            "no step named 'use' in",
        ),
        (
            SCENARIO + "script_tests:\n  use: {test_cases: [{name: c1, input_data: {data: data},"
            " data_quality_checks: [no_missing_valus]}]}",
            "script_tests.use.test_cases.c1.data_quality_checks.0.check",
            "unknown check 'no_missing_valus' (did you mean 'no_missing_values'?); allowed:",
        ),
        (
            SCENARIO + "script_tests:\n  use: {test_cases: [{name: c1, input_data: {data: data},"
            " data_quality_checks: [row_count], data_quality_assertions: [row_count]}]}",
            "script_tests.use.test_cases.c1",
            "not both",
        ),
        (
            SCENARIO + "script_tests:\n  use: {test_cases: [{name: c1, input_data: {raw: data}}]}",
            "script_tests.use.test_cases.c1.input_data",
            "gives no data for input data of 'use'",
        ),
        (
            SCENARIO + "script_tests:\n  use: {test_cases: [{name: c1, input_data: {data: nope}}]}",
            "script_tests.use.test_cases.c1.input_data.data.path",
            "no such file or folder",
        ),
        (
            SCENARIO + "data_quality_checks: [{check_type: statistical_validation, column: x,"
            " mean: [0, 1], outputs: [prep.nope]}]",
            "data_quality_checks.0.outputs",
            "'prep.nope' is no output of a scenario's step; outputs: prep.out, side.other,",
        ),
        (
            SCENARIO
            + "data_quality_checks: [{check_type: data_drift_detection, reference: no.csv}]",
            "data_quality_checks.0.reference",
            "cannot read it",
        ),
        (
            SCENARIO + "data_quality_checks: [{check_type: data_drift_detection,"
            " reference: reference/ref.csv, columns: [amont]}]",
            "data_quality_checks.0.columns",
            "has no column amont; its columns: id, label, amount",
        ),
        (
            "script_tests:\n  double.py: {" + CASE + "}\n"
            "data_quality_checks: [{check_type: missing_value_detection}]",
            "data_quality_checks",
            "check the outputs of test_scenarios, and there are none",
        ),
        (
            SCENARIO + "execution: {container_image: 'absent:1'}",
            "execution.container_image",
            "image 'absent:1' is not on the local engine",
        ),
        (
            "test_scenarios: [{name: a, dag_file: pipeline.yaml, s3_prefix: x}]",
            "test_scenarios.a.s3_prefix",
            "needs s3_bucket (or s3_integration.default_bucket)",
        ),
        (
            SCENARIO + "reporting: {output_directory: mine}",
            "reporting.output_directory",
            "exists and is not a cit report",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_field_and_nothing_runs(
    project: Path, text: str, field: str, expected: str
) -> None:
    (project / "td" / "prep.rwa").mkdir(parents=True)
    (project / "double.py").write_text("OUT = '/opt/ml/processing/output/x'\n")
    (project / "mine").mkdir()
    (project / "mine" / "report.json").write_text("{}")
    fake = engine()
    with pytest.raises(InputError) as caught:
        run(project, text, fake)
    message = str(caught.value)
    assert message.startswith(f"{project / 'config.yaml'}: {field}: "), message
    assert expected in message
    assert "\n" not in message
    assert fake.specs == []
    assert not (project / ".cit" / "runs").exists()


def test_a_container_image_a_registry_has_is_pulled(project: Path) -> None:
    fake = engine()
    fake.registry["team/runner:2"] = "sha256:t"
    result = run(project, SCENARIO + "execution: {container_image: 'team/runner:2'}", fake)
    assert fake.pulled == ["team/runner:2"]
    assert result.suites


def test_an_empty_configuration_has_nothing_to_run(project: Path) -> None:
    with pytest.raises(InputError, match="has no test_scenarios and no script_tests"):
        run(project, "execution: {max_workers: 2}\n")


# -- S3 ---------------------------------------------------------------------------------------


def keys(server: S3Server, bucket: str) -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_outputs_go_to_an_isolated_prefix_and_are_removed(
    project: Path, s3_server: S3Server
) -> None:
    bucket = s3_server.bucket({"keep.txt": "neighbour"})
    text = f"test_scenarios: [{{name: up, dag_file: pipeline.yaml, s3_bucket: {bucket},"
    result = run(project, text + " s3_prefix: /tests/}]\n")
    assert result.exit_code == 0
    upload = next(t for t in result.suites[0].tests if t.name == "upload outputs")
    assert upload.outcome is Outcome.PASSED
    assert f"3 output(s) uploaded under s3://{bucket}/tests/cit-tests/shop/" in (
        upload.message or ""
    )
    assert "then removed (3 object(s))" in (upload.message or "")
    assert any(line.startswith("uploaded prep/out: 1 file") for line in upload.details)
    assert keys(s3_server, bucket) == ["keep.txt"]


def test_cleanup_after_test_false_keeps_the_uploads(project: Path, s3_server: S3Server) -> None:
    bucket = s3_server.bucket()
    text = (
        f"test_scenarios: [{{name: up, dag_file: pipeline.yaml, s3_bucket: {bucket}}}]\n"
        "s3_integration: {cleanup_after_test: false}\n"
    )
    result = run(project, text)
    upload = next(t for t in result.suites[0].tests if t.name == "upload outputs")
    assert "kept (cleanup_after_test: false)" in (upload.message or "")
    kept = keys(s3_server, bucket)
    assert len(kept) == 3 and all(k.startswith("cit-tests/shop/") for k in kept)
    assert any(k.endswith("/prep/out/data.csv") for k in kept)


def test_a_missing_bucket_is_found_before_anything_runs(project: Path, s3_server: S3Server) -> None:
    fake = engine()
    text = "test_scenarios: [{name: up, dag_file: pipeline.yaml, s3_bucket: no-such-bucket-x}]\n"
    with pytest.raises(InputError) as caught:
        run(project, text, fake)
    assert str(caught.value).startswith(f"{project / 'config.yaml'}: test_scenarios.up.s3_bucket: ")
    assert "no-such-bucket-x" in str(caught.value)
    assert fake.specs == []


def test_a_secret_missing_on_the_host_is_found_before_anything_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = project / "other.yaml"
    other.write_text(other.read_text().replace("outputs: [out]", "outputs: [out], secrets: [TK]"))
    monkeypatch.delenv("TK", raising=False)
    fake = engine()
    text = SCENARIO + "  - {name: other, dag_file: other.yaml}\n"
    with pytest.raises(InputError) as caught:
        run(project, text, fake)
    assert str(caught.value).startswith(f"{other}: steps.prep.secrets.TK: the host environment ")
    assert fake.specs == []  # the first scenario did not run either
    monkeypatch.setenv("TK", "value")
    assert run(project, text, fake).exit_code == 0
    assert [s.secret_env for s in fake.specs if s.labels["cit.pipeline"] == "other"] == [
        {"TK": "value"}
    ]


def test_s3_data_that_cannot_be_fetched_is_an_error_of_its_scenario_alone(
    project: Path, s3_server: S3Server
) -> None:
    (project / "s3.yaml").write_text(
        PIPELINE.replace("name: shop", "name: remote").replace(
            "inputs: {raw: data}", "inputs: {raw: 's3://no-such-bucket-y/raw/'}"
        )
    )
    text = """
test_scenarios:
  - {name: remote, dag_file: s3.yaml}
  - {name: local, dag_file: other.yaml}
"""
    result = run(project, text)
    assert result.exit_code == 2
    remote, local = result.suites
    assert remote.outcome is Outcome.ERROR
    (item,) = remote.tests
    assert (item.kind, item.name, item.outcome) == ("input", "fetch S3 inputs", Outcome.ERROR)
    assert "no-such-bucket-y" in (item.message or "")
    assert local.outcome is Outcome.PASSED


# -- reports ----------------------------------------------------------------------------------


def test_reports_are_also_copied_into_the_output_directory(project: Path) -> None:
    result = run(project, SCENARIO)
    report = result.report(None)
    run_dir = project / "run"
    run_dir.mkdir()
    folder = project / "out" / "reports"
    reporting = ReportingConfig(formats=["junit"], output_directory=folder)
    written = write_reports(report, run_dir, reporting)
    assert written == [
        run_dir / "report.json",
        run_dir / "report.xml",
        folder / "report.json",
        folder / "report.xml",
    ]
    assert json.loads((folder / "report.json").read_text())["cit_report"] == "test-all"
    assert (folder / "report.xml").read_bytes() == (run_dir / "report.xml").read_bytes()
    write_reports(report, run_dir, reporting)  # its own reports may be replaced
    (folder / "report.xml").write_text("<mine/>")
    with pytest.raises(InputError, match=r"reporting\.output_directory: .* is not a cit report"):
        write_reports(report, run_dir, reporting)
    assert (folder / "report.xml").read_text() == "<mine/>"


def test_cit_test_all_fails_on_a_missed_expectation_and_its_report_agrees(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli import command as cli
    from orchestrator.cli.app import app

    monkeypatch.setattr(cli, "connect", engine)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    config = write_config(
        project,
        SCENARIO
        + """
script_tests:
  use:
    test_cases:
      - {name: wants-a-plot, input_data: {data: data}, expected_outputs: [scores/plot.png]}
""",
    )
    args = ["test-all", "--config", str(config), "--cit-dir", str(project / ".cit"), "-q"]
    done = CliRunner().invoke(app, [*args, "--format", "junit"], env={"COLUMNS": "300"})
    assert done.exit_code == 1, done.output
    [command_dir] = [
        p for p in (project / ".cit" / "runs").iterdir() if not (p / "manifest.json").exists()
    ]
    report = json.loads((command_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"]) == ("failed", 1)
    case = report["suites"][1]["tests"][0]
    assert (case["name"], case["outcome"]) == ("wants-a-plot", "failed")
    assert case["failure_type"] == "output"
    assert 'type="output"' in (command_dir / "report.xml").read_text()

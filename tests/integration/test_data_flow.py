"""Data-flow testing on real containers: what each producer really wrote, checked on each edge.

The pipelines live in ``flows/`` (see its README); each test runs a copy under ``tmp_path``,
so run directories and schema snapshots never land in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.data.profiles import OutputProfile
from orchestrator.dataflow import tester as dataflow
from orchestrator.dataflow.edges import DataFlowTestResult, EdgeResult
from orchestrator.dataflow.tester import PipelineDataFlowTester
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.results import Status
from orchestrator.run.settings import RunSettings

from ..runs import run_dirs
from .conftest import the_run

FLOWS = Path(__file__).parent / "flows"
WIDE_TERMINAL = {"COLUMNS": "200"}

Found = set[tuple[str, str]]


# Helpers ---------------------------------------------------------------------------------


def copy_flow(name: str, tmp_path: Path) -> Path:
    """A copy of ``flows/<name>`` under ``tmp_path``; returns its pipeline file."""
    target = shutil.copytree(FLOWS / name, tmp_path / name)
    return Path(target) / "pipeline.yaml"


def cit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``cit`` as a separate process, as a user starts it."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **WIDE_TERMINAL},
    )


def cit_test_flow(
    pipeline: Path, tmp_path: Path, *options: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``cit test-flow`` with ``--output-report``; the process and the report it wrote."""
    report = tmp_path / "reports" / "flow.json"
    report.unlink(missing_ok=True)
    done = cit(
        "test-flow",
        "--dag",
        str(pipeline),
        "--cit-dir",
        str(tmp_path / ".cit"),
        "--output-report",
        str(report),
        "--quiet",
        *options,
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert report.is_file(), done.stdout + done.stderr
    return done, json.loads(report.read_text())


def report_edge(report: dict[str, Any], name: str) -> dict[str, Any]:
    edges = {e["edge"]: e for e in report["edges"]}
    assert name in edges, f"no edge {name}; edges: {list(edges)}"
    return edges[name]


def report_rules(edge: dict[str, Any]) -> Found:
    return {(i["rule"], i["severity"]) for i in edge["issues"]}


def report_issue(edge: dict[str, Any], rule: str) -> dict[str, Any]:
    [found] = [i for i in edge["issues"] if i["rule"] == rule]
    return found


def result_edge(result: DataFlowTestResult, name: str) -> EdgeResult:
    edges = {e.edge: e for e in result.edges}
    assert name in edges, f"no edge {name}; edges: {list(edges)}"
    return edges[name]


def result_rules(edge: EdgeResult) -> Found:
    return {(i.rule, i.severity.value) for i in edge.issues}


# Broken pipelines: each break found on its edge ------------------------------------------


def test_renamed_column_is_missing_and_the_consumer_crashes_on_it(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    done, report = cit_test_flow(copy_flow("renamed_column", tmp_path), tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    edge = report_edge(report, "export.customers -> score.customers")
    assert report_rules(edge) == {
        ("missing_column", "error"),
        ("extra_columns", "warning"),
        ("consumer_failed", "warning"),
    }
    [dataset] = edge["captured"]["datasets"]
    assert [c["name"] for c in dataset["columns"]] == ["cust_id", "age", "income"]
    missing = report_issue(edge, "missing_column")
    assert missing["column"] == "customer_id" and missing["step"] == "score"
    assert "cust_id" in missing["hint"]
    assert "cust_id" in report_issue(edge, "extra_columns")["description"]
    assert edge["consumer_status"] == "failed"
    [run_dir] = run_dirs(tmp_path / ".cit" / "runs")
    assert "KeyError: 'customer_id'" in (run_dir / "steps/score/log.txt").read_text()
    assert report["is_compatible"] is False
    assert report["failed_connections"] == ["export.customers -> score.customers"]
    assert "required column 'customer_id' is missing" in done.stdout
    assert "data flow incompatible" in done.stdout


def test_parquet_where_csv_is_expected_is_a_format_mismatch(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    settings: RunSettings,
    tmp_path: Path,
) -> None:
    tester = PipelineDataFlowTester(
        copy_flow("parquet_for_csv", tmp_path), engine=engine, settings=settings
    )
    result = tester.test_full_pipeline()

    edge = result_edge(result, "features.features -> report.features")
    assert edge.captured is not None
    [dataset] = edge.captured.datasets
    assert (dataset.format, dataset.rows) == ("parquet", 4)
    assert ("format_mismatch", "error") in result_rules(edge)
    mismatch = next(i for i in edge.issues if i.rule == "format_mismatch")
    assert "parquet" in mismatch.description and "csv" in mismatch.description
    assert mismatch.step == "report"
    assert edge.consumer_status is Status.FAILED  # its glob for *.csv found nothing
    assert result_rules(edge) == {("format_mismatch", "error"), ("consumer_failed", "warning")}
    assert not result.is_compatible and result.exit_code == 1
    assert result.failed_connections == ["features.features -> report.features"]


def test_missing_train_subfolder_is_a_layout_mismatch(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    settings: RunSettings,
    tmp_path: Path,
) -> None:
    path = copy_flow("missing_train_folder", tmp_path)
    result = dataflow.test_flow(
        load_and_validate(path), path, RunContext(engine=engine, settings=settings)
    )

    edge = result_edge(result, "split.splits -> fit.splits")
    assert edge.captured is not None and edge.captured.layout == []
    assert [d.path for d in edge.captured.datasets] == [""]
    assert result_rules(edge) == {("layout_mismatch", "error"), ("consumer_failed", "warning")}
    layout = next(i for i in edge.issues if i.rule == "layout_mismatch")
    assert "train/" in layout.description
    assert edge.expected is not None and edge.expected.layout == ["train"]
    assert not edge.is_compatible
    assert (Path(result.run_dir) / dataflow.FLOW_REPORT).is_file()


def test_no_files_and_a_header_only_csv_are_empty_outputs(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    done, report = cit_test_flow(copy_flow("empty_output", tmp_path), tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    events = report_edge(report, "extract.events -> load.events")
    assert events["captured"]["files"] == 0
    assert report_rules(events) == {("empty_output", "error")}
    users = report_edge(report, "extract.users -> load.users")
    [dataset] = users["captured"]["datasets"]
    assert (dataset["format"], dataset["rows"]) == ("csv", 0)
    assert [c["name"] for c in dataset["columns"]] == ["user_id", "country"]
    assert report_rules(users) == {("empty_output", "error")}
    # The consumer ran fine on empty data: only the data check can tell.
    assert events["consumer_status"] == users["consumer_status"] == "succeeded"
    assert sorted(report["failed_connections"]) == [
        "extract.events -> load.events",
        "extract.users -> load.users",
    ]


# A correct pipeline ----------------------------------------------------------------------


HEALTHY_EDGES = [
    "prepare.splits -> fit.train",
    "fit.model -> evaluate.model",
    "prepare.holdout -> evaluate.holdout",
]


def test_correct_pipeline_is_compatible_on_every_edge(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    done, report = cit_test_flow(copy_flow("healthy", tmp_path), tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(e["edge"] for e in report["edges"]) == sorted(HEALTHY_EDGES)
    assert [i for e in report["edges"] for i in e["issues"] if i["severity"] == "error"] == []
    assert report["is_compatible"] is True and report["connections_tested"] == 3
    assert report["failed_connections"] == [] and report["output_issues"] == []
    splits = report_edge(report, "prepare.splits -> fit.train")["captured"]
    assert splits["layout"] == ["train"]
    assert [(d["path"], d["format"], d["rows"]) for d in splits["datasets"]] == [
        ("train", "csv", 6)
    ]
    holdout = report_edge(report, "prepare.holdout -> evaluate.holdout")["captured"]
    assert [(d["format"], d["rows"]) for d in holdout["datasets"]] == [("parquet", 2)]
    model = report_edge(report, "fit.model -> evaluate.model")["captured"]
    assert [(a["path"], a["kind"]) for a in model["artifacts"]] == [
        ("model.tar.gz", "model-archive")
    ]
    assert "data flow compatible: 3 connection(s) tested, 0 failed" in done.stdout


# --path ----------------------------------------------------------------------------------


def test_path_runs_only_the_steps_it_needs(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    done, report = cit_test_flow(copy_flow("healthy", tmp_path), tmp_path, "--path", "prepare, fit")

    assert done.returncode == 0, done.stdout + done.stderr
    assert report["path"] == ["prepare", "fit"]
    assert [e["edge"] for e in report["edges"]] == ["prepare.splits -> fit.train"]
    run_dir, manifest = the_run(tmp_path / ".cit")
    assert sorted(s["name"] for s in manifest["steps"]) == ["fit", "prepare"]
    assert not (run_dir / "steps" / "evaluate").exists()


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("prepare,score", "no step named 'score'"),
        ("evaluate,fit", "'evaluate' does not feed 'fit'"),
        ("prepare", "fewer than two steps"),
    ],
)
def test_bad_path_exits_2_with_one_line_and_runs_nothing(
    tmp_path: Path, path: str, named: str
) -> None:
    pipeline = copy_flow("healthy", tmp_path)
    cit_dir = tmp_path / ".cit"
    done = cit(
        "test-flow", "--dag", str(pipeline), "--cit-dir", str(cit_dir), "--path", path, cwd=tmp_path
    )

    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert named in line and "--path" in line
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not list((cit_dir / "runs").glob("*"))


# Snapshots -------------------------------------------------------------------------------


def test_snapshot_then_changed_producer_reports_drift(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    pipeline = copy_flow("drift", tmp_path)
    first, stored = cit_test_flow(pipeline, tmp_path, "--update-snapshots")
    assert first.returncode == 0, first.stdout + first.stderr
    snapshot = pipeline.parent / "pipeline.snapshots" / "daily" / "orders.json"
    assert stored["snapshots_updated"] == [str(snapshot)]
    golden = OutputProfile.model_validate_json(snapshot.read_text())
    assert [c.name for c in golden.datasets[0].columns] == ["order_id", "amount", "coupon"]

    shutil.copy(pipeline.parent / "daily_changed.py", pipeline.parent / "daily.py")
    second, report = cit_test_flow(pipeline, tmp_path)

    assert second.returncode == 1, second.stdout + second.stderr
    edge = report_edge(report, "daily.orders -> report.orders")
    drifted = {(i["rule"], i["severity"], i["column"]) for i in edge["issues"]}
    assert drifted == {("column_removed", "error", "coupon"), ("type_changed", "error", "amount")}
    assert edge["consumer_status"] == "succeeded"
    assert OutputProfile.model_validate_json(snapshot.read_text()) == golden
    descriptions = " | ".join(i["description"] for i in edge["issues"])
    assert "column 'coupon' is gone from output 'orders'" in descriptions
    assert "column 'amount' in output 'orders' changed type: double → string" in descriptions
    assert "[column_removed]" in second.stdout and "[type_changed]" in second.stdout


# cit run ---------------------------------------------------------------------------------


def test_run_saves_captured_schemas_and_prints_the_data_flow(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    cit_dir = tmp_path / ".cit"
    pipeline = copy_flow("healthy", tmp_path)
    done = cit("run", "--dag", str(pipeline), "--cit-dir", str(cit_dir), "--quiet", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    run_dir, manifest = the_run(cit_dir)
    schemas = run_dir / "steps" / "prepare" / "schemas"
    assert sorted(p.name for p in schemas.iterdir()) == ["holdout.json", "splits.json"]
    splits = OutputProfile.model_validate_json((schemas / "splits.json").read_text())
    [dataset] = splits.datasets
    assert (dataset.path, dataset.format, dataset.rows) == ("train", "csv", 6)
    assert [(c.name, c.type) for c in dataset.columns] == [
        ("id", "int64"),
        ("x", "double"),
        ("label", "int64"),
    ]
    assert (run_dir / "steps" / "fit" / "schemas" / "model.json").is_file()
    assert (run_dir / "steps" / "evaluate" / "schemas" / "metrics.json").is_file()
    prepare = next(s for s in manifest["steps"] if s["name"] == "prepare")
    assert {o["schema_file"] for o in prepare["outputs"]} == {
        str(schemas / "holdout.json"),
        str(schemas / "splits.json"),
    }
    assert "data flow" in done.stdout
    for edge in HEALTHY_EDGES:
        assert edge in done.stdout
    assert "data flow compatible: 3 connection(s) tested, 0 failed" in done.stdout


def test_run_fails_on_an_edge_error_though_every_step_succeeded(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    pipeline = copy_flow("empty_output", tmp_path)
    cit_dir = tmp_path / ".cit"
    args = ("run", "--dag", str(pipeline), "--quiet", "--format", "junit")
    done = cit(*args, "--cit-dir", str(cit_dir), cwd=tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    run_dir, manifest = the_run(cit_dir)
    assert {s["status"] for s in manifest["steps"]} == {"succeeded"}
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"], report["steps_only"]) == ("failed", 1, False)
    junit = (run_dir / "report.xml").read_text()
    assert junit.count('<failure message="error [empty_output]') == 2
    assert "data flow incompatible" in done.stdout

    only = tmp_path / "steps-only"
    done = cit(*args, "--steps-only", "--cit-dir", str(only), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir, _ = the_run(only)
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"], report["steps_only"]) == ("passed", 0, True)
    assert "<failure" not in (run_dir / "report.xml").read_text()
    assert "[empty_output]" in done.stdout and "(not judged: --steps-only)" in done.stdout

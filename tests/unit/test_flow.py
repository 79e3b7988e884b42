"""Data flow along a pipeline's edges: wires, paths, and what each edge carried in a run on the
fake engine, checked against the declared schemas, the consumer's outcome and snapshots."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator import FakeBehaviour, FakeEngine, Pipeline, RunSettings, Status
from orchestrator.data.snapshots import snapshot_file
from orchestrator.dataflow import tester as dataflow
from orchestrator.dataflow.edges import DataFlowTestResult, EdgeResult
from orchestrator.dataflow.tester import FLOW_REPORT, PipelineDataFlowTester, with_test_data
from orchestrator.errors import InputError
from orchestrator.issues import Issue, Severity
from orchestrator.pipeline.model import LocalSource, StepOutput
from orchestrator.pipeline.wiring import Wire, steps_for_path, wires, wires_along
from orchestrator.report.console import print_flow
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs

OUT = "/opt/ml/processing/output/out/data.csv"
SCORES = "/opt/ml/processing/output/scores/scores.csv"
GOOD = "id,label\n1,0\n2,1\n"
EDGE = "prep.out -> use.data"
SIDE = "prep.out -> side.data"

FILES = {
    "scripts/prep.py": "print('prep')\n",
    "scripts/use.py": "print('use')\n",
    "data/raw.csv": "id,label\n1,0\n",
    "contracts/prep.yaml": """
        entry_point: prep.py
        expected_input_paths: {raw: /opt/ml/processing/input/raw}
        expected_output_paths: {out: /opt/ml/processing/output/out}
        output_schemas: {out: ../schemas/out.yaml}
        """,
    "contracts/use.yaml": """
        entry_point: use.py
        expected_input_paths: {data: /opt/ml/processing/input/data}
        expected_output_paths: {scores: /opt/ml/processing/output/scores}
        input_schemas: {data: ../schemas/in.yaml}
        """,
    "schemas/in.yaml": "format: csv\ncolumns: {id: integer, label: integer}\n",
    "schemas/out.yaml": "format: csv\ncolumns: {id: integer, label: integer}\n",
    "flow.yaml": """
        name: flow
        steps:
          prep: {kind: processing, script: scripts/prep.py, contract: contracts/prep.yaml,
                 inputs: {raw: data}}
          use: {kind: processing, script: scripts/use.py, contract: contracts/use.yaml,
                inputs: {data: {step: prep, output: out}}}
          side: {kind: processing, script: scripts/use.py, outputs: [other],
                 inputs: {data: {step: prep, output: out}}}
        """,
}


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    """A pipeline prep → use (both with contracts and schemas) and prep → side (without)."""
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path / "flow.yaml"


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit",
        max_workers=2,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
    )


def engine(**behaviours: FakeBehaviour) -> FakeEngine:
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


def writes(out: str = GOOD, **more: FakeBehaviour) -> FakeEngine:
    """prep writes ``out`` as its CSV; use writes a small scores file."""
    behaviours = {
        "prep": FakeBehaviour(writes={OUT: out}),
        "use": FakeBehaviour(writes={SCORES: "id,score\n1,0.5\n"}),
        **more,
    }
    return engine(**behaviours)


def run(
    file: Path, fake: FakeEngine, path: list[str] | None = None, *, update_snapshots: bool = False
) -> DataFlowTestResult:
    """``test_flow`` on the pipeline in ``file``, run directories beside it."""
    pipeline = load_and_validate(file)
    return dataflow.test_flow(
        pipeline,
        file,
        RunContext(engine=fake, settings=settings(file.parent)),
        path=path,
        update_snapshots=update_snapshots,
    )


def rules(issues: list[Issue]) -> list[str]:
    return sorted(i.rule for i in issues)


def ran(fake: FakeEngine) -> list[str]:
    return [spec.labels["cit.step"] for spec in fake.specs]


def chain(folder: Path) -> Pipeline:
    """a → b → c, a → b twice (two outputs), and d on its own; built in Python."""
    (folder / "s.py").write_text("print(1)\n")
    pipeline = Pipeline("chain", base_dir=folder)
    a = pipeline.processing("a", script="s.py", outputs=["x", "y"])
    b = pipeline.processing(
        "b", script="s.py", inputs={"p": a.output("x"), "q": a.output("y")}, outputs=["z"]
    )
    pipeline.processing("c", script="s.py", inputs={"r": b.output("z")})
    pipeline.processing("d", script="s.py")
    return pipeline


# --- wires and paths --------------------------------------------------------------------------


def test_wires_in_step_order(flow_file: Path) -> None:
    found = wires(load_and_validate(flow_file).steps)
    assert found == [Wire("prep", "out", "use", "data"), Wire("prep", "out", "side", "data")]
    assert str(found[0]) == EDGE


def test_wires_along_a_path_include_every_wire_between_neighbours(tmp_path: Path) -> None:
    pipeline = chain(tmp_path)
    assert wires_along(pipeline, ["a", "b", "c"]) == [
        Wire("a", "x", "b", "p"),
        Wire("a", "y", "b", "q"),
        Wire("b", "z", "c", "r"),
    ]


def test_wires_along_an_unknown_step(tmp_path: Path) -> None:
    file = tmp_path / "chain.py"
    with pytest.raises(InputError) as caught:
        wires_along(chain(tmp_path), ["a", "bee"], file)
    error = caught.value
    assert error.field == "--path" and error.file == str(file)
    assert "no step named 'bee'" in str(error) and "a, b, c, d" in str(error)


def test_wires_along_a_single_step(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        wires_along(chain(tmp_path), ["a"])
    assert caught.value.field == "--path" and "at least two steps" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        (["a", "c"], "'a' does not feed 'c'; 'c' reads from b"),
        (["b", "a"], "'b' does not feed 'a'; 'a' reads from no other step"),
        (["a", "b", "d"], "'b' does not feed 'd'"),
    ],
)
def test_wires_along_steps_that_are_not_connected(
    tmp_path: Path, path: list[str], fragment: str
) -> None:
    with pytest.raises(InputError) as caught:
        wires_along(chain(tmp_path), path)
    assert caught.value.field == "--path"
    assert fragment.split(";")[0] in str(caught.value)
    assert fragment.split("; ")[-1] in str(caught.value)


def test_steps_for_path_adds_ancestors_in_pipeline_order(tmp_path: Path) -> None:
    pipeline = chain(tmp_path)
    subset = steps_for_path(pipeline, ["b", "c"])
    assert list(subset.steps) == ["a", "b", "c"]
    assert subset.name == "chain" and subset.base_dir == pipeline.base_dir
    assert list(steps_for_path(pipeline, ["a", "b"]).steps) == ["a", "b"]
    assert list(pipeline.steps) == ["a", "b", "c", "d"]


# --- runs on the fake engine ------------------------------------------------------------------


def test_correct_flow_is_compatible(flow_file: Path) -> None:
    fake = writes()
    result = run(flow_file, fake)
    assert result.run_status is Status.SUCCEEDED
    assert result.is_compatible and result.overall_compatibility and result.exit_code == 0
    assert result.connections_tested == 2 and result.failed_connections == []
    assert result.issues == [] and result.path is None
    use = result.edges[0]
    assert use.edge == EDGE and use.is_compatible
    assert use.captured is not None and use.captured.dataset("") is not None
    assert [c.name for c in use.captured.datasets[0].columns] == ["id", "label"]
    assert use.expected is not None and Path(use.expected.source or "").name == "in.yaml"
    assert use.promised is not None and Path(use.promised.source or "").name == "out.yaml"
    side = result.edges[1]
    assert side.edge == SIDE and side.expected is None and side.is_compatible
    assert sorted(ran(fake)) == ["prep", "side", "use"]


def test_flow_report_is_written_in_the_run_dir(flow_file: Path) -> None:
    result = run(flow_file, writes(out="id,lbl\n1,0\n"))
    report = Path(result.run_dir) / FLOW_REPORT
    data = json.loads(report.read_text())
    assert data == json.loads(json.dumps(result.model_dump(mode="json")))
    assert data["is_compatible"] is False and data["connections_tested"] == 2
    # side declares no schema, but prep's own contract promises 'label' on every edge it feeds
    assert data["failed_connections"] == [EDGE, SIDE]
    side = data["edges"][1]["issues"]
    assert [(i["rule"], i["severity"], i["step"]) for i in side] == [
        ("missing_column", "error", "prep"),
        ("extra_columns", "warning", "prep"),
    ]


def test_missing_column_is_an_error_on_that_edge(flow_file: Path) -> None:
    result = run(flow_file, writes(out="id,lbl\n1,0\n"), ["prep", "use"])
    assert result.path == ["prep", "use"] and result.connections_tested == 1
    assert not result.is_compatible and result.failed_connections == [EDGE]
    assert result.exit_code == 1 and result.run_status is Status.SUCCEEDED
    (edge,) = result.edges
    missing = [i for i in edge.issues if i.rule == "missing_column"]
    assert len(missing) == 1, edge.issues  # the producer's own contract says the same: once
    issue = missing[0]
    assert issue.severity is Severity.ERROR and issue.column == "label"
    assert issue.step == "use" and issue.edge == EDGE
    assert Path(issue.file or "").name == "in.yaml"
    assert issue.hint and "lbl" in issue.hint
    assert edge.consumer_status is Status.SUCCEEDED and not edge.is_compatible


def test_issue_against_an_inline_schema_names_the_contract(flow_file: Path) -> None:
    contract = flow_file.parent / "contracts/use.yaml"
    inline = "{data: {format: csv, columns: {id: integer, label: integer}}}"
    contract.write_text(contract.read_text().replace("{data: ../schemas/in.yaml}", inline))
    result = run(flow_file, writes(out="id,lbl\n1,0\n"), ["prep", "use"])
    (edge,) = result.edges
    assert edge.expected is not None and edge.expected.source == str(contract.resolve())
    issue = next(i for i in edge.issues if i.rule == "missing_column" and i.step == "use")
    assert issue.file == str(contract.resolve())


def test_printed_flow_shows_rules_and_data_as_written(flow_file: Path) -> None:
    """Column names and rule names in brackets are shown as they are, not read as markup."""
    result = run(flow_file, writes(out="id,[/x],[bold]\n1,0,0\n"), ["prep", "use"])
    out = io.StringIO()
    print_flow(Console(file=out, width=250, color_system=None), result)
    text = out.getvalue()
    assert "[missing_column]" in text and "[extra_columns]" in text
    assert "[/x], [bold]" in text and "id:int64, [/x]:int64, [bold]:int64" in text
    assert f"1 failed ({EDGE})" in text


def test_path_runs_only_the_steps_it_needs(flow_file: Path) -> None:
    fake = writes()
    result = run(flow_file, fake, ["prep", "use"])
    assert sorted(ran(fake)) == ["prep", "use"]
    assert [e.edge for e in result.edges] == [EDGE] and result.is_compatible


def test_producer_breaking_its_own_contract(flow_file: Path) -> None:
    out_schema = flow_file.parent / "schemas/out.yaml"
    out_schema.write_text("format: csv\ncolumns: {id: integer, label: integer, score: float}\n")
    result = run(flow_file, writes(), ["prep", "use"])
    (issue,) = result.edges[0].issues
    assert issue.rule == "missing_column" and issue.column == "score"
    assert issue.step == "prep" and Path(issue.file or "").name == "out.yaml"
    assert issue.description.startswith("against its own contract")
    assert not result.is_compatible


def test_failed_producer(flow_file: Path) -> None:
    fake = writes(prep=FakeBehaviour(exit_code=1, logs=["boom"]))
    result = run(flow_file, fake, ["prep", "use"])
    (edge,) = result.edges
    assert edge.producer_status is Status.FAILED and edge.captured is None
    assert edge.consumer_status is Status.SKIPPED
    assert rules(edge.issues) == ["consumer_not_run", "producer_failed"]
    failed = next(i for i in edge.issues if i.rule == "producer_failed")
    assert failed.severity is Severity.WARNING and failed.step == "prep" and failed.edge == EDGE
    assert "exited with code 1" in failed.description
    # Nothing flowed: the edge is not checked, and the producer's own failure fails the run.
    assert not edge.checked and result.unchecked_connections == [EDGE]
    assert result.failed_connections == []
    assert result.exit_code == 1 and ran(fake) == ["prep"]


def test_failed_consumer(flow_file: Path) -> None:
    fake = writes(use=FakeBehaviour(exit_code=2, logs=["KeyError: 'label'"]))
    result = run(flow_file, fake, ["prep", "use"])
    (edge,) = result.edges
    assert edge.captured is not None and edge.consumer_status is Status.FAILED
    (issue,) = edge.issues
    assert issue.rule == "consumer_failed" and issue.severity is Severity.WARNING
    assert issue.step == "use" and issue.edge == EDGE
    assert "exited with code 2" in issue.description
    assert "the data broke no rule" in issue.description
    assert issue.hint and issue.hint.startswith("see its log:")
    # The data was fine: the consumer's failure is its own, not the edge's.
    assert result.is_compatible and result.failed_connections == []
    assert result.exit_code == 1


def test_consumer_timing_out_counts_as_failed(flow_file: Path) -> None:
    step = "use: {kind: processing,"
    text = flow_file.read_text().replace(step, step + " timeout_seconds: 0.1,")
    flow_file.write_text(text)
    result = run(flow_file, writes(use=FakeBehaviour(seconds=5)), ["prep", "use"])
    assert rules(result.edges[0].issues) == ["consumer_failed"]
    assert result.edges[0].consumer_status is Status.TIMEOUT
    assert result.failed_connections == [] and result.exit_code == 1  # the step's failure
    text = printed(result)
    assert "data flow compatible: 1 connection(s) tested, 0 failed; 0 error(s)" in text


def test_a_consumer_failing_on_data_that_broke_a_rule_fails_the_edge(flow_file: Path) -> None:
    crash = FakeBehaviour(exit_code=1, logs=["KeyError: 'label'"])
    fake = writes(out="id,lbl\n1,0\n", use=crash)
    result = run(flow_file, fake, ["prep", "use"])
    (edge,) = result.edges
    assert {"consumer_failed", "missing_column"} <= set(rules(edge.issues))
    failed = next(i for i in edge.issues if i.rule == "consumer_failed")
    assert "the likely cause" in failed.description
    assert result.failed_connections == [EDGE]


def test_snapshots_then_drift(flow_file: Path) -> None:
    first = run(flow_file, writes(), update_snapshots=True)
    stored = {Path(p) for p in first.snapshots_updated}
    assert stored == {
        snapshot_file(flow_file, "prep", "out"),
        snapshot_file(flow_file, "use", "scores"),
        snapshot_file(flow_file, "side", "other"),  # empty, but stored all the same
    }
    assert all(p.is_file() for p in stored) and first.is_compatible

    again = run(flow_file, writes())
    assert again.issues == [] and again.snapshots_updated == []

    changed = writes(
        out="id,label,extra\nx1,0,x\n",
        use=FakeBehaviour(writes={SCORES: "id,probability\n1,0.5\n"}),
    )
    drifted = run(flow_file, changed)
    use, side = drifted.edges
    assert use.edge == EDGE and side.edge == SIDE
    for edge in (use, side):
        by_rule = {i.rule: i for i in edge.issues}
        assert {"type_changed", "column_added"} <= set(by_rule), edge.issues
        assert by_rule["type_changed"].column == "id"
        assert by_rule["type_changed"].severity is Severity.ERROR
        assert by_rule["type_changed"].step == "prep" and by_rule["type_changed"].edge == edge.edge
        assert by_rule["column_added"].severity is Severity.WARNING
    assert not side.is_compatible  # no schema on this edge: the drift alone fails it
    assert rules(drifted.output_issues) == ["column_added", "column_removed"]
    assert {i.step for i in drifted.output_issues} == {"use"}
    assert not drifted.is_compatible


def test_updating_snapshots_reports_no_drift(flow_file: Path) -> None:
    run(flow_file, writes(), update_snapshots=True)
    result = run(flow_file, writes(out="id,label\n1.5,0\n"), update_snapshots=True)
    assert all(i.rule != "type_changed" for i in result.issues)
    stored = json.loads(snapshot_file(flow_file, "prep", "out").read_text())
    assert stored["datasets"][0]["columns"][0] == {
        "name": "id",
        "type": "double",
        "nullable": False,
    }


# --- the Python API ---------------------------------------------------------------------------


def test_tester_on_a_loaded_pipeline(flow_file: Path) -> None:
    fake = writes(out="id,lbl\n1,0\n")
    tester = PipelineDataFlowTester(
        load_and_validate(flow_file), engine=fake, settings=settings(flow_file.parent)
    )
    path = tester.test_pipeline_path(["prep", "use"])
    assert path.path == ["prep", "use"] and path.connections_tested == 1
    assert not path.is_compatible and path.failed_connections == [EDGE]
    assert any(i.rule == "missing_column" and i.severity is Severity.ERROR for i in path.issues)
    assert all(i.description for i in path.issues)
    full = tester.test_full_pipeline()
    assert full.path is None and full.connections_tested == 2
    assert full.failed_connections == [EDGE, SIDE]


def test_tester_on_a_loaded_pipeline_keeps_snapshots_where_the_cli_does(flow_file: Path) -> None:
    tester = PipelineDataFlowTester(
        load_and_validate(flow_file),
        engine=writes(),
        settings=settings(flow_file.parent),
        update_snapshots=True,
    )
    result = tester.test_full_pipeline()
    assert str(snapshot_file(flow_file, "prep", "out")) in result.snapshots_updated
    assert Path(result.pipeline_file) == flow_file


def test_tester_on_a_pipeline_file(flow_file: Path) -> None:
    tester = PipelineDataFlowTester(
        str(flow_file), engine=writes(), settings=settings(flow_file.parent)
    )
    result = tester.test_full_pipeline()
    assert result.is_compatible and Path(result.pipeline_file).name == "flow.yaml"


def test_validate_data_contracts_compares_declared_schemas(flow_file: Path) -> None:
    tester = PipelineDataFlowTester(flow_file, engine=engine())
    assert tester.validate_data_contracts("prep", "use") == []
    assert tester.validate_data_contracts("prep", "side") == []  # side declares nothing

    (flow_file.parent / "schemas/out.yaml").write_text("format: parquet\ncolumns: {id: integer}\n")
    found = PipelineDataFlowTester(flow_file, engine=engine()).validate_data_contracts(
        "prep", "use"
    )
    assert rules(found) == ["format_mismatch"]
    issue = found[0]
    assert issue.edge == EDGE and issue.severity is Severity.ERROR and issue.step == "use"
    assert Path(issue.file or "").name == "in.yaml" and issue.hint


def test_validate_data_contracts_of_unconnected_steps(flow_file: Path) -> None:
    tester = PipelineDataFlowTester(flow_file, engine=engine())
    with pytest.raises(InputError) as caught:
        tester.validate_data_contracts("use", "side")
    assert caught.value.field == "--path" and "'use' does not feed 'side'" in str(caught.value)


def test_with_test_data_replaces_an_input(flow_file: Path, tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.mkdir()
    pipeline = load_and_validate(flow_file)
    replaced = with_test_data(pipeline, {"prep.raw": given, "use.data": str(given)})
    assert replaced.steps["prep"].inputs["raw"].source == LocalSource(path=given.resolve())
    use = replaced.steps["use"].inputs["data"]
    assert use.source == LocalSource(path=given.resolve())
    assert use.destination == "/opt/ml/processing/input/data"
    assert isinstance(pipeline.steps["use"].inputs["data"].source, StepOutput)  # untouched
    assert list(replaced.steps) == list(pipeline.steps) and replaced.name == pipeline.name


def test_tester_runs_on_test_data(flow_file: Path, tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.mkdir()
    fake = writes()
    tester = PipelineDataFlowTester(
        flow_file, {"prep.raw": given}, engine=fake, settings=settings(tmp_path)
    )
    assert tester.test_pipeline_path(["prep", "use"]).is_compatible
    prep = next(s for s in fake.specs if s.labels["cit.step"] == "prep")
    mount = next(m for m in prep.mounts if m.target == "/opt/ml/processing/input/raw")
    assert Path(mount.source) == given.resolve() and mount.read_only


@pytest.mark.parametrize("key", ["prep.nope", "nope.raw", "prep", ".raw"])
def test_with_test_data_rejects_a_key_that_names_no_input(flow_file: Path, key: str) -> None:
    with pytest.raises(InputError) as caught:
        with_test_data(load_and_validate(flow_file), {key: flow_file.parent})
    assert caught.value.field == "test data" and f"'{key}'" in str(caught.value)
    assert "Step.input" in str(caught.value)


def test_with_test_data_rejects_a_missing_file(flow_file: Path) -> None:
    absent = flow_file.parent / "absent"
    with pytest.raises(InputError) as caught:
        PipelineDataFlowTester(flow_file, {"prep.raw": absent}, engine=engine())
    assert caught.value.field == "test data prep.raw"
    assert str(absent) in str(caught.value)


def test_edge_result_is_compatible_when_its_data_broke_no_rule() -> None:
    edge = EdgeResult(
        edge=EDGE,
        producer="prep",
        output="out",
        consumer="use",
        input="data",
        producer_status=Status.SUCCEEDED,
        consumer_status=Status.SUCCEEDED,
        issues=[Issue(rule="extra_columns", severity=Severity.WARNING, description="x")],
    )
    assert edge.is_compatible
    assert edge.model_copy(update={"consumer_status": Status.OOM}).is_compatible
    error = Issue(rule="missing_column", severity=Severity.ERROR, description="x")
    assert not edge.model_copy(update={"issues": [error]}).is_compatible


# --- outputs no tested edge carries, and snapshots read before the run ------------------------


def test_an_output_no_step_reads_is_checked_against_its_producers_schema(
    flow_file: Path,
) -> None:
    contract = flow_file.parent / "contracts/use.yaml"
    contract.write_text(
        contract.read_text()
        + "output_schemas:\n  scores: {format: csv, columns: {id: integer, score: float}}\n"
    )
    result = run(flow_file, writes())  # use writes id,score: as promised
    assert result.output_issues == [] and result.is_compatible

    broken = writes(use=FakeBehaviour(writes={SCORES: "id,probability\n1,0.5\n"}))
    result = run(flow_file, broken)
    (issue,) = [i for i in result.output_issues if i.rule == "missing_column"]
    assert issue.severity is Severity.ERROR and issue.column == "score"
    assert (issue.step, issue.edge, issue.file) == ("use", "use.scores", str(contract))
    assert not result.is_compatible and result.exit_code == 1
    assert result.failed_outputs == ["use.scores"]
    text = printed(result)
    # The summary counts the error the issues table shows, though no edge carries it.
    assert "1 output(s) broke their own schema (use.scores)" in text
    assert "1 error(s)" in text and "0 failed; " in text


def printed(result: DataFlowTestResult) -> str:
    out = io.StringIO()
    print_flow(Console(file=out, width=250, color_system=None), result)
    return out.getvalue()


def test_the_summary_counts_the_issues_the_tables_show(flow_file: Path) -> None:
    result = run(flow_file, writes(out="id,lbl\n1,0\n"), ["prep", "use"])
    (summary,) = [line for line in printed(result).splitlines() if line.startswith("data flow in")]
    errors = sum(i.is_error for i in result.issues)
    warnings = len(result.issues) - errors
    assert errors >= 1
    assert summary.endswith(f"1 failed ({EDGE}); {errors} error(s), {warnings} warning(s)")


def test_drift_of_an_output_names_its_snapshot_file(flow_file: Path) -> None:
    run(flow_file, writes(), update_snapshots=True)
    changed = writes(use=FakeBehaviour(writes={SCORES: "id,probability\n1,0.5\n"}))
    result = run(flow_file, changed)
    stored = str(snapshot_file(flow_file, "use", "scores"))
    assert result.output_issues and {i.file for i in result.output_issues} == {stored}
    assert {i.edge for i in result.output_issues} == {"use.scores"}


def test_a_damaged_snapshot_stops_the_run_before_anything_runs(flow_file: Path) -> None:
    run(flow_file, writes(), update_snapshots=True)
    runs_before = set(run_dirs(flow_file.parent / ".cit" / "runs"))
    snapshot_file(flow_file, "prep", "out").write_text("[]")
    fake = writes()
    with pytest.raises(InputError, match=r"out\.json"):
        run(flow_file, fake)
    assert fake.specs == []
    assert set(run_dirs(flow_file.parent / ".cit" / "runs")) == runs_before


def test_a_capture_that_crashes_leaves_the_step_its_result(
    flow_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.run import step_runner

    def broken(name: str, folder: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(step_runner, "capture_output", broken)
    result = run(flow_file, writes(), ["prep", "use"])
    assert result.run_status is Status.SUCCEEDED
    (edge,) = result.edges
    (issue,) = [i for i in edge.issues if i.rule == "unreadable_data"]
    assert "RuntimeError: boom" in issue.description and issue.severity is Severity.ERROR
    assert edge.captured is not None and edge.captured.files == 1

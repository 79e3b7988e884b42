"""S3 inputs of pipeline steps and test cases: written as s3:// URIs, checked without being
fetched, fetched before anything runs (here by a fake fetcher), mounted read-only, and
recorded in the manifest."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.aws import s3
from orchestrator.cli.app import app
from orchestrator.engines.spec import ContainerSpec, Mount
from orchestrator.errors import CitError, InputError, PipelineError
from orchestrator.pipeline.model import LocalSource, S3Source, StepInput, StepKind, build_step
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import (
    execute_pipeline,
    fetch_inputs,
    load_and_validate,
    s3_inputs,
)
from orchestrator.run.plan import plan_run
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.cases import InputSource, cases_from_data, load_test_cases
from orchestrator.scripttest.runner import resolve_step, run_script_tests

from .conftest import write

RAW = "s3://bucket/raw"
PREP = "kind: processing, script: scripts/prep.py"
TRAIN = "kind: training, script: scripts/train.py"
RAW_TARGET = "/opt/ml/processing/input/raw"

PIPELINE = f"""
name: s3
steps:
  prep: {{kind: processing, script: scripts/prep.py, outputs: [out],
          inputs: {{raw: {RAW}, lookup: {{path: "s3://bucket/lookup.csv",
                                             destination: /opt/ml/processing/lookup}}}}}}
  train: {{kind: training, script: scripts/train.py,
           inputs: {{train: {{step: prep, output: out}}, extra: {RAW}}}}}
"""


class FakeFetcher:
    """Fetches a URI into a folder (or, for a key ending in .csv, a file) under ``root``."""

    def __init__(self, root: Path, fail: str | None = None) -> None:
        self.root = root
        self.fail = fail
        self.calls: list[str] = []

    def __call__(self, uri: str) -> Path:
        self.calls.append(uri)
        if uri == self.fail:
            raise s3.S3AccessDenied(f"access denied to {uri}")
        name = uri.removeprefix("s3://").replace("/", "_")
        if uri.endswith(".csv"):
            path = self.root / name / uri.rsplit("/", 1)[-1]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("id,value\n1,2\n")
            return path
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "part-0.csv").write_text("a,b\n1,2\n")
        return path


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit",
        max_workers=1,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
    )


def engine() -> FakeEngine:
    writes = FakeBehaviour(writes={"/opt/ml/processing/output/out/part.csv": "a,b\n1,2\n"})
    return FakeEngine({"prep": writes}, images={RUNNER_IMAGE: "sha256:runner"})


def mount_at(spec: ContainerSpec, target: str) -> Mount:
    (mount,) = [m for m in spec.mounts if m.target == target]
    return mount


def spec_of(fake: FakeEngine, step: str) -> ContainerSpec:
    (spec,) = [s for s in fake.specs if s.labels["cit.step"] == step]
    return spec


def one_step(fields: str) -> str:
    return f"name: x\nsteps:\n  a: {{{fields}}}\n"


# Writing S3 inputs ------------------------------------------------------------------------


def test_yaml_inputs_as_a_uri_or_a_path_with_destination(project: Path) -> None:
    pipeline = load_and_validate(write(project, "p.yaml", PIPELINE))
    prep = pipeline.steps["prep"]
    assert prep.inputs["raw"] == StepInput(source=S3Source(uri=RAW))
    lookup = prep.inputs["lookup"]
    assert lookup.source == S3Source(uri="s3://bucket/lookup.csv")
    assert lookup.destination == "/opt/ml/processing/lookup"
    assert s3_inputs(pipeline) == [RAW, "s3://bucket/lookup.csv"]  # each URI once
    assert s3_inputs(pipeline, ["train"]) == [RAW]


def test_python_inputs_as_a_uri_or_an_s3_source(project: Path) -> None:
    text = f"""
    from orchestrator import Pipeline
    from orchestrator.pipeline.model import S3Source, StepInput
    pipeline = Pipeline("demo")
    pipeline.processing("a", script="scripts/prep.py", inputs={{
        "raw": "{RAW}",
        "more": StepInput(source=S3Source(uri="s3://bucket/more/")),
        "local": "data",
    }})
    """
    step = load_and_validate(write(project, "p.py", text)).steps["a"]
    assert step.inputs["raw"].source == S3Source(uri=RAW)
    assert step.inputs["more"].source == S3Source(uri="s3://bucket/more/")
    assert step.inputs["local"].source == LocalSource(path=project / "data")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("s3:/bucket/raw", "it must start with s3://"),
        ("S3://b/k", "bucket name 'b' must be 3-63 lowercase"),
        ("s3://Bucket/raw", "bucket name 'Bucket'"),
        ("'s3://'", "the bucket name is missing"),
        ("{path: 's3://my_bucket/x', destination: /opt/ml/processing/x}", "'my_bucket'"),
    ],
)
def test_a_malformed_uri_names_the_input(project: Path, value: str, fragment: str) -> None:
    path = write(project, "p.yaml", one_step(f"{PREP}, inputs: {{raw: {value}}}"))
    with pytest.raises(InputError) as info:
        load_and_validate(path)
    assert info.value.field == "steps.a.inputs.raw"
    assert str(info.value).startswith(f"{path}: steps.a.inputs.raw: not a valid S3 URI")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_uri_as_a_path_object_is_refused_with_the_reason(project: Path) -> None:
    with pytest.raises(ValueError, match=r"inputs.raw: give the S3 URI as a string, not a Path"):
        build_step(
            "a", StepKind.PROCESSING, {"script": "x.py", "inputs": {"raw": Path(RAW)}}, project
        )


def test_s3_source_checks_its_uri() -> None:
    with pytest.raises(ValueError, match="not a valid S3 URI"):
        S3Source(uri="https://bucket/raw")
    assert str(S3Source(uri=RAW)) == RAW


# Validation: like a local input, but it need not exist ------------------------------------


def test_validation_needs_no_fetch_and_keeps_the_mount_rules(project: Path) -> None:
    assert load_and_validate(write(project, "ok.yaml", one_step(f"{PREP}, inputs: {{r: {RAW}}}")))

    def refused(fields: str) -> str:
        with pytest.raises(PipelineError) as info:
            load_and_validate(write(project, "p.yaml", one_step(fields)))
        return str(info.value)

    def s3_input(name: str, destination: str) -> str:
        return f"inputs: {{{name}: {{path: '{RAW}', destination: {destination}}}}}"

    outside = refused(f"{PREP}, {s3_input('raw', '/data/raw')}")
    assert "mounts its inputs and outputs under /opt/ml/processing/" in outside
    train = refused(f"{TRAIN}, {s3_input('t', '/opt/ml/processing/t')}")
    assert "training channels are always mounted at /opt/ml/input/data/t" in train
    nested = refused(f"{PREP}, outputs: [o], {s3_input('raw', '/opt/ml/processing/output/o/in')}")
    assert "mounts cannot nest" in nested


# Fetching before the run ------------------------------------------------------------------


def test_inputs_are_fetched_once_and_mounted_read_only(project: Path, tmp_path: Path) -> None:
    fetch = FakeFetcher(tmp_path / "cache")
    fake = engine()
    result = execute_pipeline(
        write(project, "p.yaml", PIPELINE), fake, settings=settings(project), fetch_s3=fetch
    )
    assert result.ok, result
    assert fetch.calls == [RAW, "s3://bucket/lookup.csv"]  # the URI both steps read: once
    prep = spec_of(fake, "prep")
    raw = mount_at(prep, RAW_TARGET)
    assert raw.source == str(tmp_path / "cache" / "bucket_raw") and raw.read_only
    lookup = mount_at(prep, "/opt/ml/processing/lookup/lookup.csv")  # one object: a file
    assert lookup.source == str(tmp_path / "cache" / "bucket_lookup.csv" / "lookup.csv")
    assert lookup.read_only
    extra = mount_at(spec_of(fake, "train"), "/opt/ml/input/data/extra")
    assert extra.source == raw.source and extra.read_only


def test_the_manifest_records_each_inputs_uri(project: Path, tmp_path: Path) -> None:
    fetch = FakeFetcher(tmp_path / "cache")
    result = execute_pipeline(
        write(project, "p.yaml", PIPELINE), engine(), settings=settings(project), fetch_s3=fetch
    )
    expected = {"prep.raw": RAW, "prep.lookup": "s3://bucket/lookup.csv", "train.extra": RAW}
    assert result.sources == expected
    manifest = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert manifest["sources"] == expected
    assert manifest["steps"][0]["status"] == "succeeded"


def test_a_failed_fetch_stops_before_any_container_or_run_directory(
    project: Path, tmp_path: Path
) -> None:
    fetch = FakeFetcher(tmp_path / "cache", fail="s3://bucket/lookup.csv")
    fake = engine()
    with pytest.raises(s3.S3AccessDenied, match=r"^access denied to s3://bucket/lookup.csv$"):
        execute_pipeline(
            write(project, "p.yaml", PIPELINE), fake, settings=settings(project), fetch_s3=fetch
        )
    assert fake.specs == [] and fake.created == []
    assert not (project / ".cit").exists()


def test_a_fetcher_whose_copy_is_missing_is_an_error(project: Path, tmp_path: Path) -> None:
    pipeline = load_and_validate(write(project, "p.yaml", PIPELINE))
    with pytest.raises(CitError, match=r"s3://bucket/raw: fetched, but its local copy .* is not"):
        fetch_inputs(pipeline, lambda uri: tmp_path / "nowhere")


def test_fetching_some_steps_leaves_the_others(project: Path, tmp_path: Path) -> None:
    pipeline = load_and_validate(write(project, "p.yaml", PIPELINE))
    fetch = FakeFetcher(tmp_path / "cache")
    fetched = fetch_inputs(pipeline, fetch, steps=["train"])
    assert fetch.calls == [RAW]
    extra = fetched.steps["train"].inputs["extra"].source
    assert extra == LocalSource(path=tmp_path / "cache" / "bucket_raw", origin=RAW)
    assert fetched.steps["prep"].inputs["lookup"].source == S3Source(uri="s3://bucket/lookup.csv")
    assert pipeline.steps["train"].inputs["extra"].source == S3Source(uri=RAW)  # unchanged
    assert fetch_inputs(fetched, fetch, steps=["train"]) is fetched  # nothing left to fetch


def test_a_pipeline_with_unfetched_inputs_cannot_be_planned(project: Path) -> None:
    pipeline = load_and_validate(write(project, "p.yaml", PIPELINE))
    with pytest.raises(PipelineError, match=r"steps.prep.inputs.raw: s3://bucket/raw is not"):
        plan_run(pipeline, project / "p.yaml", settings(project), "r1", project / "run")


def test_no_fetch_for_a_pipeline_without_s3_inputs(project: Path) -> None:
    text = "name: x\nsteps:\n  a: {kind: processing, script: scripts/prep.py, inputs: {d: data}}\n"

    def refuse(uri: str) -> Path:
        raise AssertionError(uri)

    result = execute_pipeline(
        write(project, "p.yaml", text), engine(), settings=settings(project), fetch_s3=refuse
    )
    assert result.ok and result.sources == {}
    assert "sources" in json.loads((Path(result.run_dir) / "manifest.json").read_text())


# Test cases -------------------------------------------------------------------------------

SCRIPT = 'open("/opt/ml/processing/output/out/x.csv", "w").write("a\\n1\\n")\n'


def test_a_case_input_written_as_a_uri(tmp_path: Path) -> None:
    loaded = cases_from_data(
        [{"name": "c", "input_data": {"raw": RAW, "more": {"path": "s3://bucket/more"}}}],
        tmp_path,
    )
    (case,) = loaded.test_cases
    assert case.input_data["raw"] == InputSource(uri=RAW)
    assert (
        case.input_data["more"].uri == "s3://bucket/more" and case.input_data["more"].path is None
    )


@pytest.mark.parametrize(
    ("written", "field", "fragment"),
    [
        ("s3:/bucket/raw", "input_data.raw", "it must start with s3://"),
        ({"path": "s3://B/k"}, "input_data.raw", "bucket name 'B'"),
        ({"path": "data", "uri": RAW}, "input_data.raw", "give one of: a path (or s3:// URI)"),
    ],
)
def test_a_bad_case_uri_names_the_case_and_channel(
    tmp_path: Path, written: object, field: str, fragment: str
) -> None:
    (tmp_path / "data").mkdir()
    text = json.dumps({"test_cases": [{"name": "c", "input_data": {"raw": written}}]})
    path = tmp_path / "cases.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_test_cases(path)
    assert info.value.field == f"test_cases.c.{field}", str(info.value)
    assert fragment in str(info.value)


def test_case_inputs_from_s3_are_fetched_before_the_case_runs(tmp_path: Path) -> None:
    script = tmp_path / "prep.py"
    script.write_text("import os\nos.listdir('/opt/ml/processing/input/raw')\n" + SCRIPT)
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        textwrap.dedent(f"""
        test_cases:
          - name: from_s3
            input_data: {{raw: {RAW}}}
          - name: again
            input_data: {{raw: {{path: "{RAW}"}}}}
        """)
    )
    step, source = resolve_step(str(script))
    fetch = FakeFetcher(tmp_path / "cache")
    fake = engine()
    result = run_script_tests(
        step,
        load_test_cases(cases).test_cases,
        RunContext(engine=fake, settings=settings(tmp_path), fetch_s3=fetch),
        source_file=source,
    )
    assert result.passed == 2, result
    assert fetch.calls == [RAW, RAW]  # each case fetches (the cache makes the second cheap)
    for spec in fake.specs:
        mount = mount_at(spec, RAW_TARGET)
        assert mount.source == str(tmp_path / "cache" / "bucket_raw") and mount.read_only
    for case in result.test_results:
        assert case.run_dir is not None
        manifest = json.loads((case.run_dir / "manifest.json").read_text())
        assert manifest["sources"] == {"prep.raw": RAW}


def test_a_failed_case_fetch_stops_before_any_container(tmp_path: Path) -> None:
    script = tmp_path / "prep.py"
    script.write_text("import os\nos.listdir('/opt/ml/processing/input/raw')\n" + SCRIPT)
    step, source = resolve_step(str(script))
    (case,) = cases_from_data([{"name": "c", "input_data": {"raw": RAW}}], tmp_path).test_cases
    fake = engine()
    with pytest.raises(s3.S3AccessDenied):
        run_script_tests(
            step,
            [case],
            RunContext(
                engine=fake,
                settings=settings(tmp_path),
                fetch_s3=FakeFetcher(tmp_path / "cache", fail=RAW),
            ),
            source_file=source,
        )
    assert fake.specs == []


# The command line -------------------------------------------------------------------------

runner = CliRunner()


SETTINGS_USED: list[s3.S3Settings] = []


@pytest.fixture
def fake_s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakeEngine, list[str]]:
    """``cit`` with the fake engine and an ``s3.download`` that fetches into ``tmp_path``
    (the settings of each download go to ``SETTINGS_USED``)."""
    fake = engine()
    fetch = FakeFetcher(tmp_path / "cache", fail="s3://bucket/denied")
    monkeypatch.setattr("orchestrator.cli.command.connect", lambda: fake)
    SETTINGS_USED.clear()

    def download(
        uri: str,
        settings: s3.S3Settings | None = None,
        progress: s3.DownloadProgress | None = None,
    ) -> s3.Download:
        assert isinstance(settings, s3.S3Settings) and progress is not None
        SETTINGS_USED.append(settings)
        path = fetch(uri)
        return s3.Download(uri=uri, path=path, files=3, bytes=2048, fetched=1, cached=2)

    monkeypatch.setattr(s3, "download", download)
    return fake, fetch.calls


def test_cit_run_shows_each_fetch_and_mounts_it(
    project: Path, fake_s3: tuple[FakeEngine, list[str]]
) -> None:
    fake, calls = fake_s3
    path = write(project, "p.yaml", PIPELINE)
    result = runner.invoke(
        app, ["run", "--dag", str(path), "--cit-dir", str(project / ".cit"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "s3://bucket/raw: 3 files, 2.0 KiB (1 downloaded, 2 from the cache)" in result.output
    assert calls == [RAW, "s3://bucket/lookup.csv"]
    assert mount_at(spec_of(fake, "prep"), RAW_TARGET).read_only


def test_cit_run_stops_on_a_failed_fetch_with_one_line(
    project: Path, fake_s3: tuple[FakeEngine, list[str]]
) -> None:
    fake, _ = fake_s3
    text = PIPELINE.replace("s3://bucket/lookup.csv", "s3://bucket/denied")
    path = write(project, "p.yaml", text)
    result = runner.invoke(app, ["run", "--dag", str(path), "--cit-dir", str(project / ".cit")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1] == "error: access denied to s3://bucket/denied", result.output
    assert "Traceback" not in result.output and fake.specs == []


def test_cit_test_flow_fetches_only_the_path(
    project: Path, fake_s3: tuple[FakeEngine, list[str]]
) -> None:
    _, calls = fake_s3
    late = f"  late: {{{PREP}, inputs: {{x: s3://bucket/late}}}}\n"
    path = write(project, "p.yaml", PIPELINE + late)
    options = ["--path", "prep,train", "--cit-dir", str(project / ".cit"), "-q"]
    result = runner.invoke(app, ["test-flow", "--dag", str(path), *options])
    assert result.exit_code == 0, result.output
    assert calls == [RAW, "s3://bucket/lookup.csv"]


CONFIG = """
s3_integration:
  download_timeout_seconds: 42
  retry_attempts: 7
  temp_directory: s3cache
"""


@pytest.mark.parametrize("command", ["run", "test-flow", "test-script"])
def test_the_configuration_reaches_every_fetch(
    project: Path, fake_s3: tuple[FakeEngine, list[str]], command: str
) -> None:
    config = write(project, "cit.yaml", CONFIG)
    path = write(project, "p.yaml", PIPELINE)
    options = ["--cit-dir", str(project / ".cit"), "-q", "--config", str(config)]
    if command == "test-script":
        cases = write(
            project,
            "cases.yaml",
            f"test_cases:\n  - name: c\n    input_data: {{raw: {RAW}, lookup: {RAW}}}\n",
        )
        options += ["--script", "prep", "--test-cases", str(cases)]
    result = runner.invoke(app, [command, "--dag", str(path), *options])
    assert result.exit_code == 0, result.output
    assert f"{RAW}: 3 files" in result.output
    assert SETTINGS_USED, "nothing was fetched"
    for used in SETTINGS_USED:
        assert used.download_timeout_seconds == 42
        assert used.retry_attempts == 7
        assert used.cache_dir == project / "s3cache"

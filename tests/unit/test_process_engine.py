"""Process isolation: job arguments → Namespace, container spec → host paths, the main()
check, and real host processes run by ProcessEngine (no Docker)."""

from __future__ import annotations

import argparse
import json
import os
import stat
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.engines.base import ContainerOutcome
from orchestrator.engines.process_engine import (
    PROCESS_IMAGE_ID,
    ProcessEngine,
    ProcessJobError,
    StagedCopy,
    has_main,
    host_path,
    job_args,
    job_arguments,
    process_job,
    require_main,
    stage_inputs,
)
from orchestrator.engines.spec import RUN_LABEL, STEP_LABEL, ContainerSpec, Mount
from orchestrator.errors import InputError
from orchestrator.pipeline.model import LocalSource, Step, StepInput, StepKind, StepOutputSpec
from orchestrator.run.plan import PlannedStep
from orchestrator.run.sagemaker_job import JobContext, StepPaths, translate
from orchestrator.run.step_runner import prepare

from .conftest import write

# job_args ----------------------------------------------------------------------------------


def test_key_value_pairs_and_flags_become_a_namespace_of_strings() -> None:
    namespace = job_args(["--job-type", "training", "--threshold", "0.5", "--verbose", "-k", "3"])
    assert namespace == argparse.Namespace(
        job_type="training", threshold="0.5", verbose=True, k="3"
    )


def test_equals_form_negative_numbers_trailing_flags_and_repeats() -> None:
    fields = job_arguments(
        ["--offset", "-0.5", "--name=--odd", "--n", "1", "--n", "2", "--dry-run"]
    )
    assert fields == {"offset": "-0.5", "name": "--odd", "n": "2", "dry_run": True}
    assert job_arguments([]) == {}
    assert job_arguments(["--a", "--b"]) == {"a": True, "b": True}


@pytest.mark.parametrize("arguments", [["train"], ["--a", "1", "2"], ["--"], ["--2x"]])
def test_an_argument_that_is_no_option_is_refused(arguments: list[str]) -> None:
    with pytest.raises(ProcessJobError, match="is no option; job_args takes '--key value'"):
        job_arguments(arguments)


# The main() check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "callable_"),
    [
        ("def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n", True),
        (
            "def main(input_paths: dict[str, str], output_paths: dict[str, str],\n"
            "         environ_vars: dict[str, str], job_args, logger=None, *, x=1):\n    pass\n",
            True,
        ),
        ("def main(input_paths, output_paths, environ_vars, job_args, logger):\n    pass\n", False),
        ("def main(input_paths, output_paths, environ_vars, job_args, *, x):\n    pass\n", False),
        ("def main(inputs, outputs, env, args):\n    pass\n", False),
        ("def main():\n    pass\n", False),
        ("print('no main at all')\n", False),
        (
            "if __name__ == '__main__':\n"
            "    def main(input_paths, output_paths, environ_vars, job_args):\n        pass\n",
            False,
        ),
        (
            "async def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n",
            False,
        ),
        (
            "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"
            "def main():\n    pass\n",
            False,
        ),
        ("def main(:\n", True),  # not parsed here: it fails when it runs, as in a container
    ],
)
def test_main_must_take_the_four_parameters(source: str, callable_: bool) -> None:
    assert has_main(source) is callable_


def test_a_script_without_main_is_refused_in_one_line(tmp_path: Path) -> None:
    script = write(tmp_path, "plain.py", "print('hello')\n")
    with pytest.raises(InputError) as caught:
        require_main(script)
    assert str(caught.value) == (
        f"{script} has no main(input_paths, output_paths, environ_vars, job_args); process "
        "isolation needs it — run it in a container (the default)"
    )
    require_main(write(tmp_path, "ok.py", MAIN_SCRIPT))


# From the container spec to host paths -----------------------------------------------------


def planned(step: Step, inputs: dict[str, Path], root: Path) -> tuple[ContainerSpec, StepPaths]:
    """The container spec cit plans for ``step``, with the step's folders prepared."""
    paths = StepPaths(root / "steps" / step.name)
    job = translate(step, inputs, paths, JobContext(run_id="r1", image="img", user=None))
    prepare(PlannedStep(step, paths, job))
    return job.container, paths


def test_processing_mounts_map_to_inputs_outputs_and_the_script(tmp_path: Path) -> None:
    script = write(tmp_path, "score.py", MAIN_SCRIPT)
    folder = tmp_path / "data"
    folder.mkdir()
    single = write(tmp_path, "model.json", "{}")
    step = Step(
        name="score",
        kind=StepKind.PROCESSING,
        script=script,
        inputs={
            "data": StepInput(source=LocalSource(path=folder)),
            "model": StepInput(source=LocalSource(path=single)),
            "eval_data_input": StepInput(
                source=LocalSource(path=folder), destination="/opt/ml/processing/input/eval"
            ),
        },
        outputs={"metrics": StepOutputSpec(), "scored": StepOutputSpec(destination="/work/out")},
        env={
            "SCALE": "5",
            "NOTE": "/x",
            "DATA_DIR": "/opt/ml/processing/input/data/sub",
            "MODEL_DIR": "/opt/ml/processing/input/model",
            "MODEL_FILE": "/opt/ml/processing/input/model/model.json",
            "EVAL_DIR": "/opt/ml/processing/input/eval/",
            "METRICS_FILE": "/opt/ml/processing/output/metrics/m.json",
        },
        arguments=["--threshold", "0.5"],
    )
    inputs = {"data": folder, "model": single, "eval_data_input": folder}
    spec, paths = planned(step, inputs, tmp_path)
    config = json.loads((paths.config_dir / "processingjobconfig.json").read_text())
    stage = tmp_path / "stage"
    job = process_job(spec, config, stage_dir=stage)
    assert job.script == script
    assert job.arguments == ("--threshold", "0.5")
    staged = stage / "opt/ml/processing/input"  # every input is a copy, laid out as mounted
    assert job.input_paths == {
        "data": str(staged / "data"),
        "model": str(staged / "model"),  # a file input gets a folder of its own
        "eval_data_input": str(staged / "eval"),
    }
    assert job.copies == (
        StagedCopy(folder, staged / "data", read_only=True),
        StagedCopy(folder, staged / "eval", read_only=True),
        StagedCopy(single, staged / "model" / "model.json", read_only=True),
    )
    assert job.output_paths == {
        "metrics": str(paths.output("metrics")),
        "scored": str(paths.output("scored")),
    }
    assert job.environ_vars["SCALE"] == "5" and job.environ_vars["NOTE"] == "/x"
    # A container path in the environment is where main sees it: in an input's copy.
    assert job.environ_vars["DATA_DIR"] == str(staged / "data" / "sub")
    assert job.environ_vars["MODEL_DIR"] == str(staged / "model")
    assert job.environ_vars["MODEL_FILE"] == str(staged / "model" / "model.json")
    assert job.environ_vars["EVAL_DIR"] == str(staged / "eval")
    assert job.environ_vars["METRICS_FILE"] == str(paths.output("metrics") / "m.json")
    assert job.working_dir is None
    # Without the job config, the standard folders still name inputs and outputs.
    bare = process_job(spec, stage_dir=stage)
    assert bare.input_paths == {
        "data": str(staged / "data"),
        "model": str(staged / "model"),
        "eval": str(staged / "eval"),
    }
    assert set(bare.output_paths) == {"metrics"}


def test_training_maps_channels_model_output_data_and_code(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    script = write(tmp_path / "src", "train.py", MAIN_SCRIPT)
    folder = tmp_path / "train"
    folder.mkdir()
    step = Step(
        name="train",
        kind=StepKind.TRAINING,
        script=script,
        source_dir=tmp_path / "src",
        inputs={"train": StepInput(source=LocalSource(path=folder))},
        hyperparameters={"max_depth": 3, "eta": 0.1},
    )
    spec, paths = planned(step, {"train": folder}, tmp_path)
    job = process_job(spec, stage_dir=tmp_path / "stage")
    assert job.script == paths.code_dir / "train.py"  # the step's own copy, as mounted
    assert job.arguments == ("--eta", "0.1", "--max_depth", "3")
    train = tmp_path / "stage/opt/ml/input/data/train"
    assert job.input_paths == {"train": str(train)}
    assert job.copies == (StagedCopy(folder, train, read_only=True),)
    assert job.output_paths == {
        "model": str(paths.model_dir),
        "output_data": str(paths.ml_output_dir / "data"),
    }
    assert job.environ_vars["SM_CHANNEL_TRAIN"] == str(train)
    assert job.environ_vars["SM_MODEL_DIR"] == str(paths.model_dir)
    assert job.working_dir == paths.code_dir


def test_a_spec_without_a_mounted_script_cannot_run_as_a_process(tmp_path: Path) -> None:
    spec = ContainerSpec(name="byoc", image="img", command=("train",))
    with pytest.raises(ProcessJobError, match=r"runs no mounted Python script \(train\)"):
        process_job(spec, stage_dir=tmp_path)


def test_staging_copies_inputs_as_mounted_and_read_only(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "rows.csv").write_text("a\n1\n")
    (folder / "sub" / "more.csv").write_text("a\n2\n")
    single = write(tmp_path, "model.json", "{}")
    stage = tmp_path / "stage"
    spec = ContainerSpec(
        name="s",
        image="img",
        command=("python3", "/opt/ml/processing/input/code/s.py"),
        mounts=(
            Mount(str(write(tmp_path, "s.py", MAIN_SCRIPT)), "/opt/ml/processing/input/code/s.py",
                  read_only=True),
            Mount(str(folder), "/opt/ml/processing/input/data", read_only=True),
            Mount(str(single), "/opt/ml/processing/input/model/model.json", read_only=True),
            Mount(str(tmp_path / "out"), "/opt/ml/processing/output/o", read_only=False),
        ),
    )  # fmt: skip
    job = process_job(spec, stage_dir=stage)
    stage_inputs(job)
    data, model = Path(job.input_paths["data"]), Path(job.input_paths["model"])
    assert (data / "rows.csv").read_text() == "a\n1\n"
    assert (data / "sub" / "more.csv").read_text() == "a\n2\n"
    assert [p.name for p in model.iterdir()] == ["model.json"]
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for copy in (data, data / "sub", data / "rows.csv", data / "sub" / "more.csv",
                 model / "model.json"):  # fmt: skip
        assert not copy.stat().st_mode & write_bits, copy
    assert model.stat().st_mode & stat.S_IWUSR  # created, not mounted: writable, as in Docker
    for original in (folder, folder / "sub", folder / "rows.csv", single):
        assert original.stat().st_mode & stat.S_IWUSR, original  # the user's files untouched
    assert job.script == tmp_path / "s.py"  # not an input: not copied


def test_staging_a_missing_input_is_one_line(tmp_path: Path) -> None:
    job = process_job(
        ContainerSpec(
            name="s",
            image="img",
            command=("python3", "/opt/ml/processing/input/code/s.py"),
            mounts=(
                Mount(str(tmp_path / "s.py"), "/opt/ml/processing/input/code/s.py", True),
                Mount(str(tmp_path / "gone"), "/opt/ml/processing/input/data", True),
            ),
        ),
        stage_dir=tmp_path / "stage",
    )
    with pytest.raises(ProcessJobError) as caught:
        stage_inputs(job)
    assert str(caught.value).startswith(
        f"cannot copy input {tmp_path / 'gone'} for process isolation: "
    )
    assert "\n" not in str(caught.value)


def test_host_path_uses_the_deepest_mount() -> None:
    mounts = (
        Mount("/host/ml", "/opt/ml/output", read_only=False),
        Mount("/host/data", "/opt/ml/output/data", read_only=False),
    )
    assert host_path(mounts, "/opt/ml/output/data/a/b.csv") == Path("/host/data/a/b.csv")
    assert host_path(mounts, "/opt/ml/output/failure") == Path("/host/ml/failure")
    assert host_path(mounts, "/opt/ml/output") == Path("/host/ml")
    assert host_path(mounts, "/opt/ml/outputs") is None


# Running processes -------------------------------------------------------------------------

MAIN_SCRIPT = """
import json, os, sys
from pathlib import Path

print("imported as", __name__)

def main(input_paths, output_paths, environ_vars, job_args):
    rows = sum(1 for f in Path(input_paths["data"]).iterdir() for _ in f.open())
    print("job_args", json.dumps(vars(job_args), sort_keys=True))
    print("env", os.environ["SCALE"], environ_vars["SCALE"], "HOME" in os.environ)
    print("to stderr", file=sys.stderr)
    if environ_vars.get("MODE") == "crash":
        raise ValueError("bad input: no amount column")
    if environ_vars.get("MODE") == "exit":
        sys.exit(3)
    if environ_vars.get("MODE") == "sleep":
        import time
        time.sleep(60)
    Path(output_paths["metrics"], "metrics.json").write_text(json.dumps({"rows": rows}))

if __name__ == "__main__":
    raise SystemExit("the CLI block must not run")
"""


def process_spec(
    tmp_path: Path, env: dict[str, str], timeout: float | None = None
) -> ContainerSpec:
    script = tmp_path / "score.py"
    if not script.exists():
        script.write_text(textwrap.dedent(MAIN_SCRIPT))
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "rows.csv").write_text("id,amount\n1,2\n")
    outputs = tmp_path / "out"
    outputs.mkdir(exist_ok=True)
    return ContainerSpec(
        name="cit-r1-score",
        image="any-image:1",
        entrypoint=("python3", "/opt/ml/processing/input/code/score.py"),
        command=("--threshold", "0.5", "--dry-run"),
        env={"PYTHONUNBUFFERED": "1", "SCALE": "7", **env},
        mounts=(
            Mount(str(script), "/opt/ml/processing/input/code/score.py", read_only=True),
            Mount(str(data), "/opt/ml/processing/input/data", read_only=True),
            Mount(str(outputs), "/opt/ml/processing/output/metrics", read_only=False),
        ),
        labels={STEP_LABEL: "score"},
        timeout_seconds=timeout,
    )


def run(
    engine: ProcessEngine, spec: ContainerSpec, cancel: threading.Event | None = None
) -> tuple[ContainerOutcome, list[str]]:
    lines: list[str] = []
    outcome = engine.run(spec, on_log=lines.append, cancel=cancel or threading.Event())
    return outcome, lines


def test_main_runs_with_host_paths_env_and_job_args(tmp_path: Path) -> None:
    outcome, lines = run(ProcessEngine(), process_spec(tmp_path, {}))
    assert outcome.exit_code == 0 and outcome.error is None, lines
    assert (outcome.image_id, outcome.timed_out, outcome.cancelled) == (
        PROCESS_IMAGE_ID,
        False,
        False,
    )
    assert lines[0] == "imported as score"  # not __main__: the CLI block did not run
    assert 'job_args {"dry_run": true, "threshold": "0.5"}' in lines
    assert "env 7 7 True" in lines and "to stderr" in lines
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == {"rows": 2}
    assert outcome.finished_at >= outcome.started_at


SECRET_SCRIPT = """
import os

def main(input_paths, output_paths, environ_vars, job_args):
    print("secret", environ_vars["TOKEN"] == os.environ["TOKEN"] == "s3cr3t", environ_vars["SCALE"])
"""


def test_a_secret_reaches_main_through_the_environment_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.engines import process_engine

    (tmp_path / "score.py").write_text(textwrap.dedent(SECRET_SCRIPT))
    spec = process_spec(tmp_path, {})
    spec = ContainerSpec(**{**vars(spec), "secret_env": {"TOKEN": "s3cr3t"}})
    written: list[str] = []
    write_job = process_engine._write_job

    def keep(*args: object) -> Path:
        path = write_job(*args)  # type: ignore[arg-type]
        written.append(path.read_text())
        return path

    monkeypatch.setattr(process_engine, "_write_job", keep)
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code == 0, lines
    assert "secret True 7" in lines
    assert written and "s3cr3t" not in written[0] and '"TOKEN"' in written[0]


WRITER_SCRIPT = """
import json, os
from pathlib import Path

def main(input_paths, output_paths, environ_vars, job_args):
    data = Path(input_paths["data"])
    print("input", data)
    print("read-only", not os.stat(data / "rows.csv").st_mode & 0o222,
          not os.stat(data).st_mode & 0o222)
    for attempt in (
        lambda: (data / "rows.csv").write_text("changed"),
        lambda: (data / "new.csv").write_text("new"),
        lambda: (data / "old.csv").unlink(),
    ):
        try:
            attempt()
        except PermissionError:
            print("refused")
    Path(output_paths["metrics"], "metrics.json").write_text("{}")
"""


def test_main_gets_copies_of_inputs_and_cannot_change_the_originals(tmp_path: Path) -> None:
    spec = process_spec(tmp_path, {})
    write(tmp_path, "score.py", WRITER_SCRIPT)
    data = tmp_path / "data"
    (data / "old.csv").write_text("id\n9\n")
    before = {p.name: p.read_text() for p in data.iterdir()}
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code == 0, lines
    assert {p.name: p.read_text() for p in data.iterdir()} == before
    copy = Path(next(line for line in lines if line.startswith("input "))[6:])
    assert copy != data and not copy.exists()  # the copy went with the run's scratch folder
    assert "read-only True True" in lines
    if os.geteuid() != 0:  # root writes through any permission; to the copy, then
        assert lines.count("refused") == 3, lines


ENV_SCRIPT = """
import os
from pathlib import Path

def main(input_paths, output_paths, environ_vars, job_args):
    print("dir", os.environ["MODEL_DIR"] == input_paths["model"] == environ_vars["MODEL_DIR"])
    print("file", Path(os.environ["MODEL_FILE"]).read_text())
    print("data", Path(os.environ["DATA_DIR"], "rows.csv").is_file())
"""


def test_environment_paths_name_the_copies_of_file_and_folder_inputs(tmp_path: Path) -> None:
    base = process_spec(
        tmp_path,
        {
            "MODEL_DIR": "/opt/ml/processing/input/model",
            "MODEL_FILE": "/opt/ml/processing/input/model/model.json",
            "DATA_DIR": "/opt/ml/processing/input/data",
        },
    )
    write(tmp_path, "score.py", ENV_SCRIPT)
    model = write(tmp_path, "model.json", '{"depth": 3}')
    mount = Mount(str(model), "/opt/ml/processing/input/model/model.json", read_only=True)
    spec = ContainerSpec(**{**base.to_dict(), "mounts": (*base.mounts, mount)})
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code == 0, lines
    assert lines == ["dir True", 'file {"depth": 3}', "data True"]


def test_an_input_that_cannot_be_copied_is_an_engine_error(tmp_path: Path) -> None:
    base = process_spec(tmp_path, {})
    gone = Mount(str(tmp_path / "gone"), "/opt/ml/processing/input/extra", read_only=True)
    spec = ContainerSpec(**{**base.to_dict(), "mounts": (*base.mounts, gone)})
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code is None
    assert (outcome.error or "").startswith(f"cannot copy input {tmp_path / 'gone'}")
    assert lines == [f"cit: {outcome.error}"]


def test_an_exception_in_main_logs_its_traceback_and_exits_1(tmp_path: Path) -> None:
    outcome, lines = run(ProcessEngine(), process_spec(tmp_path, {"MODE": "crash"}))
    assert outcome.exit_code == 1
    assert "Traceback (most recent call last):" in lines
    assert lines[-1] == "ValueError: bad input: no amount column"


def test_sys_exit_in_main_gives_its_code(tmp_path: Path) -> None:
    outcome, _ = run(ProcessEngine(), process_spec(tmp_path, {"MODE": "exit"}))
    assert outcome.exit_code == 3


def test_a_script_without_main_fails_when_run_directly(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text("print('no main')\n")
    outcome, lines = run(ProcessEngine(), process_spec(tmp_path, {}))
    assert outcome.exit_code == 1
    assert lines[-1].endswith(
        "score.py has no main(input_paths, output_paths, environ_vars, job_args)"
    )


def test_timeout_terminates_the_process(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome, _ = run(ProcessEngine(), process_spec(tmp_path, {"MODE": "sleep"}, timeout=0.5))
    assert outcome.timed_out and not outcome.cancelled
    assert outcome.exit_code == 128 + 15  # SIGTERM, as a container reports it
    assert time.monotonic() - started < 10


def test_cancel_stops_the_process_and_it_is_listed_while_it_runs(tmp_path: Path) -> None:
    engine = ProcessEngine(stop_grace_seconds=0.5)
    cancel = threading.Event()
    spec = process_spec(tmp_path, {"MODE": "sleep"})
    done: list[tuple[ContainerOutcome, list[str]]] = []
    worker = threading.Thread(target=lambda: done.append(run(engine, spec, cancel)))
    worker.start()
    deadline = time.monotonic() + 10
    while not engine.list_containers({STEP_LABEL: "score"}) and time.monotonic() < deadline:
        time.sleep(0.02)
    [info] = engine.list_containers({STEP_LABEL: "score"})
    assert (info.name, info.status) == ("cit-r1-score", "running")
    assert engine.list_containers({STEP_LABEL: "other"}) == []
    cancel.set()
    worker.join(10)
    outcome, _ = done[0]
    assert outcome.cancelled and outcome.exit_code is not None
    assert engine.list_containers({}) == []


def test_remove_container_kills_a_running_process(tmp_path: Path) -> None:
    engine = ProcessEngine()
    done: list[tuple[ContainerOutcome, list[str]]] = []
    spec = process_spec(tmp_path, {"MODE": "sleep"})
    worker = threading.Thread(target=lambda: done.append(run(engine, spec)))
    worker.start()
    deadline = time.monotonic() + 10
    while not engine.list_containers({}) and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.remove_container("cit-r1-score")
    worker.join(10)
    outcome, _ = done[0]
    assert outcome.exit_code == 128 + 9
    engine.remove_container("gone")  # no error when nothing runs under that name


def test_engine_answers_without_docker(tmp_path: Path) -> None:
    engine = ProcessEngine()
    assert engine.image_id("no-such-image:1") == PROCESS_IMAGE_ID
    assert engine.capacity() is None and engine.list_containers({}) == []
    engine.create(process_spec(tmp_path, {}))
    engine.flush()


def test_a_missing_interpreter_is_an_engine_error(tmp_path: Path) -> None:
    outcome, _ = run(ProcessEngine(tmp_path / "no-python"), process_spec(tmp_path, {}))
    assert outcome.exit_code is None and "cannot start" in (outcome.error or "")


def test_a_spec_that_is_no_script_is_an_engine_error_with_one_log_line() -> None:
    spec = ContainerSpec(name="byoc", image="img", command=("train",))
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code is None and "runs no mounted Python script" in (outcome.error or "")
    assert len(lines) == 1


# The command line --------------------------------------------------------------------------

CLI_CASES = """
test_cases:
  - name: counts
    input_data: {data: data}
    environment_vars: {SCALE: "3"}
    arguments: ["--threshold", "0.5"]
    expected_metrics: {rows: "== 3"}
  - name: too-many
    input_data: {data: data}
    environment_vars: {SCALE: "3"}
    expected_metrics: {rows: ">= 10"}
"""

CLI_SCRIPT = """
import json, os
from pathlib import Path

def main(input_paths, output_paths, environ_vars, job_args):
    rows = sum(1 for f in Path(input_paths["data"]).iterdir() for _ in f.open())
    Path(output_paths["metrics"], "metrics.json").write_text(json.dumps({"rows": rows}))

if __name__ == "__main__":
    main({"data": "/opt/ml/processing/input/data"},
         {"metrics": "/opt/ml/processing/output/metrics"}, dict(os.environ), None)
"""


def test_cli_process_isolation_needs_no_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    write(tmp_path, "count.py", CLI_SCRIPT)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a\n1\n2\n")
    write(tmp_path, "cases.yaml", CLI_CASES)
    report = tmp_path / "report.json"
    arguments = [
        "test-script", "--script", str(tmp_path / "count.py"),
        "--test-cases", str(tmp_path / "cases.yaml"), "--isolation", "process",
        "--cit-dir", str(tmp_path / ".cit"), "--output-report", str(report), "--quiet",
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 1, result.output
    assert "1 of 2 test case(s) passed" in result.output
    data = json.loads(report.read_text())
    assert [(r["name"], r["passed"], r["isolation"]) for r in data["test_results"]] == [
        ("counts", True, "process"),
        ("too-many", False, "process"),
    ]
    assert data["test_results"][1]["error_message"] == "rows is 3, expected >= 10"


def test_cli_refuses_a_script_without_main_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    script = write(tmp_path, "plain.py", "open('/opt/ml/processing/output/m/x', 'w')\n")
    (tmp_path / "data").mkdir()
    write(tmp_path, "cases.yaml", "test_cases:\n  - name: a\n")
    arguments = [
        "test-script", "--script", str(script), "--test-cases", str(tmp_path / "cases.yaml"),
        "--isolation", "process", "--cit-dir", str(tmp_path / ".cit"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "has no main(input_paths" in lines[0], result.output
    assert "run it in a container (the default)" in lines[0]
    assert not (tmp_path / ".cit" / "runs").exists()
    rejected = CliRunner().invoke(app, [*arguments[:-2], "--isolation", "vm"])
    assert rejected.exit_code == 2


MARKER_SCRIPT = """
import json, os, time
from pathlib import Path

def main(input_paths, output_paths, environ_vars, job_args):
    deadline = time.monotonic() + 10
    while True:  # cit adds the group to the marker once the process has started
        marker = json.loads((Path.cwd().parent / "owner.json").read_text())
        if marker["pgid"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    print("marker", marker["owner"]["pid"], marker["run_id"], marker["step"])
    print("group", marker["pgid"] == os.getpid() == os.getpgid(0))
    print("scratch", Path.cwd().parent)
"""


def test_a_process_runs_in_its_own_group_from_a_marked_scratch_folder(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text(textwrap.dedent(MARKER_SCRIPT))
    spec = process_spec(tmp_path, {})
    spec = ContainerSpec(**{**vars(spec), "labels": {STEP_LABEL: "score", RUN_LABEL: "r1"}})
    outcome, lines = run(ProcessEngine(), spec)
    assert outcome.exit_code == 0, lines
    assert f"marker {os.getpid()} r1 score" in lines
    assert "group True" in lines
    [scratch] = [line.removeprefix("scratch ") for line in lines if line.startswith("scratch ")]
    assert not Path(scratch).exists(), "the scratch folder outlived the run"

"""GPUs and training jobs on several instances, in real containers.

A step on a GPU instance type gets the engine's GPUs where it has them (the GPU test runs only
there and says why it skipped elsewhere); an engine without GPUs refuses such a step in one
line, and --cpu-only runs it without. A training job on two instances runs algo-1 and algo-2
on a private network: they reach each other by name, not the outside, and both hosts' models
come back in model.tar.gz.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from orchestrator import RunSettings, Status
from orchestrator.engines.docker_engine import DockerEngine, connect
from orchestrator.engines.spec import RUN_LABEL
from orchestrator.errors import EngineUnavailable
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.results import RunResult

from .conftest import write_script

GPU_PIPELINE = """
name: gpu
steps:
  train:
    kind: training
    script: scripts/train.py
    inputs: {train: data}
    instance: {type: ml.g4dn.xlarge}
"""
# The training toolkit counts GPUs with `nvidia-smi --list-gpus`: the same count must be in
# SM_NUM_GPUS and in the toolkit's view of the environment.
GPU_SCRIPT = """
import glob, json, os, subprocess
expected = int(os.environ["SM_NUM_GPUS"])
try:
    listed = subprocess.check_output(["nvidia-smi", "--list-gpus"]).decode()
    seen = sum(1 for line in listed.splitlines() if line.startswith("GPU "))
except OSError:
    seen = 0
devices = sorted(glob.glob("/dev/nvidia[0-9]*"))
print("SM_NUM_GPUS", expected, "nvidia-smi", seen, "devices", devices)
assert expected == seen == json.loads(os.environ["SM_TRAINING_ENV"])["num_gpus"], (expected, seen)
"""
CPU_ONLY_SCRIPT = """
import glob, json, os
print("SM_NUM_GPUS", os.environ["SM_NUM_GPUS"])
assert os.environ["SM_NUM_GPUS"] == "0"
assert json.loads(os.environ["SM_TRAINING_ENV"])["num_gpus"] == 0
assert not glob.glob("/dev/nvidia[0-9]*")
"""

TWO_HOSTS = """
name: hosts
steps:
  train:
    kind: training
    script: scripts/train.py
    inputs: {train: data}
    instance: {type: ml.m5.large, count: 2}
    timeout_seconds: 300
"""
# algo-1 listens, algo-2 connects by name; neither reaches anything outside their network.
TALK = """
import json, os, socket, time
host = os.environ["SM_CURRENT_HOST"]
config = json.load(open("/opt/ml/input/config/resourceconfig.json"))
assert config["current_host"] == host and config["hosts"] == ["algo-1", "algo-2"], config
assert json.loads(os.environ["SM_HOSTS"]) == ["algo-1", "algo-2"]
assert socket.gethostname() == host
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    raise SystemExit("reached the outside")
except OSError:
    print("outside unreachable")
if host == "algo-1":
    server = socket.create_server(("", 7777))
    server.settimeout(120)
    connection, address = server.accept()
    said = connection.recv(100).decode()
    print("algo-1 heard:", said)
    assert said == "hello from algo-2"
    connection.sendall(b"hello back")
else:
    deadline = time.time() + 120
    while True:
        try:
            connection = socket.create_connection(("algo-1", 7777), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    connection.sendall(b"hello from algo-2")
    print("algo-2 heard:", connection.recv(100).decode())
open(os.path.join(os.environ["SM_MODEL_DIR"], host + ".txt"), "w").write(host)
"""
ONE_FAILS = """
import os, time
if os.environ["SM_CURRENT_HOST"] == "algo-2":
    raise SystemExit(3)
time.sleep(600)
"""


def engine_gpus() -> str | None:
    """Why this engine cannot give GPUs, or None when it can."""
    try:
        engine = connect(timeout_seconds=10)
    except EngineUnavailable as exc:
        return str(exc)
    if engine.has_gpus():
        return None
    return "the Docker engine here has no GPUs (no 'nvidia' runtime, no CDI GPU devices)"


NO_GPUS = engine_gpus()


def project(tmp_path: Path, pipeline: str, script: str) -> Path:
    write_script(tmp_path, "scripts/train.py", script)
    write_script(tmp_path, "data/train.csv", "a,b\n1,2\n")
    return write_script(tmp_path, "pipeline.yaml", pipeline)


def run(dag: Path, engine: DockerEngine, settings: RunSettings) -> RunResult:
    return execute_pipeline(dag, engine, settings=settings)


@pytest.mark.skipif(NO_GPUS is not None, reason=f"needs a GPU engine: {NO_GPUS}")
def test_a_gpu_step_gets_the_gpus_its_type_has(
    tmp_path: Path,
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
) -> None:
    result = run(project(tmp_path, GPU_PIPELINE, GPU_SCRIPT), engine, settings)
    step = result.step("train")
    assert step.status is Status.SUCCEEDED, step.log_tail
    assert "SM_NUM_GPUS 1 nvidia-smi 1" in Path(step.log_file or "").read_text()


@pytest.mark.skipif(NO_GPUS is None, reason="the engine has GPUs: nothing to refuse")
def test_an_engine_without_gpus_refuses_a_gpu_step_in_one_line(
    tmp_path: Path, engine: DockerEngine, runner_image: str
) -> None:
    dag = project(tmp_path, GPU_PIPELINE, GPU_SCRIPT)
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(dag), "-q"]
    done = subprocess.run(
        [*command, "--cit-dir", str(tmp_path / ".cit")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: step 'train' runs on ml.g4dn.xlarge with 1 GPU(s)")
    assert "--cpu-only" in line
    assert not (tmp_path / ".cit" / "runs").exists()


def test_cpu_only_runs_a_gpu_step_without_gpus(
    tmp_path: Path, engine: DockerEngine, runner_image: str, no_leftovers: None
) -> None:
    dag = project(tmp_path, GPU_PIPELINE, CPU_ONLY_SCRIPT)
    settings = RunSettings(cit_dir=tmp_path / ".cit", cpu_only=True)
    step = run(dag, engine, settings).step("train")
    assert step.status is Status.SUCCEEDED, step.log_tail
    log = Path(step.log_file or "").read_text()
    assert log.startswith("[cit] runs on CPU only (--cpu-only): ml.g4dn.xlarge has 1 GPU(s)")
    assert "SM_NUM_GPUS 0" in log


def test_two_hosts_reach_each_other_and_nothing_else(
    tmp_path: Path,
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
) -> None:
    result = run(project(tmp_path, TWO_HOSTS, TALK), engine, settings)
    step = result.step("train")
    assert step.status is Status.SUCCEEDED, step.log_tail
    log = Path(step.log_file or "").read_text()
    assert "algo-1 | algo-1 heard: hello from algo-2\n" in log
    assert "algo-2 | algo-2 heard: hello back\n" in log
    assert log.count("outside unreachable") == 2
    model = Path(result.run_dir) / "steps" / "train" / "outputs" / "model" / "model.tar.gz"
    with tarfile.open(model) as archive:
        assert sorted(archive.getnames()) == ["algo-1.txt", "algo-2.txt"]
    assert not engine.list_networks({RUN_LABEL: result.run_id})


def test_a_failing_host_fails_the_job_and_stops_the_other(
    tmp_path: Path,
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
) -> None:
    result = run(project(tmp_path, TWO_HOSTS, ONE_FAILS), engine, settings)
    step = result.step("train")
    # Not a timeout: algo-1, which would sleep past it, was stopped when algo-2 failed.
    assert step.status is Status.FAILED, step.reason
    assert step.reason == "host algo-2 exited with code 3"
    assert not engine.list_networks({RUN_LABEL: result.run_id})


def test_keep_on_failure_keeps_the_failed_host_and_still_removes_the_network(
    tmp_path: Path, engine: DockerEngine, runner_image: str
) -> None:
    settings = RunSettings(cit_dir=tmp_path / ".cit", keep_on_failure=True)
    result = run(project(tmp_path, TWO_HOSTS, ONE_FAILS), engine, settings)
    step = result.step("train")
    kept = [c.name for c in engine.list_containers({RUN_LABEL: result.run_id})]
    try:
        assert step.kept_container is not None and kept == [step.kept_container]
        assert step.kept_container.endswith("-train-algo-2")
        assert not engine.list_networks({RUN_LABEL: result.run_id})
    finally:
        for name in kept:
            engine.remove_container(name)

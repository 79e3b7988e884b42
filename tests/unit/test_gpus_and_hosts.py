"""GPU instance types and training jobs on several instances, on the fake engine: the specs
(GPUs asked for, SM_NUM_GPUS, each host's config and environment, the private network), the
refusal of an engine without GPUs, --cpu-only, and a job whose hosts fail, succeed or merge
their model folders."""

from __future__ import annotations

import json
import os
import tarfile
import threading
from pathlib import Path
from typing import Any

import docker
import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, RunSettings, Status
from orchestrator.cli import command
from orchestrator.cli.app import app
from orchestrator.engines.cleanup import sweep_orphans
from orchestrator.engines.docker_engine import create_arguments, gpu_driver_of
from orchestrator.engines.spec import MANAGED_LABEL, OWNER_LABEL, ContainerSpec, NetworkSpec
from orchestrator.errors import GpusUnavailable, InputError, PipelineError
from orchestrator.run.packaging import tar_gz_folder
from orchestrator.run.pipeline_run import execute_pipeline, load_and_validate
from orchestrator.run.results import RunResult
from orchestrator.run.settings import RUNNER_IMAGE

from .conftest import write

OFFLINE_API = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43")
GPU_TRAIN = """
name: g
steps:
  train: {kind: training, script: scripts/train.py, inputs: {train: data},
          instance: {type: ml.g5.12xlarge}}
  prep: {kind: processing, script: scripts/prep.py, instance: {type: ml.g4dn.xlarge}}
  cpu: {kind: processing, script: scripts/prep.py}
"""
TWO_HOSTS = """
name: d
steps:
  train: {kind: training, script: scripts/train.py, inputs: {train: data},
          instance: {type: ml.m5.large, count: 2}}
"""


def run(project: Path, text: str, engine: FakeEngine, **settings: Any) -> RunResult:
    dag = write(project, "pipeline.yaml", text)
    return execute_pipeline(
        dag, engine, settings=RunSettings(cit_dir=project / ".cit", **settings)
    )


def fake(**options: Any) -> FakeEngine:
    return FakeEngine(images={RUNNER_IMAGE: "sha256:runner"}, **options)


def specs_by_step(engine: FakeEngine) -> dict[str, list[ContainerSpec]]:
    found: dict[str, list[ContainerSpec]] = {}
    for spec in engine.specs:
        found.setdefault(spec.labels["cit.step"], []).append(spec)
    return found


def training_env(spec: ContainerSpec) -> dict[str, Any]:
    return dict(json.loads(spec.env["SM_TRAINING_ENV"]))


# GPUs -----------------------------------------------------------------------------------


def test_gpu_types_ask_the_engine_for_their_gpus_and_say_so(project: Path) -> None:
    engine = fake(gpus=True)
    result = run(project, GPU_TRAIN, engine)
    assert result.ok, result.steps
    specs = specs_by_step(engine)
    [train], [prep], [cpu] = specs["train"], specs["prep"], specs["cpu"]
    assert (train.gpus, prep.gpus, cpu.gpus) == (4, 1, 0)
    assert train.env["SM_NUM_GPUS"] == "4" and training_env(train)["num_gpus"] == 4
    config = project / ".cit" / "runs" / result.run_id / "steps" / "train" / "config"
    resource = json.loads((config / "resourceconfig.json").read_text())
    assert resource["current_instance_type"] == "ml.g5.12xlarge"


def test_an_engine_without_gpus_is_refused_before_anything_runs(project: Path) -> None:
    engine = fake(gpus=False)
    with pytest.raises(GpusUnavailable) as caught:
        run(project, GPU_TRAIN, engine)
    message = str(caught.value)
    assert "step 'train' (and 1 more) runs on ml.g5.12xlarge with 4 GPU(s)" in message
    assert "--cpu-only" in message and "\n" not in message
    assert engine.specs == [] and not (project / ".cit" / "runs").exists()


def test_cpu_only_runs_gpu_types_without_gpus_and_notes_it(project: Path) -> None:
    engine = fake(gpus=False)
    result = run(project, GPU_TRAIN, engine, cpu_only=True)
    assert result.ok
    specs = specs_by_step(engine)
    assert all(s.gpus == 0 for group in specs.values() for s in group)
    assert specs["train"][0].env["SM_NUM_GPUS"] == "0"
    log = Path(result.step("train").log_file or "").read_text()
    assert log.startswith("[cit] runs on CPU only (--cpu-only): ml.g5.12xlarge has 4 GPU(s)")
    cpu_log = Path(result.step("cpu").log_file or "").read_text()
    assert "CPU only" not in cpu_log


def test_cpu_types_never_ask_whether_the_engine_has_gpus(project: Path) -> None:
    class Refusing(FakeEngine):
        def has_gpus(self) -> bool:
            raise AssertionError("not asked for CPU steps")

    text = "name: c\nsteps:\n  p: {kind: processing, script: scripts/prep.py}\n"
    assert run(project, text, Refusing(images={RUNNER_IMAGE: "x"})).ok


def test_cli_refusal_is_one_line_and_exit_code_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = write(project, "pipeline.yaml", GPU_TRAIN)
    monkeypatch.setattr(command, "connect", lambda: fake(gpus=False))
    monkeypatch.setattr(command, "stop_on_signals", lambda cancel, observer: None)
    options = ["--dag", str(dag), "--cit-dir", str(project / ".cit"), "-q"]
    refused = CliRunner().invoke(app, ["run", *options], env={"COLUMNS": "300"})
    assert refused.exit_code == 2
    assert "error: step 'train' (and 1 more) runs on ml.g5.12xlarge" in refused.output
    assert "Traceback" not in refused.output
    monkeypatch.setattr(command, "connect", lambda: fake(gpus=False))
    by_flag = CliRunner().invoke(app, ["run", *options, "--cpu-only"])
    assert by_flag.exit_code == 0, by_flag.output
    by_env = CliRunner().invoke(app, ["run", *options], env={"CIT_CPU_ONLY": "1"})
    assert by_env.exit_code == 0, by_env.output


def test_docker_gets_a_gpu_device_request() -> None:
    spec = ContainerSpec(name="n", image="i", command=(), gpus=2)
    [request] = create_arguments(OFFLINE_API, spec, "nvidia")["host_config"]["DeviceRequests"]
    assert request["Count"] == 2 and request["Capabilities"] == [["gpu"]]
    [cdi] = create_arguments(OFFLINE_API, spec, "cdi")["host_config"]["DeviceRequests"]
    assert cdi["Driver"] == "cdi" and cdi["DeviceIDs"] == ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]
    plain = ContainerSpec(name="n", image="i", command=())
    assert "DeviceRequests" not in create_arguments(OFFLINE_API, plain)["host_config"]


def test_gpus_are_found_in_docker_info() -> None:
    assert gpu_driver_of({"Runtimes": {"runc": {}, "nvidia": {}}}) == "nvidia"
    device = {"Source": "cdi", "ID": "nvidia.com/gpu=0"}
    cdi = {"Runtimes": {"runc": {}}, "DiscoveredDevices": [device]}
    assert gpu_driver_of(cdi) == "cdi"
    assert gpu_driver_of({"Runtimes": {"runc": {}}, "DiscoveredDevices": None}) is None


@pytest.mark.parametrize(
    ("instance", "field", "words"),
    [
        ("{type: ml.g6e.xlarge, cpus: 4, memory: 32g}", "instance.gpus", "set instance.gpus"),
        ("{type: ml.m5.large, count: 2}", "instance.count", "for training steps only"),
        ("{type: ml.m5.large, count: 1000}", "instance.count", "less than or equal to 16"),
        ("{type: ml.g5.xlarge, gpus: 64}", "instance.gpus", "less than or equal to 16"),
    ],
)
def test_instances_cit_cannot_run_are_refused(
    project: Path, instance: str, field: str, words: str
) -> None:
    step = f"{{kind: processing, script: scripts/prep.py, instance: {instance}}}"
    text = f"name: x\nsteps:\n  p: {step}\n"
    dag = write(project, "pipeline.yaml", text)
    with pytest.raises((PipelineError, InputError)) as caught:  # found by validation or loading
        load_and_validate(dag)
    assert f"steps.p.{field}" in str(caught.value) and words in str(caught.value)


def test_an_unlisted_gpu_type_runs_with_the_gpus_given(project: Path) -> None:
    engine = fake(gpus=True)
    text = """
    name: x
    steps:
      p: {kind: processing, script: scripts/prep.py,
          instance: {type: ml.g6e.xlarge, cpus: 4, memory: 8g, gpus: 1}}
    """
    assert run(project, text, engine).ok and engine.specs[0].gpus == 1


# Several instances ----------------------------------------------------------------------


def test_each_host_has_its_name_config_and_environment(project: Path) -> None:
    engine = fake()
    result = run(project, TWO_HOSTS, engine)
    assert result.ok
    first, second = sorted(engine.specs, key=lambda s: s.hostname or "")
    assert (first.hostname, second.hostname) == ("algo-1", "algo-2")
    assert first.name.endswith("-train-algo-1") and second.name.endswith("-train-algo-2")
    assert first.network_name == second.network_name is not None
    for spec, host in ((first, "algo-1"), (second, "algo-2")):
        assert spec.env["SM_CURRENT_HOST"] == host == spec.env["CURRENT_HOST"]
        assert spec.env["SM_HOSTS"] == '["algo-1","algo-2"]'
        assert training_env(spec)["is_master"] is (host == "algo-1")
        assert training_env(spec)["master_hostname"] == "algo-1"
        config = next(m.source for m in spec.mounts if m.target == "/opt/ml/input/config")
        resource = json.loads((Path(config) / "resourceconfig.json").read_text())
        assert resource["current_host"] == host and resource["hosts"] == ["algo-1", "algo-2"]
        assert resource["network_interface_name"] == "eth0"
    own = {m.target: m.source for m in first.mounts}
    other = {m.target: m.source for m in second.mounts}
    for folder in ("/opt/ml/model", "/opt/ml/output", "/opt/ml/code", "/opt/ml/input/config"):
        assert own[folder] != other[folder]
    assert "/hosts/algo-2/" in other["/opt/ml/model"]
    assert own["/opt/ml/input/data/train"] == other["/opt/ml/input/data/train"]


def test_the_private_network_is_made_for_the_step_and_removed(project: Path) -> None:
    engine = fake()
    run(project, TWO_HOSTS, engine)
    name = engine.specs[0].network_name
    assert engine.network_log == [f"create {name}", f"remove {name}"]
    assert engine.networks == {}
    assert engine.removed and all(s.name in engine.removed for s in engine.specs)


def test_network_is_internal_unless_the_step_asks_for_network(project: Path) -> None:
    made: list[NetworkSpec] = []

    class Recording(FakeEngine):
        def create_network(self, spec: NetworkSpec) -> None:
            made.append(spec)
            super().create_network(spec)

    engine = Recording(images={RUNNER_IMAGE: "x"})
    run(project, TWO_HOSTS, engine)
    run(project, TWO_HOSTS.replace("count: 2}", "count: 2}, network: true"), engine)
    run(project, TWO_HOSTS, engine, debug_ports={"train": 5678})  # the port needs a way out
    assert [n.internal for n in made] == [True, False, False]
    assert made[0].labels[MANAGED_LABEL] == "true" and OWNER_LABEL in made[0].labels


def test_a_failing_host_fails_the_step_and_stops_the_others(project: Path) -> None:
    behaviours = {
        "train": FakeBehaviour(seconds=30, logs=["waiting\n"]),
        "cit-{run}-train-algo-2": FakeBehaviour(exit_code=3, logs=["boom\n"]),
    }
    engine = PerHost(behaviours)
    result = run(project, TWO_HOSTS, engine)
    step = result.step("train")
    assert step.status is Status.FAILED
    assert step.reason == "host algo-2 exited with code 3"
    log = Path(step.log_file or "").read_text()
    assert "algo-2 | boom\n" in log and "algo-1 | waiting\n" in log
    assert engine.networks == {}


def test_keep_on_failure_keeps_the_host_that_failed(project: Path) -> None:
    behaviours = {
        "train": FakeBehaviour(seconds=30),
        "cit-{run}-train-algo-2": FakeBehaviour(exit_code=3),
    }
    engine = PerHost(behaviours)
    result = run(project, TWO_HOSTS, engine, keep_on_failure=True)
    step = result.step("train")
    assert step.kept_container is not None and step.kept_container.endswith("-train-algo-2")
    assert list(engine.leftovers) == [step.kept_container]
    assert step.kept_container not in engine.removed
    assert any(name.endswith("-train-algo-1") for name in engine.removed)
    assert engine.networks == {}


def test_ctrl_c_stops_every_host(project: Path) -> None:
    dag = write(project, "pipeline.yaml", TWO_HOSTS)
    engine = fake(behaviours={"train": FakeBehaviour(seconds=60)})
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    settings = RunSettings(cit_dir=project / ".cit")
    result = execute_pipeline(dag, engine, settings=settings, cancel=cancel)
    assert result.step("train").status is Status.INTERRUPTED
    assert len(engine.specs) == 2 and engine.networks == {}


def test_every_host_model_goes_into_model_tar_gz(project: Path) -> None:
    behaviours = {
        "cit-{run}-train-algo-1": FakeBehaviour(
            writes={"/opt/ml/model/model.bin": "one", "/opt/ml/model/parts/1": "a"}
        ),
        "cit-{run}-train-algo-2": FakeBehaviour(
            writes={"/opt/ml/model/model.bin": "two", "/opt/ml/model/parts/2": "b"}
        ),
    }
    result = run(project, TWO_HOSTS, PerHost(behaviours))
    assert result.ok
    tarball = project / ".cit" / "runs" / result.run_id / "steps" / "train" / "outputs"
    with tarfile.open(tarball / "model" / "model.tar.gz") as archive:
        names = sorted(archive.getnames())
        kept = archive.extractfile("model.bin")
        assert kept is not None and kept.read() == b"one"
    assert names == ["model.bin", "parts", "parts/1", "parts/2"]


class PerHost(FakeEngine):
    """Behaviours named by container, with ``{run}`` standing for the run id."""

    def __init__(self, behaviours: dict[str, FakeBehaviour]) -> None:
        super().__init__(images={RUNNER_IMAGE: "x"})
        self.templates = behaviours

    def _behaviour(self, spec: ContainerSpec) -> FakeBehaviour:
        run_id = spec.labels["cit.run-id"]
        named = {k.replace("{run}", run_id): v for k, v in self.templates.items()}
        return named.get(spec.name) or named.get(spec.labels["cit.step"]) or FakeBehaviour()


def test_tar_of_several_folders_keeps_the_first_and_never_follows_links(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "d").mkdir(parents=True)
    (two / "d").mkdir(parents=True)
    (one / "same").write_text("1")
    (two / "same").write_text("2")
    (two / "d" / "x").write_text("x")
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", two / "link")
    os.symlink(tmp_path, two / "d" / "up")
    with tarfile.open(tar_gz_folder([one, two], tmp_path / "t.tar.gz")) as archive:
        members = {m.name: m for m in archive.getmembers()}
        same = archive.extractfile("same")
        assert same is not None and same.read() == b"1"
    assert sorted(members) == ["d", "d/up", "d/x", "link", "same"]
    assert members["link"].issym() and members["d/up"].issym()


def test_clean_removes_networks_a_killed_cit_left(tmp_path: Path) -> None:
    engine = FakeEngine()
    owner = f"{os.uname().nodename}:999999999"
    engine.create_network(NetworkSpec("cit-old", {MANAGED_LABEL: "true", OWNER_LABEL: owner}))
    live = f"{os.uname().nodename}:{os.getpid()}"
    engine.create_network(NetworkSpec("cit-live", {MANAGED_LABEL: "true", OWNER_LABEL: live}))
    sweep_orphans(engine)
    assert list(engine.networks) == ["cit-live"]
    sweep_orphans(engine, include_live=True)
    assert engine.networks == {}

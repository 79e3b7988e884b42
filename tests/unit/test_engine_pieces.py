"""Small pieces under the executor: docker arguments, orphans, messages, tarballs, limits."""

from __future__ import annotations

import os
import socket
import tarfile
from pathlib import Path

import docker

from orchestrator.engines.cleanup import is_orphan
from orchestrator.engines.docker_engine import create_arguments
from orchestrator.engines.fake_engine import FakeEngine
from orchestrator.engines.spec import ContainerSpec, Mount
from orchestrator.run.packaging import tar_gz_folder
from orchestrator.run.pipeline_run import bounded_by_engine
from orchestrator.run.sagemaker_job import StepPaths
from orchestrator.run.settings import RunSettings
from orchestrator.run.step_runner import read_message

OFFLINE_API = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")


def spec(**extra: object) -> ContainerSpec:
    fields: dict[str, object] = {
        "name": "cit-r-s",
        "image": "img:1",
        "command": ("--a", "1"),
        "entrypoint": ("python3", "/code/s.py"),
        "env": {"K": "V"},
        "mounts": (Mount("/host/in", "/opt/ml/in", True), Mount("/host/out", "/opt/ml/out", False)),
        "labels": {"cit.step": "s"},
        "cpus": 1.5,
        "memory_bytes": 2**30,
        "user": "1000:1000",
        "hostname": "algo-1",
        **extra,
    }
    return ContainerSpec(**fields)  # type: ignore[arg-type]


def test_create_arguments_realise_the_spec() -> None:
    args = create_arguments(OFFLINE_API, spec())
    host = args["host_config"]
    assert args["image"] == "img:1" and args["command"] == ["--a", "1"]
    assert args["entrypoint"] == ["python3", "/code/s.py"]
    assert args["environment"] == {"K": "V"} and args["labels"] == {"cit.step": "s"}
    assert args["user"] == "1000:1000" and args["hostname"] == "algo-1"
    assert host["NetworkMode"] == "none"
    assert host["NanoCpus"] == 1_500_000_000
    assert host["Memory"] == 2**30 and host["MemorySwap"] == 2**30
    assert host["Init"] is True
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/opt/ml/in"]["ReadOnly"] is True and mounts["/opt/ml/in"]["Type"] == "bind"
    assert mounts["/opt/ml/out"]["ReadOnly"] is False


def test_create_arguments_keep_image_defaults_when_unset() -> None:
    args = create_arguments(
        OFFLINE_API, spec(entrypoint=None, cpus=None, memory_bytes=None, user=None, network=True)
    )
    assert "entrypoint" not in args and "user" not in args
    assert args["host_config"]["NetworkMode"] == "bridge"
    assert "NanoCpus" not in args["host_config"] and "Memory" not in args["host_config"]


def test_containers_get_only_the_capabilities_root_needs_to_write_its_folders() -> None:
    host = create_arguments(OFFLINE_API, spec(pids_limit=4096))["host_config"]
    assert host["CapDrop"] == ["ALL"]
    assert sorted(host["CapAdd"]) == ["CHOWN", "DAC_OVERRIDE", "FOWNER"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PidsLimit"] == 4096


def test_only_ended_cit_processes_of_this_machine_are_orphans() -> None:
    host = socket.gethostname()
    assert not is_orphan(f"{host}:{os.getpid()}")
    assert not is_orphan("another-machine:1")
    assert not is_orphan("garbage")
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert is_orphan(f"{host}:{pid}")


def test_failure_file_wins_over_message_and_is_capped(tmp_path: Path) -> None:
    paths = StepPaths(tmp_path)
    paths.ml_output_dir.mkdir(parents=True)
    assert read_message(paths) is None
    (paths.ml_output_dir / "message").write_text("processing said\n")
    assert read_message(paths) == "processing said"
    (paths.ml_output_dir / "failure").write_text("x" * 5000)
    assert read_message(paths) == "x" * 1024


def test_a_message_file_is_never_read_through_a_link(tmp_path: Path) -> None:
    paths = StepPaths(tmp_path / "step")
    paths.ml_output_dir.mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    os.symlink(secret, paths.ml_output_dir / "failure")
    assert read_message(paths) is None
    (paths.ml_output_dir / "message").write_text("said\0\0\0")
    assert read_message(paths) == "said"  # a sparse file's zeros are no text


def test_tarball_has_entries_at_the_root(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "sub" / "weights.bin").write_bytes(b"\0" * 10)
    tarball = tar_gz_folder(folder, tmp_path / "out" / "model.tar.gz")
    with tarfile.open(tarball) as archive:
        assert sorted(archive.getnames()) == ["model.json", "sub", "sub/weights.bin"]
    assert not list((tmp_path / "out").glob("*.partial"))


def test_tarballs_keep_links_as_links_and_pack_a_linked_folder_as_empty(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.txt").write_text("host secret")
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w")
    os.symlink(host, model / "escape")
    os.symlink(host / "secret.txt", model / "secret.txt")
    with tarfile.open(tar_gz_folder(model, tmp_path / "a" / "model.tar.gz")) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert sorted(members) == ["escape", "secret.txt", "weights.bin"]
    assert members["escape"].issym() and members["secret.txt"].issym()
    data = tmp_path / "data"
    os.symlink(host, data)  # a step replaced /opt/ml/output/data with a link
    with tarfile.open(tar_gz_folder(data, tmp_path / "b" / "output.tar.gz")) as archive:
        assert archive.getnames() == []


def test_limits_are_bounded_by_what_the_engine_has() -> None:
    class SmallEngine(FakeEngine):
        def capacity(self) -> tuple[int, int] | None:
            return 1, 2**30

    settings = bounded_by_engine(
        RunSettings(cpus_available=8, memory_available=2**34), SmallEngine()
    )
    assert settings.cpus_available == 1 and settings.memory_available == 2**30

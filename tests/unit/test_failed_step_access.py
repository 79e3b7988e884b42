"""Getting inside a failed step, on the fake engine: --keep-on-failure's labels and what is
kept, cit clean and the sweep, --debug-port's loopback binding, and the container cit shell
rebuilds from a run's record (secrets read again by name, never written)."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, RunSettings, Status
from orchestrator.cli.app import app
from orchestrator.engines.cleanup import sweep_orphans
from orchestrator.engines.docker_cli import client_environment, run_argv
from orchestrator.engines.docker_engine import create_arguments
from orchestrator.engines.spec import (
    KEEP_LABEL,
    OWNER_LABEL,
    SECRET_MASK,
    STEP_LABEL,
    ContainerSpec,
    Mount,
)
from orchestrator.errors import CitError, RunDirectoryError
from orchestrator.run.debug_port import check_ports_free, parse_debug_ports
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.results import StepResult
from orchestrator.run.rundir import find_run
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.run.shell import SHELL_LABEL, shell_spec

from .conftest import write
from .test_executor import dead_owner

OFFLINE_API = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
PIPELINE = """
name: p
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out],
         env: {MODE: fast}, secrets: {API_TOKEN: CIT_UNIT_TOKEN}}
  train: {kind: training, script: scripts/train.py, inputs: {train: {step: prep, output: out}}}
"""
TOKEN = "tok-unit-0123456789"


def settings(tmp: Path, **extra: object) -> RunSettings:
    base = RunSettings(
        cit_dir=tmp / ".cit", max_workers=1, cpus_available=2, memory_available=2**30, user=None
    )
    return replace(base, secrets={"CIT_UNIT_TOKEN": TOKEN}, **extra)  # type: ignore[arg-type]


def run(project: Path, fake: FakeEngine, **extra: object) -> tuple[Path, dict[str, StepResult]]:
    result = execute_pipeline(
        write(project, "p.yaml", PIPELINE), fake, settings=settings(project, **extra)
    )
    return Path(result.run_dir), {s.name: s for s in result.steps}


def engine(**behaviours: FakeBehaviour) -> FakeEngine:
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


# --keep-on-failure ---------------------------------------------------------------------


def test_a_failed_step_is_kept_labelled_and_named_in_its_hints(project: Path) -> None:
    fake = engine(train=FakeBehaviour(exit_code=2))
    run_dir, steps = run(project, fake, keep_on_failure=True)
    train, prep = steps["train"], steps["prep"]
    assert train.status is Status.FAILED and train.kept_container
    assert prep.kept_container is None
    [kept] = fake.leftovers.values()
    assert kept.name == train.kept_container
    assert kept.labels[KEEP_LABEL] == "on-failure" and kept.labels[STEP_LABEL] == "train"
    hint = train.hints[-1]
    assert f"cit shell {run_dir.name} train" in hint and "cit clean" in hint
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["steps"][1]["kept_container"] == kept.name


def test_without_the_flag_nothing_is_kept(project: Path) -> None:
    fake = engine(train=FakeBehaviour(exit_code=2))
    _, steps = run(project, fake)
    assert fake.leftovers == {} and steps["train"].kept_container is None
    assert all(KEEP_LABEL not in spec.labels for spec in fake.specs)


@pytest.mark.parametrize(
    ("behaviour", "timeout", "cancelled", "kept"),
    [
        (FakeBehaviour(exit_code=1), None, False, True),
        (FakeBehaviour(seconds=1), 0.01, False, True),  # timed out
        (FakeBehaviour(oom_killed=True), None, False, True),
        (FakeBehaviour(exit_code=0), None, False, False),
        (FakeBehaviour(seconds=1), None, True, False),  # stopped by the user
        (FakeBehaviour(engine_error="no such image"), None, False, False),  # never ran
    ],
)
def test_what_is_kept_on_failure(
    behaviour: FakeBehaviour, timeout: float | None, cancelled: bool, kept: bool
) -> None:
    fake = FakeEngine({"s": behaviour})
    labels = {STEP_LABEL: "s", KEEP_LABEL: "on-failure"}
    spec = ContainerSpec("cit-r-s", "img", (), labels=labels, timeout_seconds=timeout)
    cancel = threading.Event()
    if cancelled:
        cancel.set()
    outcome = fake.run(spec, on_log=lambda text: None, cancel=cancel)
    assert outcome.kept is kept and ("cit-r-s" in fake.leftovers) is kept


def test_the_sweep_leaves_kept_containers_and_cit_clean_removes_them(project: Path) -> None:
    fake = engine(train=FakeBehaviour(exit_code=2))
    run(project, fake, keep_on_failure=True)
    [name] = fake.leftovers
    fake.leftovers[name] = replace(
        fake.leftovers[name], labels={**fake.leftovers[name].labels, OWNER_LABEL: dead_owner()}
    )
    assert sweep_orphans(fake) == [] and name in fake.leftovers
    assert sweep_orphans(fake, include_kept=True) == [name] and fake.leftovers == {}


# --debug-port ------------------------------------------------------------------------------


def test_a_debug_port_is_published_on_loopback_only_for_its_step(project: Path) -> None:
    fake = engine()
    run(project, fake, debug_ports={"train": 5678})
    specs = {s.labels[STEP_LABEL]: s for s in fake.specs}
    assert specs["train"].network and specs["train"].loopback_ports == (5678,)
    assert not specs["prep"].network and specs["prep"].loopback_ports == ()
    host = create_arguments(OFFLINE_API, specs["train"])["host_config"]
    assert host["PortBindings"] == {"5678/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5678"}]}
    assert host["NetworkMode"] == "bridge"
    assert "PortBindings" not in create_arguments(OFFLINE_API, specs["prep"])["host_config"]


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (["train"], "STEP=PORT"),
        (["train=0"], "from 1 to 65535"),
        (["train=http"], "STEP=PORT"),
        (["train=1", "train=2"], "given twice"),
        (["a=5678", "b=5678"], "both ask for port 5678"),
    ],
)
def test_a_wrong_debug_port_is_refused(given: list[str], words: str) -> None:
    with pytest.raises(CitError, match=words):
        parse_debug_ports(given)


def test_a_debug_port_already_in_use_here_is_refused_in_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CitError, match=f"train={port}: 127.0.0.1:{port} is already in use"):
            check_ports_free({"train": port})
    check_ports_free({"train": port})  # free again once closed


def test_a_debug_port_for_an_unknown_step_is_refused_before_anything_runs(project: Path) -> None:
    fake = engine()
    with pytest.raises(CitError, match=r"no step 'trian' .*prep, train"):
        run(project, fake, debug_ports={"trian": 5678})
    assert fake.specs == [] and not (project / ".cit" / "runs").exists()


# cit shell ---------------------------------------------------------------------------------


def test_the_shell_gets_the_steps_image_mounts_env_user_and_network(project: Path) -> None:
    fake = engine(prep=FakeBehaviour(exit_code=1))
    run_dir, _ = run(project, fake)
    [ran] = fake.specs
    shell = shell_spec(run_dir, "prep", ["cat", "/opt/ml/config/x"], {"CIT_UNIT_TOKEN": TOKEN})
    spec = shell.spec
    assert spec.image == ran.image and shell.image_choices == ("sha256:runner", RUNNER_IMAGE)
    assert spec.mounts == ran.mounts and spec.env == ran.env
    assert spec.secret_env == {"API_TOKEN": TOKEN} and shell.notes == []
    assert (spec.user, spec.working_dir, spec.hostname) == (ran.user, ran.working_dir, "algo-1")
    assert (spec.network, spec.cpus, spec.memory_bytes) == (False, ran.cpus, ran.memory_bytes)
    assert spec.entrypoint == ("cat",) and spec.command == ("/opt/ml/config/x",)
    assert spec.labels[SHELL_LABEL] == "true" and KEEP_LABEL not in spec.labels
    assert spec.timeout_seconds is None
    read_only = {m.target for m in spec.mounts if m.read_only}
    assert "/opt/ml/processing/input/raw" in read_only


def test_secrets_are_never_recorded_and_reach_the_client_by_name_only(project: Path) -> None:
    fake = engine(prep=FakeBehaviour(exit_code=1))
    run_dir, _ = run(project, fake)
    for path in run_dir.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path
    step = json.loads((run_dir / "manifest.json").read_text())["steps"][0]
    assert step["container"]["secret_env"] == {"API_TOKEN": SECRET_MASK}
    assert step["secret_variables"] == {"API_TOKEN": "CIT_UNIT_TOKEN"}
    spec = shell_spec(run_dir, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN}).spec
    argv = run_argv(spec, interactive=True, tty=False)
    assert not any(TOKEN in word for word in argv)
    at = argv.index("API_TOKEN")
    assert argv[at - 1 : at + 1] == ["--env", "API_TOKEN"]
    assert client_environment(spec, {"PATH": "/bin"}) == {"PATH": "/bin", "API_TOKEN": TOKEN}


def test_a_secret_the_host_no_longer_has_is_left_out_and_said_so(project: Path) -> None:
    run_dir, _ = run(project, engine(prep=FakeBehaviour(exit_code=1)))
    shell = shell_spec(run_dir, "prep", [], {})
    assert shell.spec.secret_env == {}
    assert shell.notes == [
        "secret API_TOKEN is left out: the host has no variable CIT_UNIT_TOKEN now"
    ]
    assert shell.spec.entrypoint == ("/bin/sh",)  # bash where the image has it, else sh


def test_the_docker_command_line_keeps_the_steps_confinement(project: Path) -> None:
    run_dir, _ = run(project, engine(), debug_ports={"train": 5678})
    spec = shell_spec(run_dir, "train", ["python3", "-V"], {}).spec
    argv = run_argv(spec, interactive=True, tty=True)
    assert argv[:3] == ["docker", "run", "--rm"] and "-i" in argv and "-t" in argv
    pairs = set(itertools.pairwise(argv))
    assert ("--cap-drop", "ALL") in pairs and ("--security-opt", "no-new-privileges:true") in pairs
    assert ("--network", "bridge") in pairs and ("--publish", "127.0.0.1:5678:5678") in pairs
    assert ("--entrypoint", "python3") in pairs and argv[-2:] == [spec.image, "-V"]
    mounts = [argv[i + 1] for i, word in enumerate(argv) if word == "--mount"]
    assert any(m.startswith("type=bind,") and m.endswith(",readonly") for m in mounts)
    assert len(mounts) == len(spec.mounts)


def test_a_mount_path_holding_a_comma_is_quoted(tmp_path: Path) -> None:
    spec = ContainerSpec("n", "img", (), mounts=(Mount("/a,b", "/in", True),))
    argv = run_argv(spec, interactive=False, tty=False)
    assert argv[argv.index("--mount") + 1] == 'type=bind,"source=/a,b",target=/in,readonly'


def test_the_shell_refuses_what_it_cannot_open(project: Path) -> None:
    fake = engine(prep=FakeBehaviour(exit_code=1))
    run_dir, _ = run(project, fake)
    with pytest.raises(RunDirectoryError, match="has no step 'nope' \\(its steps: prep, train\\)"):
        shell_spec(run_dir, "nope")
    with pytest.raises(RunDirectoryError, match=r"step 'train' .* never ran \(skipped\)"):
        shell_spec(run_dir, "train")
    (run_dir / "steps/prep/outputs/out").rmdir()
    with pytest.raises(RunDirectoryError, match="outputs/out \\(its /opt/ml/processing/output/out"):
        shell_spec(run_dir, "prep")


def test_a_link_a_step_left_in_place_of_a_folder_is_not_mounted(project: Path) -> None:
    run_dir, _ = run(project, engine(prep=FakeBehaviour(exit_code=1)))
    out = run_dir / "steps/prep/outputs/out"
    out.rmdir()
    out.symlink_to("/etc")
    with pytest.raises(RunDirectoryError, match="no longer a real folder"):
        shell_spec(run_dir, "prep")


def test_runs_are_found_by_id_by_folder_and_as_the_latest(project: Path) -> None:
    run_dir, _ = run(project, engine())
    runs = run_dir.parent
    assert find_run(runs, None).resolve() == run_dir.resolve()
    assert find_run(runs, run_dir.name) == run_dir
    assert find_run(runs, str(run_dir)) == run_dir
    with pytest.raises(RunDirectoryError, match="no run 'gone'"):
        find_run(runs, "gone")


def test_cit_shell_refuses_in_one_line_with_exit_2(project: Path) -> None:
    run(project, engine(prep=FakeBehaviour(exit_code=1)))
    cit_dir = str(project / ".cit")
    for args, words in [
        (["shell", "--cit-dir", cit_dir, "nope"], "has no step 'nope'"),
        (["shell", "--cit-dir", cit_dir, "missing-run", "prep"], "no run 'missing-run'"),
        (["shell", "--cit-dir", cit_dir, "a", "b", "c"], "takes [RUN] STEP"),
        (["shell", "--cit-dir", cit_dir, "prep"], "an interactive shell needs a terminal"),
        (["shell", "--cit-dir", str(project / "none"), "prep"], "no run under"),
    ]:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output


def test_a_secret_whose_host_variable_the_run_does_not_record_is_left_out(project: Path) -> None:
    run_dir, _ = run(project, engine(prep=FakeBehaviour(exit_code=1)))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["steps"][0]["secret_variables"] = {}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    shell = shell_spec(run_dir, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN})
    assert shell.spec.secret_env == {}
    assert shell.notes == ["secret API_TOKEN is left out: the run does not say which host variable"]


def test_a_step_that_ran_as_a_host_process_has_no_container_to_open(project: Path) -> None:
    from orchestrator.engines.base import PROCESS_IMAGE_ID

    fake = FakeEngine({"prep": FakeBehaviour(exit_code=1)}, images={RUNNER_IMAGE: PROCESS_IMAGE_ID})
    run_dir, _ = run(project, fake)
    with pytest.raises(RunDirectoryError, match="ran as a host process"):
        shell_spec(run_dir, "prep")


def test_without_the_docker_client_the_shell_says_what_to_install() -> None:
    from orchestrator.engines.docker_cli import run_client
    from orchestrator.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable, match="Docker command-line client\\) is not on PATH"):
        run_client(["cit-no-such-docker-client", "run"], {})


def test_a_step_taken_from_the_step_cache_is_opened_where_it_ran(project: Path) -> None:
    fake = engine()
    first, _ = run(project, fake, step_cache=True)
    second, steps = run(project, fake, step_cache=True)
    assert steps["prep"].cached_from == first.name
    with pytest.raises(RunDirectoryError, match=f"cit shell {first.name} prep$"):
        shell_spec(second, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN})
    assert shell_spec(first, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN}).spec.mounts


def test_output_folders_shared_with_the_step_cache_are_mounted_read_only(project: Path) -> None:
    """The shell's container runs as root, which a cached file's read-only mode does not stop:
    a folder holding a file shared with the cache (and with every run that reused it) is
    mounted read-only, and the shell says so."""
    behaviour = FakeBehaviour(writes={"/opt/ml/processing/output/out/a.csv": "x\n1\n"})
    first_dir, _ = run(project, engine(prep=behaviour), step_cache=True)
    _, second = run(project, engine(), step_cache=True)
    assert second["prep"].cached_from == first_dir.name
    shell = shell_spec(first_dir, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN})
    out = next(m for m in shell.spec.mounts if m.target == "/opt/ml/processing/output/out")
    assert out.read_only
    assert any(
        "/opt/ml/processing/output/out is mounted read-only" in note and "--no-cache" in note
        for note in shell.notes
    )
    assert sum("mounted read-only" in note for note in shell.notes) == 1


def test_output_folders_no_other_run_shares_stay_writable(project: Path) -> None:
    behaviour = FakeBehaviour(writes={"/opt/ml/processing/output/out/a.csv": "x\n1\n"})
    run_dir, _ = run(project, engine(prep=behaviour))
    shell = shell_spec(run_dir, "prep", ["true"], {"CIT_UNIT_TOKEN": TOKEN})
    out = next(m for m in shell.spec.mounts if m.target == "/opt/ml/processing/output/out")
    assert not out.read_only and shell.notes == []

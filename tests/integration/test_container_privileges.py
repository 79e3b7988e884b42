"""A step runs with the fewest privileges SageMaker scripts need: a real container reports what
it was given and tries what it must not do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator import RunSettings, Status
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.settings import DEFAULT_PIDS_LIMIT

from .conftest import the_run, write_script

PROBE = """
import errno, json, os, stat, tarfile, io

status = dict(
    line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line
)
found = {
    "uid": os.getuid(),
    "CapEff": status["CapEff"].strip(),
    "NoNewPrivs": status["NoNewPrivs"].strip(),
}
for where in ("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"):
    if os.path.exists(where):
        found["pids_max"] = open(where).read().strip()


def attempt(name, action):
    try:
        action()
        found[name] = "allowed"
    except OSError as exc:
        found[name] = errno.errorcode[exc.errno]


def attempt_in_child(name, action):
    # For what would change this process for good.
    pid = os.fork()
    if pid == 0:
        try:
            action()
        except OSError as exc:
            os._exit(exc.errno)
        os._exit(0)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    found[name] = errno.errorcode[code] if code else "allowed"


out = "/opt/ml/processing/output/probe"
attempt("mknod", lambda: os.mknod(out + "/null", stat.S_IFCHR | 0o666, os.makedev(1, 3)))
attempt_in_child("setuid", lambda: os.setuid(65534))

# What a script running as root does and must still do: write where it likes, extract an
# archive whose members belong to another user, chown and chmod files it does not own.
scratch = "/tmp/extract"
data = io.BytesIO()
with tarfile.open(fileobj=data, mode="w") as archive:
    member = tarfile.TarInfo("model.bin")
    member.size, member.uid, member.gid = 3, 1234, 1234
    archive.addfile(member, io.BytesIO(b"abc"))
data.seek(0)
with tarfile.open(fileobj=data) as archive:
    archive.extractall(scratch)  # as root, tarfile gives members their owners
attempt("chown", lambda: os.chown(scratch + "/model.bin", 4321, 4321))
attempt("chmod", lambda: os.chmod(scratch + "/model.bin", 0o600))
json.dump(found, open(out + "/probe.json", "w"))
"""

# CHOWN (bit 0), DAC_OVERRIDE (bit 1) and FOWNER (bit 3) for root; a non-root user has none.
ROOT_CAPABILITIES = f"{(1 << 0) | (1 << 1) | (1 << 3):016x}"


def test_a_step_cannot_make_devices_change_user_or_gain_privileges(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    write_script(tmp_path, "probe.py", PROBE)
    pipeline = write_script(
        tmp_path,
        "pipeline.yaml",
        "name: privileges\nsteps:\n"
        "  probe: {kind: processing, script: probe.py, outputs: [probe]}\n",
    )
    step = execute_pipeline(pipeline, engine, settings=settings).step("probe")
    assert step.status is Status.SUCCEEDED, (step.reason, step.log_tail)
    found = json.loads(Path(step.outputs[0].path, "probe.json").read_text())
    as_root = os.getuid() == 0
    assert found["uid"] == (0 if as_root else os.getuid())  # SageMaker runs jobs as root
    assert found["CapEff"] == (ROOT_CAPABILITIES if as_root else "0" * 16)
    assert found["NoNewPrivs"] == "1"
    assert found["mknod"] == "EPERM" and found["setuid"] == "EPERM"
    assert found["pids_max"] == str(DEFAULT_PIDS_LIMIT)
    if as_root:
        assert (found["chown"], found["chmod"]) == ("allowed", "allowed")


def test_the_pid_limit_comes_from_the_configuration(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "probe.py", PROBE)
    pipeline = write_script(
        tmp_path,
        "pipeline.yaml",
        "name: privileges\nsteps:\n"
        "  probe: {kind: processing, script: probe.py, outputs: [probe]}\n",
    )
    config = write_script(tmp_path, "cit.yaml", "execution: {pids_limit: 512}\n")
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", "--dag", str(pipeline),
         "--cit-dir", str(tmp_path / ".cit"), "--config", str(config), "--quiet"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir, _ = the_run(tmp_path / ".cit")
    found = json.loads((run_dir / "steps/probe/outputs/probe/probe.json").read_text())
    assert found["pids_max"] == "512"

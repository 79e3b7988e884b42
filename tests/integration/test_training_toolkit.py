"""The SageMaker training toolkit, run inside a cit training container, sees what SageMaker sets.

A test image adds ``sagemaker-training`` to the runner image. The training script asks the
toolkit's ``Environment()`` for channels, hyperparameters, model dir and hosts, and compares the
SM_* variables the toolkit would export (``to_env_vars()``) with those cit exported, key by key.
Each host writes what it saw to /opt/ml/model/env-<host>.json, which comes back inside
model.tar.gz: on one host, on two (each host's view of the job), and on a GPU type run on CPU
only (the toolkit counts no GPU, and neither does cit).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator import RunSettings
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import RUN_LABEL
from orchestrator.errors import ImageBuildError
from orchestrator.run.pipeline_run import execute_pipeline

from .conftest import write_script

TOOLKIT = "sagemaker-training==5.1.4"
# What ``sagemaker_training.environment`` imports, and their dependencies; the toolkit's other
# requirements (gevent, paramiko, psutil, retrying, inotify_simple, ...) serve its trainer only.
RUNTIME_DEPS = (
    "boto3==1.44.8",
    "botocore==1.44.8",
    "s3transfer==0.19.3",
    "jmespath==1.1.0",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
    "urllib3==2.8.0",
)
PLATFORM_ARGS = (
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
)
IMAGE_REPOSITORY = "cit-toolkit-test"
PIP_TIMEOUT_S = 900
# --no-deps: the runner's numpy, pandas and friends stay as they are.
DOCKERFILE = """\
FROM {base}
COPY wheels/ /wheels/
RUN python3 -m pip install --break-system-packages --no-index --no-deps --no-cache-dir \\
        /wheels/*.whl \\
    && rm -rf /wheels \\
    && SAGEMAKER_BASE_DIR=/tmp/toolkit-check python3 -c \\
        "from sagemaker_training import environment, mapping" \\
    && rm -rf /tmp/toolkit-check
"""

HYPERPARAMETERS: dict[str, Any] = {
    "max_depth": 4,
    "eta": 0.2,
    "objective": "binary:logistic",
    "use_gpu": False,
}

TRAIN_SCRIPT = r'''
import json
import os
import sys
from pathlib import Path

# Before the toolkit runs: Environment() itself sets a few variables in os.environ.
CIT_ENV = dict(os.environ)

from sagemaker_training import environment, mapping

ABSENT = "<not set>"


def decoded(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def same(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def differences(toolkit, cit):
    """Each variable whose values differ; for JSON objects also the keys that differ."""
    found = {}
    for key in sorted(set(toolkit) | set(cit)):
        want, got = toolkit.get(key, ABSENT), cit.get(key, ABSENT)
        if want == got:
            continue
        entry = {"toolkit": want, "cit": got}
        w, g = decoded(want), decoded(got)
        if isinstance(w, dict) and isinstance(g, dict):
            entry["keys"] = {
                k: {"toolkit": w.get(k, ABSENT), "cit": g.get(k, ABSENT)}
                for k in sorted(set(w) | set(g))
                if not same(w.get(k, ABSENT), g.get(k, ABSENT))
            }
        found[key] = entry
    return found


env = environment.Environment()
toolkit_vars = env.to_env_vars()
cit_vars = {k: v for k, v in CIT_ENV.items() if k.startswith("SM_")}
# Environment() overwrites these from the config files; cit should have set the same values.
toolkit_set = {k: os.environ.get(k, ABSENT) for k in ("SAGEMAKER_JOB_NAME", "CURRENT_HOST",
                                                       "SAGEMAKER_REGION")}
report = {
    "channel_input_dirs": env.channel_input_dirs,
    "hyperparameters": env.hyperparameters,
    "model_dir": env.model_dir,
    "hosts": env.hosts,
    "current_host": env.current_host,
    "module_name": env.module_name,
    "user_entry_point": env.user_entry_point,
    "num_gpus": env.num_gpus,
    "network_interface_name": env.network_interface_name,
    "input_data_config": env.input_data_config,
    "argv": sys.argv[1:],
    "toolkit_cmd_args": mapping.to_cmd_args(env.hyperparameters),
    "sm_env": cit_vars,
    "toolkit_env_vars": toolkit_vars,
    "env_var_differences": differences(toolkit_vars, cit_vars),
    "toolkit_set_differences": differences(
        toolkit_set, {k: CIT_ENV.get(k, ABSENT) for k in toolkit_set}
    ),
}
Path(env.model_dir, f"env-{env.current_host}.json").write_text(
    json.dumps(report, indent=2, sort_keys=True)
)
print("toolkit channels:", env.channel_input_dirs)
print("toolkit hyperparameters:", env.hyperparameters)
print("SM_* differences:", sorted(report["env_var_differences"]) or "none")
'''


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}",
            pytrace=False,
        )


def _prepare_wheels(wheels: Path) -> None:
    """The toolkit built on this host (an sdist with a C extension) and its runtime deps."""
    if sorted(wheels.glob("*.whl")):
        return
    _pip("wheel", "--no-deps", TOOLKIT, "-w", str(wheels))
    built = [w.name for w in wheels.glob("sagemaker_training-*.whl")]
    if not any("-cp311-" in name for name in built):
        pytest.fail(
            f"the toolkit wheel must be built by a Python 3.11 like the runner's, got {built} "
            f"from {sys.executable} {sys.version.split()[0]}",
            pytrace=False,
        )
    _pip("download", "--no-deps", *PLATFORM_ARGS, "-d", str(wheels), *RUNTIME_DEPS)


@pytest.fixture(scope="session")
def toolkit_image(
    engine: DockerEngine, runner_image: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """``cit-toolkit-test:<hash of inputs>``: the runner image plus the training toolkit."""
    runner_id = engine.image_id(runner_image)
    assert runner_id is not None, f"runner image {runner_image} is missing"
    dockerfile = DOCKERFILE.format(base=runner_image)
    inputs = [runner_id, dockerfile, TOOLKIT, *RUNTIME_DEPS, *PLATFORM_ARGS]
    digest = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]
    tag = f"{IMAGE_REPOSITORY}:{digest}"
    if engine.image_id(tag) is not None:
        return tag

    context = tmp_path_factory.mktemp("toolkit-image")
    _prepare_wheels(context / "wheels")
    (context / "Dockerfile").write_text(dockerfile)
    log: list[str] = []
    try:
        engine.image_tools().build(context, "Dockerfile", tag, {}, log.append)
    except ImageBuildError as exc:
        pytest.fail(f"building {tag} failed: {exc}\n" + "\n".join(log), pytrace=False)
    return tag


def _pipeline(folder: Path, image: str, cpus: int, instance: str = "") -> Path:
    write_script(folder, "train.py", TRAIN_SCRIPT)
    write_script(folder, "data/train/train.csv", "label,x\n0,1.0\n1,2.0\n")
    write_script(folder, "data/val/val.csv", "label,x\n1,3.0\n")
    # cpus: the toolkit counts the CPUs the container sees (all of the engine's), cit reports
    # the instance's; making them equal keeps SM_NUM_CPUS comparable on any machine.
    return write_script(
        folder,
        "pipeline.yaml",
        f"""
        name: toolkit
        steps:
          train:
            kind: training
            script: train.py
            image: {image}
            instance: {{cpus: {cpus}{instance}}}
            inputs: {{train: data/train, validation: data/val}}
            hyperparameters: {json.dumps(HYPERPARAMETERS)}
        """,
    )


def _typed(values: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Values with their types, so that False is not 0 and 4 is not 4.0."""
    return {k: (type(v).__name__, v) for k, v in values.items()}


def _describe(differences: dict[str, Any]) -> str:
    lines = []
    for name, diff in differences.items():
        if "keys" in diff:  # JSON objects: only the keys that differ
            lines.append(f"{name}, keys that differ:")
            for key, values in diff["keys"].items():
                lines.append(f"  [{key}] toolkit {values['toolkit']!r}, cit {values['cit']!r}")
        else:
            lines.append(f"{name}: toolkit {diff['toolkit']!r}, cit {diff['cit']!r}")
    return "\n".join(lines)


HOSTS = {"one host": ["algo-1"], "two hosts": ["algo-1", "algo-2"], "GPU type on CPU": ["algo-1"]}
INSTANCES = {"one host": "", "two hosts": ", count: 2", "GPU type on CPU": ", type: ml.g4dn.xlarge"}


@pytest.mark.parametrize("case", list(HOSTS))
def test_toolkit_environment_matches_cit(
    case: str,
    engine: DockerEngine,
    toolkit_image: str,
    settings: RunSettings,
    tmp_path: Path,
    no_leftovers: None,
) -> None:
    engine_cpus = int(engine.client.info()["NCPU"])
    cpus = min(engine_cpus, settings.cpus_available)
    pipeline = _pipeline(tmp_path, toolkit_image, cpus, INSTANCES[case])
    settings = replace(settings, cpu_only=case == "GPU type on CPU")

    result = execute_pipeline(pipeline, engine, settings=settings)

    assert not engine.list_containers({RUN_LABEL: result.run_id}), "this run left containers"
    train = result.step("train")
    assert result.ok, (train.status, train.reason, train.message, train.log_tail[-30:])
    tarball = Path(result.run_dir) / "steps/train/outputs/model/model.tar.gz"
    hosts = HOSTS[case]
    with tarfile.open(tarball) as archive:
        assert sorted(archive.getnames()) == [f"env-{host}.json" for host in hosts]
        for host in hosts:
            member = archive.extractfile(f"env-{host}.json")
            assert member is not None
            _check_report(json.load(member), host, hosts, tarball)


def _check_report(report: dict[str, Any], host: str, hosts: list[str], tarball: Path) -> None:
    """What the toolkit saw on ``host`` is what cit set up."""

    assert report["channel_input_dirs"] == {
        "train": "/opt/ml/input/data/train",
        "validation": "/opt/ml/input/data/validation",
    }
    assert _typed(report["hyperparameters"]) == _typed(HYPERPARAMETERS)
    assert report["model_dir"] == "/opt/ml/model"
    assert report["hosts"] == hosts
    assert report["current_host"] == host
    assert report["module_name"] == "train"
    assert report["user_entry_point"] == "train.py"
    assert report["num_gpus"] == 0
    assert report["network_interface_name"] == "eth0"
    assert set(report["input_data_config"]) == {"train", "validation"}
    assert report["argv"] == report["toolkit_cmd_args"] == [
        "--eta", "0.2", "--max_depth", "4", "--objective", "binary:logistic", "--use_gpu", "False",
    ]  # fmt: skip
    assert not report["toolkit_set_differences"], _describe(report["toolkit_set_differences"])
    differences = report["env_var_differences"]
    assert not differences, (
        f"SM_* variables the toolkit would export differ from cit's (full values in "
        f"{tarball} env-{host}.json):\n{_describe(differences)}"
    )

"""A secret reaches a real container and nothing else: `cit run` as a user starts it, with the
secret in its environment, leaves no file in the run directory and no line on the terminal that
holds the value, although the steps print it and write it into their message files."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import SECRET_MASK

from .conftest import the_run, write_script

CHECK = """
import hashlib, os, sys
token = os.environ.get("{variable}", "")
if hashlib.sha256(token.encode()).hexdigest() != "{digest}":
    sys.exit(3)  # not the value the host holds
print("the token is", token, flush=True)
"""
USES = """
open("/opt/ml/output/message", "w").write("used " + token)
open("/opt/ml/processing/output/out/data.csv", "w").write("a,b\\n1,2\\n")
"""
LEAKS = """
open("/opt/ml/output/failure", "w").write("rejected " + token)
sys.exit(1)
"""
PIPELINE = """
name: secretive
steps:
  uses: {kind: processing, script: uses.py, outputs: [out], secrets: [CIT_IT_TOKEN]}
  leaks:
    kind: training
    script: leaks.py
    inputs: {train: {step: uses, output: out}}
    secrets: {WANDB_API_KEY: CIT_IT_KEY}
"""
WRITTEN_BY_THE_STEPS = ("message", "failure")


def script(variable: str, value: str, rest: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return CHECK.format(variable=variable, digest=digest) + rest


def files_holding(run_dir: Path, values: list[str]) -> list[str]:
    """Files under ``run_dir`` holding any of ``values``, but the steps' own message files."""
    found = []
    for root, _, names in os.walk(run_dir):
        for name in names:
            path = Path(root, name)
            if path.parent.name == "ml-output" and name in WRITTEN_BY_THE_STEPS:
                continue
            data = path.read_bytes()
            if any(v.encode() in data for v in values):
                found.append(str(path.relative_to(run_dir)))
    return found


def test_a_secret_reaches_the_container_and_no_file_or_line_of_cit(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    token, key = f"tok-{secrets.token_hex(12)}", f"key-{secrets.token_hex(12)}"
    write_script(tmp_path, "uses.py", script("CIT_IT_TOKEN", token, USES))
    write_script(tmp_path, "leaks.py", script("WANDB_API_KEY", key, LEAKS))
    pipeline = write_script(tmp_path, "pipeline.yaml", PIPELINE)
    cit_dir = tmp_path / ".cit"
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", "--dag", str(pipeline),
         "--cit-dir", str(cit_dir), "--format", "html", "--format", "junit"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "CIT_IT_TOKEN": token, "CIT_IT_KEY": key, "COLUMNS": "250"},
    )  # fmt: skip
    shown = done.stdout + done.stderr
    run_dir, manifest = the_run(cit_dir)
    steps = {s["name"]: s for s in manifest["steps"]}
    # Each container got the right value: a wrong or missing one exits 3.
    assert steps["uses"]["status"] == "succeeded", steps["uses"]
    assert (steps["leaks"]["status"], steps["leaks"]["exit_code"]) == ("failed", 1)
    assert done.returncode == 1, shown
    assert steps["uses"]["message"] == f"used {SECRET_MASK}"
    assert steps["leaks"]["message"] == f"rejected {SECRET_MASK}"
    assert f"the token is {SECRET_MASK}" in steps["leaks"]["log_tail"]
    # Nothing cit wrote or showed holds either value; the steps' own files do.
    assert files_holding(run_dir, [token, key]) == []
    assert {p.name for p in run_dir.glob("report.*")} >= {"report.json", "report.html"}
    assert token not in shown and key not in shown
    assert f"uses | the token is {SECRET_MASK}" in shown
    assert f"rejected {SECRET_MASK}" in shown  # the failure panel
    assert (run_dir / "steps/leaks/ml-output/failure").read_text() == f"rejected {key}"
    config = json.loads((run_dir / "steps/uses/config/processingjobconfig.json").read_text())
    assert config["Environment"] == {"CIT_IT_TOKEN": SECRET_MASK}

"""The step cache with real containers: a second `cit run` reuses, a changed script reruns that
step and what follows, and a reused output cannot be changed through the new run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs
from .conftest import write_script

PIPELINE = """
name: cached
steps:
  make:
    kind: processing
    script: make.py
    outputs: [data]
  tamper:
    kind: processing
    script: tamper.py
    inputs: {data: {step: make, output: data}}
    outputs: [result]
  report:
    kind: processing
    script: report.py
    inputs: {result: {step: tamper, output: result}}
    outputs: [summary]
"""

MAKE = """
from pathlib import Path
Path("/opt/ml/processing/output/data/rows.csv").write_text("a,b\\n1,2\\n")
print("made rows")
"""

TAMPER = """
from pathlib import Path
target = Path("/opt/ml/processing/input/data/rows.csv")
try:
    with target.open("a") as handle:
        handle.write("9,9\\n")
    outcome = "changed"
except OSError as exc:
    outcome = f"refused: {exc.strerror}"
Path("/opt/ml/processing/output/result/outcome.txt").write_text(outcome + "\\n")
print(outcome)
"""

REPORT = """
from pathlib import Path
text = Path("/opt/ml/processing/input/result/outcome.txt").read_text()
Path("/opt/ml/processing/output/summary/summary.txt").write_text(text)
"""


def cit_run(folder: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(folder / "p.yaml")]
    command += ["--cit-dir", str(folder / ".cit"), "--quiet"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=folder)


def steps_of(run_dir: Path) -> dict[str, dict[str, object]]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {step["name"]: step for step in manifest["steps"]}


def test_a_second_run_reuses_and_a_changed_script_reruns_its_part(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "p.yaml", PIPELINE)
    for name, body in (("make.py", MAKE), ("tamper.py", TAMPER), ("report.py", REPORT)):
        write_script(tmp_path, name, body)
    first = cit_run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr

    second = cit_run(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    one, two = run_dirs(tmp_path / ".cit" / "runs")
    assert {name: s["cached_from"] for name, s in steps_of(two).items()} == dict.fromkeys(
        ("make", "tamper", "report"), one.name
    )
    assert "cached" in second.stdout
    assert engine.list_containers({"cit.run-id": two.name}) == []
    report = json.loads((two / "report.json").read_text())
    assert report["outcome"] == "passed"
    assert {t["cached_from"] for t in report["suites"][0]["tests"] if t["kind"] == "step"} == {
        one.name
    }

    write_script(tmp_path, "tamper.py", TAMPER + "print('changed script')\n")
    third = cit_run(tmp_path)
    assert third.returncode == 0, third.stdout + third.stderr
    *_, three = run_dirs(tmp_path / ".cit" / "runs")
    steps = steps_of(three)
    assert steps["make"]["cached_from"] == one.name
    assert steps["tamper"]["cached_from"] is None
    # tamper wrote the same bytes again, so report, below it, is still taken from the cache
    assert steps["report"]["cached_from"] == one.name
    assert "changed script" in (three / "steps/tamper/log.txt").read_text()

    # the rerun step tried to change the reused output it was given: it could not
    outcome = (three / "steps/tamper/outputs/result/outcome.txt").read_text()
    assert outcome.startswith("refused"), outcome
    reused = three / "steps/make/outputs/data/rows.csv"
    for same in (one / "steps/make/outputs/data/rows.csv", reused):
        assert same.read_text() == "a,b\n1,2\n"
    assert os.path.samefile(reused, one / "steps/make/outputs/data/rows.csv")
    assert not reused.stat().st_mode & 0o222, "cached files are read-only"


def test_no_cache_runs_every_step(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "p.yaml", PIPELINE)
    for name, body in (("make.py", MAKE), ("tamper.py", TAMPER), ("report.py", REPORT)):
        write_script(tmp_path, name, body)
    assert cit_run(tmp_path).returncode == 0
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(tmp_path / "p.yaml")]
    command += ["--cit-dir", str(tmp_path / ".cit"), "--quiet", "--no-cache"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    *_, last = run_dirs(tmp_path / ".cit" / "runs")
    assert all(step["cached_from"] is None for step in steps_of(last).values())
    assert "made rows" in (last / "steps/make/log.txt").read_text()


def test_only_runs_one_step_on_an_earlier_runs_outputs(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "p.yaml", PIPELINE)
    for name, body in (("make.py", MAKE), ("tamper.py", TAMPER), ("report.py", REPORT)):
        write_script(tmp_path, name, body)
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(tmp_path / "p.yaml")]
    command += ["--cit-dir", str(tmp_path / ".cit"), "--quiet", "--no-cache"]
    missing = subprocess.run(
        [*command, "--from", "tamper"], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "step 'make' is needed, and no earlier run of 'cached'" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert run_dirs(tmp_path / ".cit" / "runs") == []

    assert cit_run(tmp_path).returncode == 0
    [earlier] = run_dirs(tmp_path / ".cit" / "runs")
    done = subprocess.run(
        [*command, "--only", "tamper", "--reuse", earlier.name],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    latest = (tmp_path / ".cit" / "runs" / "latest").resolve()
    steps = steps_of(latest)
    assert steps["make"]["cached_from"] == earlier.name
    assert steps["tamper"]["cached_from"] is None and steps["tamper"]["exit_code"] == 0
    assert steps["report"]["status"] == "skipped" and steps["report"]["excluded"]
    outcome = (latest / "steps/tamper/outputs/result/outcome.txt").read_text()
    assert outcome.startswith("refused"), outcome
    assert (earlier / "steps/make/outputs/data/rows.csv").read_text() == "a,b\n1,2\n"


def test_steps_after_a_rerun_writing_the_same_bytes_come_from_the_cache(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    """The next step's container is created while the first reruns; it is served from the
    cache all the same, and its container goes."""
    write_script(tmp_path, "p.yaml", PIPELINE)
    for name, body in (("make.py", MAKE), ("tamper.py", TAMPER), ("report.py", REPORT)):
        write_script(tmp_path, name, body)
    assert cit_run(tmp_path).returncode == 0
    write_script(tmp_path, "make.py", "# only a comment changed\n" + MAKE)
    second = cit_run(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    one, two = run_dirs(tmp_path / ".cit" / "runs")
    steps = steps_of(two)
    assert steps["make"]["cached_from"] is None
    assert steps["tamper"]["cached_from"] == one.name
    assert steps["report"]["cached_from"] == one.name
    assert (two / "steps/tamper/outputs/result/outcome.txt").read_text().startswith("refused")
    assert engine.list_containers({"cit.run-id": two.name}) == []


LOADED_AT_EXIT = """
import atexit, json, sys
atexit.register(lambda: print("LOADED " + json.dumps(
    {name: name in sys.modules for name in ("docker.api", "requests.adapters", "pandas")}
), file=sys.stderr))
sys.argv = ["cit", *sys.argv[1:]]
from orchestrator.cli import main
main()
"""


def test_a_run_of_cached_steps_loads_neither_the_docker_sdk_nor_pandas(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    """Each takes a quarter of a second or so to import; a run that only asks the engine
    questions and checks small outputs needs neither (see benchmarks/step_cache.py)."""
    write_script(tmp_path, "p.yaml", PIPELINE)
    for name, body in (("make.py", MAKE), ("tamper.py", TAMPER), ("report.py", REPORT)):
        write_script(tmp_path, name, body)
    assert cit_run(tmp_path).returncode == 0
    command = [sys.executable, "-c", LOADED_AT_EXIT, "run", "--dag", str(tmp_path / "p.yaml")]
    command += ["--cit-dir", str(tmp_path / ".cit"), "--quiet"]
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    *_, run_dir = run_dirs(tmp_path / ".cit" / "runs")
    assert all(step["cached_from"] for step in steps_of(run_dir).values())
    [line] = [line for line in second.stderr.splitlines() if line.startswith("LOADED ")]
    assert json.loads(line.removeprefix("LOADED ")) == {
        "docker.api": False,
        "requests.adapters": False,
        "pandas": False,
    }

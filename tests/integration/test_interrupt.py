"""Ctrl-C during a run: containers gone, run marked interrupted, finished outputs kept."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import MANAGED_LABEL, STEP_LABEL

from .conftest import start_cit_run, the_run, write_script


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail("condition not reached in time")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_run_and_cleans_up(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path, sig: int
) -> None:
    write_script(
        tmp_path, "quick.py", "open('/opt/ml/processing/output/out/done', 'w').write('1')\n"
    )
    write_script(
        tmp_path, "slow.py", "import time\nprint('working', flush=True)\ntime.sleep(120)\n"
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: interrupted
        steps:
          first: {kind: processing, script: quick.py, outputs: [out]}
          slow: {kind: processing, script: slow.py, inputs: {a: {step: first, output: out}}}
          never: {kind: processing, script: quick.py, outputs: [out],
                  inputs: {a: {step: first, output: out}}, depends_on: [slow]}
    """,
    )
    cit_dir = tmp_path / ".cit"
    process = start_cit_run(path, cit_dir)
    try:
        wait_for(
            lambda: any(
                c.labels.get(STEP_LABEL) == "slow" and c.status == "running"
                for c in engine.list_containers({MANAGED_LABEL: "true"})
            ),
            60,
        )
        process.send_signal(sig)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output.decode()
    run_dir, manifest = the_run(cit_dir)
    statuses = {s["name"]: s["status"] for s in manifest["steps"]}
    assert manifest["status"] == "interrupted"
    assert statuses == {"first": "succeeded", "slow": "interrupted", "never": "skipped"}
    assert (run_dir / "steps/first/outputs/out/done").read_text() == "1"
    assert not list(run_dir.rglob(".*.partial"))


def test_pressing_ctrl_c_again_does_not_break_the_clean_up(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(
        tmp_path,
        "stubborn.py",
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('working', flush=True)
        time.sleep(120)
    """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: stubborn
        steps:
          a: {kind: processing, script: stubborn.py, outputs: [out]}
          b: {kind: processing, script: stubborn.py, inputs: {x: {step: a, output: out}}}
    """,
    )
    cit_dir = tmp_path / ".cit"
    process = start_cit_run(path, cit_dir)
    try:
        wait_for(
            lambda: any(
                c.labels.get(STEP_LABEL) == "a" and c.status == "running"
                for c in engine.list_containers({MANAGED_LABEL: "true"})
            ),
            60,
        )
        for _ in range(5):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            time.sleep(0.1)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output.decode()
    assert b"Traceback" not in output
    _, manifest = the_run(cit_dir)
    assert manifest["status"] == "interrupted"
    assert {s["name"]: s["status"] for s in manifest["steps"]} == {
        "a": "interrupted",
        "b": "skipped",
    }


def test_ctrl_c_during_a_timeout_grace_period_stops_at_once(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(
        tmp_path,
        "trap.py",
        """
        import signal, time
        signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
        print('working', flush=True)
        time.sleep(300)
    """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: grace
        steps:
          t: {kind: processing, script: trap.py, timeout_seconds: 1}
    """,
    )
    cit_dir = tmp_path / ".cit"
    process = start_cit_run(path, cit_dir)
    try:
        wait_for(
            lambda: (
                any((cit_dir / "runs").glob("*/steps/t/log.txt"))
                and "ignoring SIGTERM"
                in next((cit_dir / "runs").glob("*/steps/t/log.txt")).read_text()
            ),
            60,
        )
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        assert time.monotonic() - started < 30, "Ctrl-C waited for the grace period"
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output.decode()
    _, manifest = the_run(cit_dir)
    assert manifest["steps"][0]["status"] == "interrupted"

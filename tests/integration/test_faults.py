"""Faults in real containers: each reported with its own status, nothing left behind."""

from __future__ import annotations

from pathlib import Path

from orchestrator import RunSettings, Status
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.pipeline_run import execute_pipeline

from .conftest import write_script


def one_step(tmp_path: Path, body: str, extra: str = "") -> Path:
    write_script(tmp_path, "step.py", body)
    return write_script(
        tmp_path,
        "pipeline.yaml",
        f"name: fault\nsteps:\n  s: {{kind: processing, script: step.py{extra}}}\n",
    )


def test_nonzero_exit_is_failed_with_message_and_log(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    path = one_step(
        tmp_path,
        """
        import sys
        print("about to fail")
        open("/opt/ml/output/message", "w").write("the label column is missing")
        sys.exit(3)
    """,
    )
    step = execute_pipeline(path, engine, settings=settings).step("s")
    assert step.status is Status.FAILED and step.exit_code == 3
    assert step.message == "the label column is missing"
    assert "about to fail" in step.log_tail


def test_sleep_past_timeout_is_timeout(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    path = one_step(
        tmp_path,
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n",
        ", timeout_seconds: 2",
    )
    result = execute_pipeline(path, engine, settings=settings)
    step = result.step("s")
    assert step.status is Status.TIMEOUT, (step.status, step.reason)
    assert step.duration_seconds is not None and step.duration_seconds < 30
    assert "sleeping" in step.log_tail


def test_allocation_past_memory_limit_is_oom(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    path = one_step(
        tmp_path,
        """
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(32 * 1024 * 1024))
        print("allocated", len(blocks) * 32, "MiB")
    """,
        ", instance: {memory: 256m}",
    )
    step = execute_pipeline(path, engine, settings=settings).step("s")
    assert step.status is Status.OOM, (step.status, step.reason, step.log_tail)
    assert "memory" in (step.reason or "")


def test_writing_into_an_input_mount_fails_and_upstream_is_unchanged(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    write_script(
        tmp_path,
        "produce.py",
        """
        open("/opt/ml/processing/output/data/part.csv", "w").write("a,b\\n1,2\\n")
    """,
    )
    write_script(
        tmp_path,
        "vandal.py",
        """
        open("/opt/ml/processing/input/data/part.csv", "w").write("overwritten")
    """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: readonly
        steps:
          produce: {kind: processing, script: produce.py, outputs: [data]}
          vandal:
            kind: processing
            script: vandal.py
            inputs: {data: {step: produce, output: data}}
    """,
    )
    result = execute_pipeline(path, engine, settings=settings)
    vandal = result.step("vandal")
    assert vandal.status is Status.FAILED
    assert any("Read-only file system" in line for line in vandal.log_tail)
    produced = Path(result.run_dir) / "steps/produce/outputs/data/part.csv"
    assert produced.read_text() == "a,b\n1,2\n"


def test_diamond_runs_independent_steps_concurrently(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    write_script(tmp_path, "quick.py", "open('/opt/ml/processing/output/out/x', 'w').write('x')\n")
    write_script(
        tmp_path,
        "sleep.py",
        """
        import time
        time.sleep(2)
        open('/opt/ml/processing/output/out/x', 'w').write('x')
    """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: diamond
        steps:
          A: {kind: processing, script: quick.py, outputs: [out]}
          B: {kind: processing, script: sleep.py, outputs: [out],
              inputs: {a: {step: A, output: out}}}
          C: {kind: processing, script: sleep.py, outputs: [out],
              inputs: {a: {step: A, output: out}}}
          D: {kind: processing, script: quick.py, outputs: [out],
              inputs: {b: {step: B, output: out}, c: {step: C, output: out}}}
    """,
    )
    result = execute_pipeline(path, engine, settings=settings)
    assert result.ok
    a, b, c, d = (result.step(n) for n in "ABCD")
    assert b.started_at and c.started_at and b.finished_at and c.finished_at
    assert b.started_at < c.finished_at and c.started_at < b.finished_at, "B and C did not overlap"
    assert d.started_at and d.started_at >= max(b.finished_at, c.finished_at)
    assert a.finished_at and min(b.started_at, c.started_at) >= a.finished_at


def test_failed_step_skips_descendants_independent_branch_goes_on(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    write_script(tmp_path, "ok.py", "open('/opt/ml/processing/output/out/x', 'w').write('x')\n")
    write_script(tmp_path, "crash.py", "raise ValueError('column income is not numeric')\n")
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: branches
        steps:
          root: {kind: processing, script: ok.py, outputs: [out]}
          crash: {kind: processing, script: crash.py, outputs: [out],
                  inputs: {a: {step: root, output: out}}}
          after_crash: {kind: processing, script: ok.py, outputs: [out],
                        inputs: {a: {step: crash, output: out}}}
          other: {kind: processing, script: ok.py, outputs: [out],
                  inputs: {a: {step: root, output: out}}}
    """,
    )
    result = execute_pipeline(path, engine, settings=settings)
    statuses = {s.name: s.status for s in result.steps}
    assert statuses == {
        "root": Status.SUCCEEDED,
        "crash": Status.FAILED,
        "after_crash": Status.SKIPPED,
        "other": Status.SUCCEEDED,
    }
    assert any("column income is not numeric" in line for line in result.step("crash").log_tail)


def test_container_gets_no_network_and_no_host_environment(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    import os

    os.environ["CIT_SECRET_FOR_TEST"] = "leak"
    try:
        path = one_step(
            tmp_path,
            """
            import json, os
            names = sorted(os.listdir("/sys/class/net"))
            print(json.dumps({"net": names, "secret": os.environ.get("CIT_SECRET_FOR_TEST")}))
        """,
        )
        step = execute_pipeline(path, engine, settings=settings).step("s")
    finally:
        del os.environ["CIT_SECRET_FOR_TEST"]
    assert step.status is Status.SUCCEEDED
    assert '"net": ["lo"]' in step.log_tail[-1] and '"secret": null' in step.log_tail[-1]


def test_timeout_sends_sigterm_first_so_a_script_can_checkpoint(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    write_script(
        tmp_path,
        "step.py",
        """
        import signal, sys, time
        def checkpoint(signum, frame):
            open("/opt/ml/processing/output/ckpt/state", "w").write("saved")
            sys.exit(0)
        signal.signal(signal.SIGTERM, checkpoint)
        print("working", flush=True)
        time.sleep(60)
    """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: ckpt
        steps:
          s: {kind: processing, script: step.py, outputs: [ckpt], timeout_seconds: 2}
    """,
    )
    result = execute_pipeline(path, engine, settings=settings)
    assert result.step("s").status is Status.TIMEOUT
    assert (Path(result.run_dir) / "steps/s/outputs/ckpt/state").read_text() == "saved"


def test_every_log_line_is_saved_even_floods_and_progress_bars(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    path = one_step(
        tmp_path,
        """
        import sys
        for i in range(200_000):
            print(f"line {i}")
        for i in range(50_000):
            sys.stdout.write(f"\\rprogress {i}")
        print()
        print("x" * 200_000)
        print("LAST", flush=True)
    """,
    )
    step = execute_pipeline(path, engine, settings=settings).step("s")
    assert step.status is Status.SUCCEEDED
    lines = Path(step.log_file or "").read_text().splitlines()
    assert lines[0] == "line 0" and lines[199_999] == "line 199999"
    assert "progress 49999" in lines
    assert lines[-1] == "LAST" and step.log_tail[-1] == "LAST"
    assert max(len(line) for line in lines) <= 64 * 1024

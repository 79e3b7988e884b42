"""A step that writes many MiB, progress bars and stderr in the middle of stdout lines, run by
`cit run` into a pipe (as in CI): log.txt has every line whole, the console shows a sample."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine

from .conftest import write_script

LINES = 200_000  # about 20 MiB
CHATTY = f"""
import sys, time

out, err = sys.stdout, sys.stderr
for number in range({LINES}):
    out.write(f"out {{number:06d}} " + "x" * 88 + "\\n")
    if number % 50_000 == 0:  # stderr lands while a stdout line is half written
        out.write("half a stdout line, "); out.flush()
        err.write(f"an error line {{number}}\\n"); err.flush()
        out.write("and its end\\n"); out.flush()
out.flush()
for percent in range(0, 101, 5):
    err.write(f"\\r{{percent:3d}}%|" + "#" * (percent // 10)); err.flush()
err.write("\\n"); err.flush()
time.sleep(1.5)  # silent: cit says it is still running
print("done")
"""
PIPELINE = "name: chatty\nsteps:\n  talk: {kind: processing, script: chatty.py}\n"
WHOLE_STDOUT = re.compile(r"out \d{6} x{88}")


def test_a_chatty_step_keeps_every_line_whole_in_its_log(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "chatty.py", CHATTY)
    dag = write_script(tmp_path, "p.yaml", PIPELINE)
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(dag)]
    done = subprocess.run(
        [*command, "--cit-dir", str(tmp_path / ".cit")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "CIT_PROGRESS_INTERVAL": "0.5", "COLUMNS": ""},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    [run_dir] = (tmp_path / ".cit" / "runs").iterdir()
    saved = (run_dir / "steps/talk/log.txt").read_bytes().decode()
    lines = re.split(r"\r\n|\r|\n", saved.rstrip("\n"))

    numbered = [line for line in lines if line.startswith("out ")]
    assert len(numbered) == LINES and all(WHOLE_STDOUT.fullmatch(n) for n in numbered)
    assert lines.count("half a stdout line, and its end") == 4
    assert [line for line in lines if line.startswith("an error")] == [
        f"an error line {n}" for n in range(0, LINES, 50_000)
    ]
    assert saved.count("\r") == 21  # every progress update is kept, each ended by its \r
    assert "100%|##########\n" in saved and lines[-1] == "done"

    shown = done.stdout
    assert "step talk started" in shown and "step talk succeeded in" in shown
    assert "step talk still running (" in shown
    assert "line(s) not shown (see log.txt)" in shown
    assert " 50%|#####" not in shown  # a progress bar is not one line per update
    assert "talk | done" in shown
    for line in shown.splitlines():
        if "talk | out " in line:
            assert WHOLE_STDOUT.search(line), line

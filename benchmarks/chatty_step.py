"""Does a step that writes a lot to stdout run as fast under cit as under ``docker run``?

One processing step writes ``--mib`` MiB of 100-byte lines to stdout. For N rounds (rotating
which goes first), it times, on the same image and script:

  (a) ``docker run --rm`` of the script, its output to /dev/null (the baseline);
  (b) ``cit run --quiet`` into a pipe;
  (c) ``cit run`` into a pipe (the console of a CI log: the step's lines are sampled);
  (d) ``cit run`` in a pseudo-terminal (the live view), the terminal drained as fast as it
      prints.

For each cit mode it reports the step's own duration (``duration_seconds`` in the manifest:
what counts against its timeout) and cit's whole wall time, each as a ratio to the ``docker
run`` of the same round, and checks that log.txt kept every byte. It reports; it does not
assert on timing. Exit status: 0 when every run succeeded, 1 when one failed, 2 when the
benchmark could not start.

    python benchmarks/chatty_step.py [--mib 100] [--rounds 3] [--image cit-runner:0.1.0]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench_common import BenchmarkError, SetupError, cit_command, require_local_image

CODE_DIR = "/opt/ml/processing/input/code"
SCRIPT_NAME = "chatty.py"
STEP = "talk"
LINE_BYTES = 100
BLOCK_BYTES = LINE_BYTES * 1024
SCRIPT = f'''"""Write argv[1] MiB of {LINE_BYTES}-byte lines to stdout, as fast as Python can."""

import sys

line = b"x" * {LINE_BYTES - 1} + b"\\n"
block = line * 1024
for _ in range(int(sys.argv[1]) * 2**20 // len(block)):
    sys.stdout.buffer.write(block)
sys.stdout.buffer.flush()
'''
MODES = ("docker run", "cit --quiet", "cit (pipe)", "cit (terminal)")
TERMINAL_SIZE = (40, 120)  # rows, columns


@dataclass(frozen=True)
class Timing:
    """One run of one mode: its wall time and, for cit, the step's own duration."""

    wall: float
    step: float | None = None


def write_workspace(root: Path, mib: int) -> Path:
    (root / SCRIPT_NAME).write_text(SCRIPT, encoding="utf-8")
    (root / "config.yaml").write_text(
        f"execution:\n  log_limit_mb: {mib + 16}\n", encoding="utf-8"
    )  # log.txt keeps everything: the costliest case
    dag = root / "chatty.yaml"
    dag.write_text(
        f"name: chatty\nsteps:\n  {STEP}: {{kind: processing, script: {SCRIPT_NAME}, "
        f"arguments: ['{mib}']}}\n",
        encoding="utf-8",
    )
    return dag


def run_docker(image: str, root: Path, mib: int) -> Timing:
    command = [
        "docker", "run", "--rm", "--pull", "never", "--network", "none",
        "-v", f"{root / SCRIPT_NAME}:{CODE_DIR}/{SCRIPT_NAME}:ro",
        image, "python3", f"{CODE_DIR}/{SCRIPT_NAME}", str(mib),
    ]  # fmt: skip
    begin = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - begin
    if done.returncode != 0:
        raise BenchmarkError(f"docker run exited with {done.returncode}: {done.stderr[-2000:]!r}")
    return Timing(wall)


def run_cit(cit: list[str], root: Path, image: str, mode: str, mib: int) -> Timing:
    cit_dir = root / f"cit-{time.time_ns()}"
    command = [*cit, "run", "--dag", str(root / "chatty.yaml"), "--cit-dir", str(cit_dir)]
    command += ["--image", image, "--config", str(root / "config.yaml")]
    if mode == "cit --quiet":
        command.append("--quiet")
    begin = time.perf_counter()
    if mode == "cit (terminal)":
        code = run_in_terminal(command)
    else:
        code = subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode
    wall = time.perf_counter() - begin
    if code != 0:
        raise BenchmarkError(f"{mode} exited with {code}")
    manifest_file = (cit_dir / "runs" / "latest").resolve() / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    log = manifest_file.parent / "steps" / STEP / "log.txt"
    written = mib * 2**20 // BLOCK_BYTES * BLOCK_BYTES  # what the script writes
    if log.stat().st_size != written:
        raise BenchmarkError(f"{mode}: log.txt has {log.stat().st_size} bytes, not {written}")
    shutil.rmtree(cit_dir)
    return Timing(wall, float(manifest["steps"][0]["duration_seconds"]))


def run_in_terminal(command: list[str]) -> int:
    """Run ``command`` with a pseudo-terminal as its stdout and stderr, read as it prints."""
    leader, follower = pty.openpty()
    rows, columns = TERMINAL_SIZE
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    process = subprocess.Popen(command, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    reader = threading.Thread(target=drain, args=(leader,), daemon=True)
    reader.start()
    code = process.wait()
    reader.join(timeout=10)
    os.close(leader)
    return code


def drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:  # the terminal closed: the process ended
        pass


def measure(image: str, mib: int, rounds: int, root: Path) -> list[dict[str, Timing]]:
    cit = cit_command()
    write_workspace(root, mib)
    run_docker(image, root, 1)  # warm-up: image and page cache
    results = []
    for number in range(rounds):
        order = MODES[number % len(MODES) :] + MODES[: number % len(MODES)]
        timings = {}
        for mode in order:
            if mode == "docker run":
                timings[mode] = run_docker(image, root, mib)
            else:
                timings[mode] = run_cit(cit, root, image, mode, mib)
        results.append(timings)
        shown = "  ".join(f"{m} {timings[m].wall:.2f}s" for m in MODES)
        print(f"round {number + 1}: {shown}", flush=True)
    return results


def print_report(results: list[dict[str, Timing]], mib: int) -> None:
    docker = [r["docker run"].wall for r in results]
    print()
    print(f"{mib} MiB to stdout, median of {len(results)} rounds; ratios to the same round's")
    print(f"docker run (median {statistics.median(docker):.2f} s)")
    print(f"  {'mode':<16} {'step':>8} {'step/docker':>12} {'wall':>8} {'wall/docker':>12}")
    for mode in MODES[1:]:
        steps = [r[mode].step or 0.0 for r in results]
        walls = [r[mode].wall for r in results]
        step_ratio = statistics.median(s / d for s, d in zip(steps, docker, strict=True))
        wall_ratio = statistics.median(w / d for w, d in zip(walls, docker, strict=True))
        print(
            f"  {mode:<16} {statistics.median(steps):>7.2f}s {step_ratio:>12.2f} "
            f"{statistics.median(walls):>7.2f}s {wall_ratio:>12.2f}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="MiB the step writes (100)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all modes (3)")
    parser.add_argument("--image", default="cit-runner:0.1.0", help="the image to run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        require_local_image(args.image)
        with tempfile.TemporaryDirectory(prefix="cit-chatty-") as folder:
            results = measure(args.image, args.mib, args.rounds, Path(folder))
    except SetupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except BenchmarkError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    print_report(results, args.mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())

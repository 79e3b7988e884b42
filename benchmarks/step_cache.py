"""How long does a second ``cit run`` of an unchanged pipeline take, next to the first?

For each round, in a fresh cit folder (an empty step cache), it times as subprocesses, end to
end:

  (a) ``cit run --dag <pipeline> --quiet --cit-dir <tmp>``: every step runs (the first run);
  (b) the same command again: every step unchanged, so every step's outputs come from the step
      cache, and the edge checks, snapshots and expectations run on them;
  (c) one ``docker run --rm --pull never --network none <image> true``, for scale.

It prints each round, then the medians, the second/first ratio, and where the second run's
time went according to its manifest (before the run: interpreter, imports, load, validate,
connect, plan; the steps; after the run: checks, expectations, reports, exit). It checks that
every step of the second run was cached. It reports; it never asserts on timing. Exit status:
0 when every run succeeded and the second runs were fully cached, 1 otherwise, 2 when it could
not start.

    python benchmarks/step_cache.py [--rounds 3] [--dag examples/tabular/pipeline.py]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import SetupError, cit_command, require_local_image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DAG = REPO / "examples" / "tabular" / "pipeline.py"
DEFAULT_IMAGE = "cit-runner:0.1.0"


@dataclass(frozen=True)
class Timed:
    """One ``cit run``: its wall time, launch and exit, and its manifest."""

    wall: float
    launched_at: float
    exited_at: float
    manifest: dict[str, Any]

    @property
    def before_run(self) -> float:
        return float(self.manifest["started_at"]) - self.launched_at

    @property
    def steps(self) -> float:
        return float(self.manifest["finished_at"]) - float(self.manifest["started_at"])

    @property
    def after_run(self) -> float:
        return self.exited_at - float(self.manifest["finished_at"])

    @property
    def cached(self) -> int:
        return sum(1 for step in self.manifest["steps"] if step.get("cached_from"))

    @property
    def step_count(self) -> int:
        return len(self.manifest["steps"])


def timed_run(cit: list[str], dag: Path, cit_dir: Path) -> Timed:
    """``cit run`` once; its manifest is the newest run's."""
    command = [*cit, "run", "--dag", str(dag), "--quiet", "--cit-dir", str(cit_dir)]
    launched = time.time()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    exited = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"cit run exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    latest = (cit_dir / "runs" / "latest").resolve()
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    return Timed(wall, launched, exited, manifest)


def docker_true(image: str) -> float:
    command = ["docker", "run", "--rm", "--pull", "never", "--network", "none", image, "true"]
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dag", type=Path, default=DEFAULT_DAG)
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="image of the docker run scale")
    args = parser.parse_args(argv)
    try:
        require_local_image(args.image)
        cit = cit_command()
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{platform.platform()}, Python {platform.python_version()}, {args.dag}")
    firsts, seconds, dockers = [], [], []
    ok = True
    for number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="cit-step-cache-") as folder:
            cit_dir = Path(folder) / ".cit"
            first = timed_run(cit, args.dag, cit_dir)
            second = timed_run(cit, args.dag, cit_dir)
        plain = docker_true(args.image)
        ok = ok and second.cached == second.step_count and first.cached == 0
        firsts.append(first)
        seconds.append(second)
        dockers.append(plain)
        print(
            f"round {number}: first {first.wall:.2f} s, second {second.wall:.2f} s "
            f"({second.cached}/{second.step_count} cached; before {second.before_run:.2f} s, "
            f"steps {second.steps:.2f} s, after {second.after_run:.2f} s), "
            f"docker run true {plain:.2f} s"
        )
    first_wall = statistics.median(t.wall for t in firsts)
    second_wall = statistics.median(t.wall for t in seconds)
    print(
        f"median: first {first_wall:.2f} s, second {second_wall:.2f} s, "
        f"second/first {second_wall / first_wall:.3f}, "
        f"second/docker-run-true {second_wall / statistics.median(dockers):.2f}"
    )
    print(
        "second run split (medians): "
        f"before {statistics.median(t.before_run for t in seconds):.2f} s, "
        f"steps {statistics.median(t.steps for t in seconds):.3f} s, "
        f"after {statistics.median(t.after_run for t in seconds):.2f} s"
    )
    if not ok:
        print("a second run was not fully cached (or a first run was)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

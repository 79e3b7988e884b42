"""How much does cit cost per step, next to a plain ``docker run`` of the same container?

Generates a chain of trivial processing steps in a temporary folder, then, for N rounds
(alternating which goes first), times:

  (a) ``cit run --dag chain.yaml --quiet --cit-dir <tmp>`` as a subprocess, end to end;
  (b) the same number of sequential ``docker run --rm`` of the same image, script and
      equivalent bind mounts, through the docker CLI.

It prints per-round totals, per-step costs and the cit/docker-run ratio, splits cit's total
into container time and cit's own time using the run's manifest, and splits both sides per
container with the engine's own ``docker events`` timestamps (create, start, die, destroy), so
the engine's work and each client's own time can be compared like for like. It reports; it
does not assert on timing. Exit status: 0 when every run succeeded, 1 when one failed, 2 when the
benchmark could not start.

    python benchmarks/overhead.py [--rounds 3] [--steps 10] [--image cit-runner:0.1.0]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import BenchmarkError, SetupError, cit_command, require_local_image

CODE_DIR = "/opt/ml/processing/input/code"
INPUT_DIR = "/opt/ml/processing/input"
OUTPUT_DIR = "/opt/ml/processing/output"
SCRIPT_NAME = "step.py"
INPUT_CHANNEL = "prev"
OUTPUT_NAME = "out"
RESULT_FILE = "result.txt"

STEP_SCRIPT = f'''"""A trivial processing step: read the input folder if any, write one file."""

import pathlib
import sys

source = pathlib.Path("{INPUT_DIR}/{INPUT_CHANNEL}")
seen = 0
if source.is_dir():
    for path in sorted(source.rglob("*")):
        if path.is_file():
            seen += len(path.read_bytes())
target = pathlib.Path("{OUTPUT_DIR}/{OUTPUT_NAME}")
target.mkdir(parents=True, exist_ok=True)
(target / "{RESULT_FILE}").write_text(f"step {{sys.argv[1:]}} read {{seen}} bytes\\n")
'''


@dataclass(frozen=True)
class EngineTimes:
    """The engine's own view of a batch of containers, from ``docker events`` (summed seconds).

    create → start is the engine starting the container (mounts, namespaces, runc); start → die
    is the process running; die → destroy is the removal. Whatever the client spends outside
    create → destroy (its own start-up, the create request, API round trips, bookkeeping) is
    the wall time minus ``lifecycle``.
    """

    containers: int
    starting: float
    running: float
    removing: float

    @property
    def lifecycle(self) -> float:
        return self.starting + self.running + self.removing


@dataclass(frozen=True)
class CitTiming:
    """One ``cit run``: its wall time and what its manifest says about where it went."""

    wall: float
    launched_at: float
    exited_at: float
    manifest: dict[str, Any]
    engine: EngineTimes | None

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.manifest["steps"])

    @property
    def container_time(self) -> float:
        """Sum of the steps' duration_seconds: container start returned → exit seen."""
        return sum(float(s["duration_seconds"]) for s in self.steps)

    @property
    def before_run(self) -> float:
        """Process launch → run started: interpreter, imports, load, validate, connect, plan."""
        return float(self.manifest["started_at"]) - self.launched_at

    @property
    def run_span(self) -> float:
        return float(self.manifest["finished_at"]) - float(self.manifest["started_at"])

    @property
    def between_steps(self) -> float:
        """Inside the run but outside containers: create, remove, scheduling, manifest writes."""
        return self.run_span - self.container_time

    @property
    def after_run(self) -> float:
        """Run finished → process exited: summary table, interpreter shut-down."""
        return self.exited_at - float(self.manifest["finished_at"])

    def gaps(self) -> list[float]:
        """Time from one step's container exit to the next step's container start."""
        ordered = sorted(self.steps, key=lambda s: float(s["started_at"]))
        return [
            float(b["started_at"]) - float(a["finished_at"]) for a, b in itertools.pairwise(ordered)
        ]


@dataclass(frozen=True)
class Round:
    number: int
    first: str
    cit: CitTiming
    docker: float
    docker_engine: EngineTimes | None
    steps: int
    others: int

    @property
    def cit_per_step(self) -> float:
        return self.cit.wall / self.steps

    @property
    def docker_per_step(self) -> float:
        return self.docker / self.steps

    @property
    def ratio(self) -> float:
        return self.cit.wall / self.docker


def step_name(index: int) -> str:
    return f"s{index:02d}"


def write_workspace(root: Path, steps: int, pipeline: str) -> Path:
    """The step script and a chain pipeline of ``steps`` steps; returns the pipeline file."""
    (root / SCRIPT_NAME).write_text(STEP_SCRIPT, encoding="utf-8")
    lines = [f"name: {pipeline}", "steps:"]
    for index in range(1, steps + 1):
        fields = [
            "kind: processing",
            f"script: {SCRIPT_NAME}",
            f"outputs: [{OUTPUT_NAME}]",
            f"arguments: ['{step_name(index)}']",
        ]
        if index > 1:
            upstream = step_name(index - 1)
            fields.append(
                f"inputs: {{{INPUT_CHANNEL}: {{step: {upstream}, output: {OUTPUT_NAME}}}}}"
            )
        lines.append(f"  {step_name(index)}: {{{', '.join(fields)}}}")
    dag = root / "chain.yaml"
    dag.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dag


def engine_times(label: str, since: float) -> EngineTimes | None:
    """Container events carrying ``label`` from ``since`` until now; None if unavailable."""
    done = subprocess.run(
        [
            "docker", "events", "--since", f"{since:.6f}", "--until", f"{time.time():.6f}",
            "--filter", "type=container", "--filter", f"label={label}", "--format", "{{json .}}",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    seen: dict[str, dict[str, int]] = {}
    for line in done.stdout.splitlines():
        event = json.loads(line)
        actor = event.get("Actor", {}).get("ID") or event.get("id", "")
        seen.setdefault(actor, {})[event["Action"]] = int(event["timeNano"])
    needed = ("create", "start", "die", "destroy")
    complete = [e for e in seen.values() if all(a in e for a in needed)]
    if not complete:
        return None
    return EngineTimes(
        containers=len(complete),
        starting=sum(e["start"] - e["create"] for e in complete) / 1e9,
        running=sum(e["die"] - e["start"] for e in complete) / 1e9,
        removing=sum(e["destroy"] - e["die"] for e in complete) / 1e9,
    )


def run_cit(cit: Sequence[str], dag: Path, cit_dir: Path, image: str, label: str) -> CitTiming:
    command = [*cit, "run", "--dag", str(dag), "--quiet", "--cit-dir", str(cit_dir)]
    command += ["--image", image]
    launched_at = time.time()
    begin = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - begin
    exited_at = time.time()
    if done.returncode != 0:
        raise BenchmarkError(
            f"cit run exited with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    runs = (cit_dir / "runs").glob("*/manifest.json")
    manifests = sorted(p for p in runs if p.parent.name != "latest")  # latest: an alias
    if len(manifests) != 1:
        raise BenchmarkError(f"expected one run under {cit_dir / 'runs'}, found {len(manifests)}")
    manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
    if manifest.get("status") != "succeeded":
        raise BenchmarkError(f"cit run {manifest.get('run_id')} ended {manifest.get('status')}")
    return CitTiming(wall, launched_at, exited_at, manifest, engine_times(label, launched_at))


def docker_command(
    image: str, script: Path, output: Path, previous: Path | None, name: str, label: str
) -> list[str]:
    command = [
        "docker", "run", "--rm", "--pull", "never", "--network", "none",
        "--name", name, "--label", label,
        "-v", f"{script}:{CODE_DIR}/{SCRIPT_NAME}:ro",
    ]  # fmt: skip
    if os.getuid() != 0:  # cit runs containers as the invoking user; do the same
        command += ["--user", f"{os.getuid()}:{os.getgid()}"]
    if previous is not None:
        command += ["-v", f"{previous}:{INPUT_DIR}/{INPUT_CHANNEL}:ro"]
    command += ["-v", f"{output}:{OUTPUT_DIR}/{OUTPUT_NAME}"]
    return [*command, image, "python3", f"{CODE_DIR}/{SCRIPT_NAME}"]


def run_docker_chain(
    image: str, script: Path, root: Path, steps: int, prefix: str, label: str
) -> tuple[float, EngineTimes | None]:
    """``steps`` sequential ``docker run --rm``, each reading the previous one's output."""
    outputs = [root / step_name(i) / OUTPUT_NAME for i in range(1, steps + 1)]
    for output in outputs:
        output.mkdir(parents=True)
    since = time.time()
    begin = time.perf_counter()
    previous: Path | None = None
    for index, output in enumerate(outputs, start=1):
        name = f"{prefix}-{step_name(index)}"
        command = [*docker_command(image, script, output, previous, name, label), step_name(index)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchmarkError(
                f"docker run {name} exited with {done.returncode}:\n{done.stderr[-2000:]}"
            )
        previous = output
    elapsed = time.perf_counter() - begin
    missing = [str(o) for o in outputs if not (o / RESULT_FILE).is_file()]
    if missing:
        raise BenchmarkError(f"docker run left no {RESULT_FILE} in {', '.join(missing)}")
    return elapsed, engine_times(label, since)


def remove_containers(label: str) -> None:
    """Force-remove any container this benchmark (or the cit runs it started) left behind."""
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"],
        capture_output=True,
        text=True,
        check=False,
    )
    ids = found.stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


def other_containers() -> int:
    """Containers running now that are not this benchmark's: a sign the engine is shared."""
    found = subprocess.run(["docker", "ps", "-q"], capture_output=True, text=True, check=False)
    return len(found.stdout.split())


def engine_description() -> str:
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}} {{.Driver}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return info.stdout.strip() or "unknown"


def print_report(rounds: list[Round], steps: int) -> None:
    print()
    header = (
        f"{'round':>5}  {'first':<6}  {'cit total':>9}  {'docker total':>12}  "
        f"{'cit/step':>8}  {'docker/step':>11}  {'cit/docker':>10}  {'others':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rounds:
        print(
            f"{r.number:>5}  {r.first:<6}  {r.cit.wall:>8.2f}s  {r.docker:>11.2f}s  "
            f"{r.cit_per_step:>7.3f}s  {r.docker_per_step:>10.3f}s  {r.ratio:>10.2f}  "
            f"{r.others:>6}"
        )
    ratio = statistics.median(r.ratio for r in rounds)
    print(f"median ratio cit/docker-run: {ratio:.2f}")
    if any(r.others for r in rounds):
        print(
            "note: 'others' counts containers not started by this benchmark that were running "
            "around a round; a shared engine makes the figures noisy"
        )
    print_manifest_split(rounds, steps)
    print_engine_split(rounds)
    cit_step = statistics.median(r.cit_per_step for r in rounds)
    docker_step = statistics.median(r.docker_per_step for r in rounds)
    print()
    print(
        f"overhead: cit {cit_step:.2f} s/step vs docker run {docker_step:.2f} s/step, "
        f"ratio {ratio:.2f}"
    )


def print_manifest_split(rounds: list[Round], steps: int) -> None:
    """cit's total as container time (manifest durations) and everything else."""
    runs = [r.cit for r in rounds]
    wall = statistics.fmean(c.wall for c in runs)
    container = statistics.fmean(c.container_time for c in runs)
    before = statistics.fmean(c.before_run for c in runs)
    between = statistics.fmean(c.between_steps for c in runs)
    after = statistics.fmean(c.after_run for c in runs)
    parts = [
        ("containers running (manifest duration_seconds)", container),
        ("before the run: python, imports, load, plan", before),
        ("between containers: create/start/remove, bookkeeping", between),
        ("after the run: summary, exit", after),
    ]
    print()
    print(f"cit's {wall:.2f} s per run, from its manifest (mean of {len(runs)} runs):")
    for label, seconds in parts:
        print(f"  {label:<54} {seconds:>6.2f} s  {100 * seconds / wall:>5.1f} %")
    own = wall - container
    gaps = [g for c in runs for g in c.gaps()]
    print(
        f"  not inside a running container: {own:.2f} s per run, {own / steps:.3f} s per step"
        + (f"; exit-to-next-start gap {statistics.median(gaps):.3f} s (median)" if gaps else "")
    )


def print_engine_split(rounds: list[Round]) -> None:
    """The same per-container phases for both sides, from the engine's own events."""
    pairs = [
        (r.cit.engine, r.cit.wall, r.docker_engine, r.docker)
        for r in rounds
        if r.cit.engine is not None and r.docker_engine is not None
    ]
    if not pairs:
        print("\n(docker events unavailable: no engine-side split)")
        return

    def per_container(values: list[tuple[EngineTimes, float]], part: str) -> float:
        per = []
        for times, wall in values:
            seconds = wall - times.lifecycle if part == "outside" else getattr(times, part)
            per.append(seconds / times.containers)
        return statistics.median(per)

    cit = [(c, cw) for c, cw, _, _ in pairs]
    docker = [(d, dw) for _, _, d, dw in pairs]
    rows = [
        ("create -> start (engine starts it)", "starting"),
        ("start -> die (script runs)", "running"),
        ("die -> destroy (engine removes it)", "removing"),
        ("outside create..destroy (client's own)", "outside"),
    ]
    print()
    print(f"per container, from docker events (median of {len(pairs)} rounds):")
    print(f"  {'':<40} {'cit':>8} {'docker run':>11} {'difference':>11}")
    for label, part in rows:
        c, d = per_container(cit, part), per_container(docker, part)
        print(f"  {label:<40} {c:>7.3f}s {d:>10.3f}s {c - d:>+10.3f}s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--steps", type=int, default=10, help="steps in the chain (default 10)")
    parser.add_argument("--image", default="cit-runner:0.1.0", help="image of every step")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed rounds first, to warm caches (default 1)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--rounds and --steps must be at least 1, --warmup at least 0")
    return args


def benchmark(args: argparse.Namespace, root: Path, token: str) -> list[Round]:
    pipeline = f"overhead-{token}"
    label = f"cit-overhead={token}"
    dag = write_workspace(root, args.steps, pipeline)
    script = (root / SCRIPT_NAME).resolve()
    cit = cit_command()
    print(f"cit: {' '.join(cit)}")
    print(f"engine: docker {engine_description()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"image: {args.image}; chain of {args.steps} steps; workspace {root}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start: {load}; other containers running: {other_containers()}")
    rounds: list[Round] = []
    for number in range(1 - args.warmup, args.rounds + 1):
        first = "cit" if number % 2 == 1 else "docker"
        tag = f"r{number}" if number > 0 else f"warmup{args.warmup + number}"

        def cit_round(tag: str = tag) -> CitTiming:
            return run_cit(cit, dag, root / f"cit-{tag}", args.image, f"cit.pipeline={pipeline}")

        def docker_round(tag: str = tag) -> tuple[float, EngineTimes | None]:
            prefix = f"cit-overhead-{token}-{tag}"
            return run_docker_chain(
                args.image, script, root / f"docker-{tag}", args.steps, prefix, label
            )

        others = other_containers()
        if first == "cit":
            cit_timing = cit_round()
            docker_seconds, docker_engine = docker_round()
        else:
            docker_seconds, docker_engine = docker_round()
            cit_timing = cit_round()
        if number <= 0:
            print(
                f"{tag}: cit {cit_timing.wall:.2f} s, docker run {docker_seconds:.2f} s (untimed)"
            )
            continue
        others = max(others, other_containers())
        result = Round(number, first, cit_timing, docker_seconds, docker_engine, args.steps, others)
        rounds.append(result)
        print(f"round {number}: cit {result.cit.wall:.2f} s, docker run {result.docker:.2f} s")
    return rounds


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    token = secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="cit-overhead-")).resolve()
    try:
        require_local_image(args.image)
        rounds = benchmark(args, root, token)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        remove_containers(f"cit-overhead={token}")
        remove_containers(f"cit.pipeline=overhead-{token}")
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_report(rounds, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())

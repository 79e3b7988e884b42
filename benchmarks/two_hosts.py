"""A training job on two instances under cit, next to the same by hand with ``docker``.

One training step with ``instance.count: 2``: algo-1 listens on a port, algo-2 connects to it by
name, each writes one file to /opt/ml/model. For N rounds (alternating which goes first) it
times, on the same image and script:

  (a) by hand: ``docker network create --internal``, two ``docker run --rm`` at once (hostname
      and network alias algo-1/algo-2, the script and the channel mounted), ``docker network
      rm`` (the baseline: what the job needs, without cit);
  (b) ``cit run --quiet`` of the pipeline, end to end.

It reports both wall times and their ratio, and never asserts on timing. Exit status: 0 when
every run succeeded, 1 when one failed, 2 when the benchmark could not start.

    python benchmarks/two_hosts.py [--rounds 3] [--image cit-runner:0.1.0]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SCRIPT = """
import os, socket, time
host = os.environ.get("SM_CURRENT_HOST") or socket.gethostname()
if host == "algo-1":
    server = socket.create_server(("", 7777))
    connection, _ = server.accept()
    connection.recv(16)
else:
    while True:
        try:
            socket.create_connection(("algo-1", 7777), timeout=5).sendall(b"hello")
            break
        except OSError:
            time.sleep(0.05)
open(os.path.join("/opt/ml/model", host + ".txt"), "w").write(host)
"""
PIPELINE = """
name: two-hosts
steps:
  train:
    kind: training
    script: train.py
    inputs: {train: data}
    instance: {type: ml.m5.large, count: 2}
"""


def write_workspace(root: Path) -> Path:
    (root / "train.py").write_text(SCRIPT, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    dag = root / "pipeline.yaml"
    dag.write_text(PIPELINE, encoding="utf-8")
    return dag


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def by_hand(root: Path, image: str) -> float:
    """Seconds for the job done with the docker command line."""
    network = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    if docker("network", "create", "--internal", network).returncode:
        raise RuntimeError(f"docker network create {network} failed")
    try:
        runs = [
            subprocess.Popen(
                host_command(root, image, network, host),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for host in ("algo-1", "algo-2")
        ]
        codes = [run.wait(timeout=300) for run in runs]
    finally:
        docker("network", "rm", network)
    if any(codes):
        raise RuntimeError(f"docker run exited with {codes}")
    return time.perf_counter() - started


def host_command(root: Path, image: str, network: str, host: str) -> list[str]:
    """``docker run`` of one host: its name on the network, the script, channel and model."""
    model = root / "by-hand" / host
    model.mkdir(parents=True, exist_ok=True)
    command = [
        "docker", "run", "--rm", "--pull", "never",
        "--network", network, "--hostname", host, "--network-alias", host,
        "-v", f"{root / 'train.py'}:/opt/ml/code/train.py:ro",
        "-v", f"{root / 'data'}:/opt/ml/input/data/train:ro",
        "-v", f"{model}:/opt/ml/model",
        image, "python3", "/opt/ml/code/train.py",
    ]  # fmt: skip
    return command


def with_cit(root: Path, dag: Path, image: str) -> float:
    """Seconds for ``cit run`` of the pipeline, end to end."""
    cit = Path(sys.executable).with_name("cit")
    command = [str(cit), "run", "--dag", str(dag), "--quiet", "--cit-dir", str(root / ".cit")]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--image", image], capture_output=True, text=True, timeout=600, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"cit run exited with {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", default="cit-runner:0.1.0")
    options = parser.parse_args()
    if docker("image", "inspect", options.image).returncode:
        print(f"image {options.image} is not on the engine", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="cit-two-hosts-"))
    try:
        dag = write_workspace(root)
        by_hand(root, options.image)  # warm-up, untimed
        ratios = []
        for round_ in range(options.rounds):
            if round_ % 2:
                cit = with_cit(root, dag, options.image)
                hand = by_hand(root, options.image)
            else:
                hand = by_hand(root, options.image)
                cit = with_cit(root, dag, options.image)
            ratio = cit / hand
            print(f"round {round_ + 1}: by hand {hand:.2f} s, cit {cit:.2f} s, ratio {ratio:.2f}")
            ratios.append(ratio)
        print(f"two hosts: ratio cit / by hand {statistics.median(ratios):.2f} (median)")
    except RuntimeError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

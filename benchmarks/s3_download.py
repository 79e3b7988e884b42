"""How fast does cit download an S3 prefix, next to ``aws s3 sync`` of the same prefix?

Starts moto's S3 server (``python -m moto.server``) as a separate process on 127.0.0.1, uploads
``--files`` objects holding ``--size-mib`` MiB in total (deterministic bytes and sizes from
``--seed``), then, for N rounds (alternating which goes first), times end to end, each as its
own process:

  (a) cit: ``orchestrator.aws.s3.download("s3://bucket/prefix")`` into a fresh, empty cache folder
      (a cold cache);
  (b) ``aws s3 sync s3://bucket/prefix <folder>`` into a fresh, empty folder (awscli from PyPI).

After both, each round downloads the same prefix with cit again into the now warm cache, which
must send no GetObject at all. Every download is checked against the uploaded bytes (SHA-256 of
every file), untimed. It prints per-round seconds, MB/s and the cit/aws ratio, the medians, the
warm runs, and writes every figure as JSON. Target (from the issue): cit at least as fast as
``aws s3 sync`` (ratio <= 1). It reports; it does not assert on timing. Exit status: 0 when every
download was complete and correct, 1 when one was not, 2 when the benchmark could not start.

    python benchmarks/s3_download.py [--size-mib 1024] [--files 500] [--rounds 3] [--workers N]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "cit-benchmark"
PREFIX = "dataset"
ACCESS_KEY_ID = "benchmark-access-key"
SECRET_ACCESS_KEY = "benchmark-secret-key"
REGION = "us-east-1"
STARTUP_SECONDS = 30.0
DOWNLOAD_TIMEOUT_SECONDS = 3600.0
MB = 1_000_000
DEFAULT_WORKERS = {"cit": 8, "aws": 10}
"""Each tool's own default concurrency: ``S3Settings.workers`` and awscli's
``max_concurrent_requests``; ``--workers`` sets both."""

CIT_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from orchestrator import s3

gets = 0
make_client = s3.create_client

def counted(settings, *args, **kwargs):
    client = make_client(settings, *args, **kwargs)
    def count(**_):
        global gets
        gets += 1
    client.meta.events.register("before-call.s3.GetObject", count)
    return client

s3.create_client = counted
settings = s3.S3Settings(
    cache_dir=sys.argv[3], workers=int(sys.argv[4]), download_timeout_seconds=float(sys.argv[5])
)
started = time.perf_counter()
result = s3.download(sys.argv[2], settings)
seconds = time.perf_counter() - started
print(json.dumps({
    "path": str(result.path), "files": result.files, "bytes": result.bytes,
    "fetched": result.fetched, "cached": result.cached, "gets": gets, "call_seconds": seconds,
}))
"""
"""Runs in its own process: counts GetObject calls and times the ``download`` call itself."""


class BenchmarkError(Exception):
    """A download failed or was not complete and correct."""


class SetupError(BenchmarkError):
    """The benchmark cannot start: a tool is missing, the server does not come up."""


# --- data ---------------------------------------------------------------------------------


def sizes(total: int, files: int, seed: int) -> list[int]:
    """``files`` sizes summing to ``total``, each 0.5 to 1.5 times the mean, from ``seed``."""
    rng = random.Random(seed)
    weights = [0.5 + rng.random() for _ in range(files)]
    scale = total / sum(weights)
    result = [int(w * scale) for w in weights]
    result[-1] += total - sum(result)
    return result


def body(seed: int, index: int, size: int) -> bytes:
    """The bytes of object ``index``: pseudo-random (incompressible), reproducible."""
    return random.Random(seed * 1_000_003 + index).randbytes(size)


def key_name(index: int) -> str:
    """Keys spread over a few sub-folders, as a partitioned dataset would be."""
    return f"{PREFIX}/part={index % 10:02d}/file-{index:05d}.bin"


@dataclass(frozen=True)
class Expected:
    relative: str
    size: int
    sha256: str


def upload(client: Any, args: argparse.Namespace) -> list[Expected]:
    """Create the bucket and put the objects; returns what each download must hold."""
    client.create_bucket(Bucket=BUCKET)
    total = round(args.size_mib * 2**20)

    def put(item: tuple[int, int]) -> Expected:
        index, size = item
        data = body(args.seed, index, size)
        key = key_name(index)
        client.put_object(Bucket=BUCKET, Key=key, Body=data)
        return Expected(key[len(PREFIX) + 1 :], size, hashlib.sha256(data).hexdigest())

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(put, enumerate(sizes(total, args.files, args.seed))))


def verify(tool: str, folder: Path, expected: list[Expected]) -> None:
    """``folder`` must hold exactly the expected files with the expected bytes."""
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    wanted = sorted(e.relative for e in expected)
    if found != wanted:
        extra, missing = set(found) - set(wanted), set(wanted) - set(found)
        raise BenchmarkError(
            f"{tool}: {folder} holds {len(found)} files, expected {len(wanted)} "
            f"(missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]})"
        )
    for item in expected:
        path = folder / item.relative
        with path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        if path.stat().st_size != item.size or digest != item.sha256:
            raise BenchmarkError(f"{tool}: {path} differs from the uploaded object")


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start_server(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server in its own process on loopback; its access log goes to ``log_path``."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not answers(endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise SetupError(f"moto server did not start on {endpoint}: {log_path.read_text()}")
        time.sleep(0.05)
    return process, endpoint


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def environment(endpoint: str, root: Path, workers: int | None) -> dict[str, str]:
    """The children's environment: this server, fake credentials, no user AWS config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    config = root / "aws-config"
    lines = ["[default]", f"region = {REGION}"]
    if workers is not None:
        lines += ["s3 =", f"    max_concurrent_requests = {workers}"]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(root / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def setup_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def count_gets(log_path: Path, start: int) -> tuple[int, int]:
    """GET requests for objects under the prefix in the server's access log since ``start``."""
    with log_path.open("rb") as log:
        log.seek(start)
        text = log.read().decode(errors="replace")
        end = log.tell()
    marker = f'"GET /{BUCKET}/{PREFIX}/'
    return sum(1 for line in text.splitlines() if marker in line), end


# --- the tools ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    tool: str
    round: int
    cache: str
    seconds: float
    """End to end: the process, from start to exit."""
    bytes: int
    gets: int
    """Object GETs the server logged during the run."""
    call_seconds: float | None = None
    """cit only: the ``download`` call itself, without the interpreter's start and imports."""

    @property
    def mb_per_second(self) -> float:
        return self.bytes / MB / self.seconds


def run_cit(
    uri: str, cache: Path, env: dict[str, str], workers: int
) -> tuple[float, dict[str, Any]]:
    command = [
        sys.executable, "-c", CIT_CHILD, str(ROOT), uri, str(cache), str(workers),
        str(DOWNLOAD_TIMEOUT_SECONDS),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchmarkError(f"cit download exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def run_aws(uri: str, target: Path, env: dict[str, str]) -> float:
    command = [
        sys.executable, "-m", "awscli", "s3", "sync", uri, str(target),
        "--endpoint-url", env["AWS_ENDPOINT_URL"], "--only-show-errors", "--no-progress",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchmarkError(f"aws s3 sync exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


@dataclass
class Bench:
    args: argparse.Namespace
    root: Path
    env: dict[str, str]
    log_path: Path
    expected: list[Expected]
    log_offset: int = 0

    @property
    def uri(self) -> str:
        return f"s3://{BUCKET}/{PREFIX}/"

    @property
    def total(self) -> int:
        return sum(e.size for e in self.expected)

    def gets(self) -> int:
        """Object GETs logged since the last call; also flushes dirty pages to disk (untimed).

        The flush keeps the tool going second from paying for writing back the first one's
        files; the one going second is still slower here, hence the ratio by order.
        """
        os.sync()
        found, self.log_offset = count_gets(self.log_path, self.log_offset)
        return found

    def cit(self, number: int, cache: Path, state: str) -> Run:
        workers = self.args.workers or DEFAULT_WORKERS["cit"]
        self.gets()
        seconds, result = run_cit(self.uri, cache, self.env, workers)
        gets = self.gets()
        verify("cit", Path(result["path"]), self.expected)
        if state == "warm" and (result["gets"] or result["fetched"]):
            raise BenchmarkError(
                f"cit: the warm download sent {result['gets']} GetObject "
                f"({result['fetched']} fetched); expected none"
            )
        if state == "cold" and result["fetched"] != len(self.expected):
            raise BenchmarkError(f"cit: a cold download fetched {result['fetched']} objects")
        return Run("cit", number, state, seconds, self.total, gets, result["call_seconds"])

    def aws(self, number: int, target: Path) -> Run:
        self.gets()
        seconds = run_aws(self.uri, target, self.env)
        gets = self.gets()
        verify("aws", target, self.expected)
        return Run("aws", number, "cold", seconds, self.total, gets)


@dataclass(frozen=True)
class Round:
    number: int
    first: str
    cit: Run
    aws: Run
    warm: Run
    load_average: float

    @property
    def ratio(self) -> float:
        return self.cit.seconds / self.aws.seconds


def one_round(bench: Bench, number: int) -> Round:
    """cit (cold cache) and aws (empty folder) in turn, then cit again on the warm cache."""
    folder = bench.root / f"round-{number}"
    cache, target = folder / "cit-cache", folder / "aws-sync"
    target.mkdir(parents=True)
    first = "cit" if number % 2 == 1 else "aws"
    runs: dict[str, Run] = {}
    try:
        for tool in ("cit", "aws") if first == "cit" else ("aws", "cit"):
            runs[tool] = (
                bench.cit(number, cache, "cold") if tool == "cit" else bench.aws(number, target)
            )
        warm = bench.cit(number, cache, "warm")
    finally:
        if not bench.args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    done = Round(number, first, runs["cit"], runs["aws"], warm, os.getloadavg()[0])
    print(
        f"  round {number} ({first} first): cit {done.cit.seconds:.2f} s "
        f"({done.cit.mb_per_second:.0f} MB/s), aws {done.aws.seconds:.2f} s "
        f"({done.aws.mb_per_second:.0f} MB/s), ratio {done.ratio:.2f}; "
        f"cit warm {warm.seconds:.2f} s, {warm.gets} GETs; load {done.load_average:.2f}",
        flush=True,
    )
    return done


# --- report -------------------------------------------------------------------------------


def print_report(rounds: list[Round], bench: Bench) -> dict[str, Any]:
    print()
    header = (
        f"{'round':>5} {'first':<5} {'cit s':>7} {'cit MB/s':>8} {'aws s':>7} {'aws MB/s':>8} "
        f"{'cit/aws':>7} {'cit call s':>10} {'GETs cit/aws':>12} {'warm s':>7} {'warm GETs':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rounds:
        print(
            f"{r.number:>5} {r.first:<5} {r.cit.seconds:>7.2f} {r.cit.mb_per_second:>8.0f} "
            f"{r.aws.seconds:>7.2f} {r.aws.mb_per_second:>8.0f} {r.ratio:>7.2f} "
            f"{r.cit.call_seconds or 0:>10.2f} {f'{r.cit.gets}/{r.aws.gets}':>12} "
            f"{r.warm.seconds:>7.2f} {r.warm.gets:>9}"
        )
    summary = {
        "cit_seconds": statistics.median(r.cit.seconds for r in rounds),
        "aws_seconds": statistics.median(r.aws.seconds for r in rounds),
        "cit_call_seconds": statistics.median(r.cit.call_seconds or 0 for r in rounds),
        "ratio": statistics.median(r.ratio for r in rounds),
        "ratio_cit_first": median_or_none([r.ratio for r in rounds if r.first == "cit"]),
        "ratio_aws_first": median_or_none([r.ratio for r in rounds if r.first == "aws"]),
        "warm_seconds": statistics.median(r.warm.seconds for r in rounds),
        "warm_call_seconds": statistics.median(r.warm.call_seconds or 0 for r in rounds),
        "warm_gets": max(r.warm.gets for r in rounds),
    }
    total = bench.total
    summary["cit_mb_per_second"] = total / MB / summary["cit_seconds"]
    summary["aws_mb_per_second"] = total / MB / summary["aws_seconds"]
    summary["target_met"] = summary["ratio"] <= 1.0
    print(f"(MB = 10^6 bytes; medians over {len(rounds)} rounds; seconds are whole processes)")
    print(
        f"cold: cit {summary['cit_seconds']:.2f} s ({summary['cit_mb_per_second']:.0f} MB/s; "
        f"download call {summary['cit_call_seconds']:.2f} s) vs aws s3 sync "
        f"{summary['aws_seconds']:.2f} s ({summary['aws_mb_per_second']:.0f} MB/s), "
        f"ratio cit/aws {summary['ratio']:.2f}: target <= 1 "
        f"{'met' if summary['target_met'] else 'MISSED'}"
    )
    if summary["ratio_cit_first"] is not None and summary["ratio_aws_first"] is not None:
        print(
            f"ratio by order: {summary['ratio_cit_first']:.2f} with cit first, "
            f"{summary['ratio_aws_first']:.2f} with aws first"
        )
    print(
        f"warm: cit {summary['warm_seconds']:.2f} s (download call "
        f"{summary['warm_call_seconds']:.3f} s), {summary['warm_gets']} object GETs"
    )
    return summary


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def machine() -> dict[str, Any]:
    import boto3
    import moto

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    aws = subprocess.run(
        [sys.executable, "-m", "awscli", "--version"], capture_output=True, text=True, check=False
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        "awscli": (aws.stdout or aws.stderr).strip(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def preflight() -> None:
    missing = {
        "awscli": "pip install awscli",
        "boto3": "pip install -e '.[dev]'",
        "moto": "pip install 'moto[server]>=5'  (or pip install -e '.[dev]')",
        "flask": "pip install 'moto[server]>=5'  (moto's server mode needs flask)",
    }
    for module, how in missing.items():
        if importlib.util.find_spec(module) is None:
            raise SetupError(f"{module} is not installed in {sys.executable}; install it: {how}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=float, default=1024, help="MiB in total (default 1024)")
    parser.add_argument("--files", type=int, default=500, help="objects (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--workers",
        type=int,
        help="concurrent requests for both tools (S3Settings.workers and awscli's "
        "max_concurrent_requests; default: each tool's own, cit 8, aws 10)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated data")
    parser.add_argument(
        "--keep", action="store_true", help="keep the downloaded folders and the server log"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cit-s3-download.json",
        help="where to write the results as JSON (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.files < 1 or args.size_mib <= 0:
        parser.error("--rounds and --files must be at least 1, --size-mib above 0")
    if round(args.size_mib * 2**20) < args.files:
        parser.error("--size-mib is too small for one byte per file")
    if args.workers is not None and not 1 <= args.workers <= 64:
        parser.error("--workers must be 1 to 64 (S3Settings allows no more)")
    return args


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    about = machine()
    print(
        f"{about['cores']} cores, {about['memory_gib']} GiB, {about['platform']}, Python "
        f"{about['python']}, boto3 {about['boto3']}, moto {about['moto']}, {about['awscli']}; "
        f"load {about['load_average']}"
    )
    log_path = root / "moto-server.log"
    process, endpoint = start_server(log_path)
    try:
        started = time.perf_counter()
        try:
            expected = upload(setup_client(endpoint), args)
        except Exception as exc:  # boto3's errors: the server cannot take the data
            raise SetupError(f"cannot upload the data to {endpoint}: {exc}") from exc
        uploaded = time.perf_counter() - started
        total = sum(e.size for e in expected)
        print(
            f"moto server on {endpoint}: {len(expected)} objects, {total / 2**20:.0f} MiB "
            f"uploaded in {uploaded:.1f} s; workers: "
            f"{args.workers or 'each tool its default'}",
            flush=True,
        )
        bench = Bench(args, root, environment(endpoint, root, args.workers), log_path, expected)
        rounds = [one_round(bench, number) for number in range(1, args.rounds + 1)]
    finally:
        stop_server(process)
    summary = print_report(rounds, bench)
    about["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"load average at start {about['load_average']}, at end {about['load_average_at_end']} "
        f"on {about['cores']} cores (the server and the client share them)"
    )
    return {
        "benchmark": "s3_download",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": about,
        "arguments": {
            "size_mib": args.size_mib,
            "files": args.files,
            "rounds": args.rounds,
            "workers": args.workers,
            "workers_used": {t: args.workers or w for t, w in DEFAULT_WORKERS.items()},
            "seed": args.seed,
        },
        "data": {"objects": len(expected), "bytes": total, "upload_seconds": uploaded},
        "rounds": [
            {
                "number": r.number,
                "first": r.first,
                "ratio": r.ratio,
                "load_average": r.load_average,
                **{
                    name: {**asdict(run), "mb_per_second": run.mb_per_second}
                    for name, run in (("cit", r.cit), ("aws", r.aws), ("cit_warm", r.warm))
                },
            }
            for r in rounds
        ],
        "summary": summary,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="cit-s3-download-")).resolve()
    try:
        preflight()
        results = run(args, root)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BenchmarkError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

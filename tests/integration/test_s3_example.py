"""The example pipeline reading its raw data from S3 (a moto server process on loopback):
green, fetched once then served from the cache, mounted read-only, no credentials inside."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs
from ..s3_server import SECRET_ACCESS_KEY, S3Server
from .conftest import EXAMPLE


def cit_run(pipeline: Path, cit_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(pipeline)]
    command += ["--cit-dir", str(cit_dir), "--quiet"]
    env = {**os.environ, "HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def newest_manifest(cit_dir: Path) -> dict[str, Any]:
    newest = max(run_dirs(cit_dir / "runs"), key=lambda p: p.name)
    return dict(json.loads((newest / "manifest.json").read_text()))


def test_example_reads_raw_data_from_s3(
    engine: DockerEngine, runner_image: str, no_leftovers: None, s3_server: S3Server, tmp_path: Path
) -> None:
    raw = {f"raw/{p.name}": p.read_bytes() for p in sorted((EXAMPLE / "data/raw").iterdir())}
    bucket = s3_server.bucket(raw)
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(".cit", "*.snapshots"))
    pipeline = example / "pipeline.yaml"
    text = pipeline.read_text()
    assert "inputs: {raw: data/raw}" in text
    pipeline.write_text(
        text.replace("inputs: {raw: data/raw}", f"inputs: {{raw: s3://{bucket}/raw}}")
    )
    cit_dir, home = tmp_path / ".cit", tmp_path / "home"

    first = cit_run(pipeline, cit_dir, home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"s3://{bucket}/raw: 4 files" in first.stdout
    assert "(4 downloaded, 0 from the cache)" in first.stdout
    manifest = newest_manifest(cit_dir)
    assert manifest["sources"] == {"preprocess.raw": f"s3://{bucket}/raw"}
    (prep,) = [s for s in manifest["steps"] if s["name"] == "preprocess"]
    env = prep["container"]["env"]
    assert not [k for k in env if k.startswith("AWS")], env  # no credentials inside
    mounts = [m for m in prep["container"]["mounts"] if m["target"].endswith("/input/raw")]
    assert mounts and all(m["read_only"] for m in mounts)
    assert SECRET_ACCESS_KEY not in json.dumps(manifest) + first.stdout + first.stderr

    second = cit_run(pipeline, cit_dir, home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "(0 downloaded, 4 from the cache)" in second.stdout

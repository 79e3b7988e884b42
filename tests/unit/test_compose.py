"""compose.yaml: the S3 server for laptops and CI, bound to loopback, with its bucket."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def services() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(data["services"])


def test_s3_listens_on_loopback_only() -> None:
    ports = services()["s3"]["ports"]
    assert "127.0.0.1:9000:9000" in ports and all(p.startswith("127.0.0.1:") for p in ports)


def test_the_bucket_is_made_once_the_server_is_healthy() -> None:
    buckets = services()["s3-buckets"]
    assert buckets["depends_on"]["s3"]["condition"] == "service_healthy"
    assert "mc mb --ignore-existing local/cit-data" in buckets["entrypoint"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_accepts_the_file() -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

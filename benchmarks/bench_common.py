"""What the benchmarks that time the ``cit`` command share: their errors, finding it, and
checking the image is local."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


class BenchmarkError(Exception):
    """A run failed."""


class SetupError(BenchmarkError):
    """The benchmark cannot start: no docker, no image, no cit."""


def cit_command() -> list[str]:
    """The installed ``cit`` console script, beside this interpreter (skips pyenv-style shims)."""
    beside = Path(sys.executable).parent / "cit"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("cit")
    if found is None:
        raise SetupError("no 'cit' command found; install the project (pip install -e .)")
    return [found]


def require_local_image(image: str) -> None:
    """A ``SetupError`` unless the ``docker`` command is here and ``image`` is on the engine."""
    if shutil.which("docker") is None:
        raise SetupError("no 'docker' command on PATH")
    inspected = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, text=True, check=False
    )
    if inspected.returncode != 0:
        raise SetupError(f"image {image} is not on the local engine (this never pulls)")

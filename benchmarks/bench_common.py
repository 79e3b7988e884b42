"""What the benchmarks that time the ``cit`` command share: their errors and finding it."""

from __future__ import annotations

import os
import shutil
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

"""The run directory ``.cit/runs/<run-id>/``: created fresh, written atomically, never reused."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunDirectoryError
from .results import RunResult

if TYPE_CHECKING:
    from .results import RunResult

MANIFEST = "manifest.json"


def new_run_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{secrets.token_hex(3)}"


def create_run_dir(runs_dir: Path, run_id: str) -> Path:
    """Make ``runs_dir/run_id``; refuses to reuse an existing one."""
    path = runs_dir / run_id
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        path.mkdir()
    except FileExistsError:
        raise RunDirectoryError(f"{path} already exists; a run directory is never reused") from None
    except OSError as exc:
        raise RunDirectoryError(f"cannot create {path}: {exc.strerror}") from None
    return path


def read_manifest(run_dir: Path) -> RunResult:
    """The run recorded in ``run_dir/manifest.json``; ``RunDirectoryError`` when it cannot be
    read."""

    path = run_dir / MANIFEST
    try:
        return RunResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"cannot read the run's {path}: {exc}") from None

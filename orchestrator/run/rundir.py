"""The run directory ``.cit/runs/<run-id>/``: created fresh, written atomically, never reused;
``.cit/runs/latest`` names the newest."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunDirectoryError
from .results import RunResult

if TYPE_CHECKING:
    from .results import RunResult

MANIFEST = "manifest.json"
LATEST = "latest"
"""In the runs folder: a symlink to the newest run, or (where the file system has no symlinks)
a file holding its id."""
LATEST_LIMIT = 256


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
    mark_latest(runs_dir, run_id)
    return path


def mark_latest(runs_dir: Path, run_id: str) -> None:
    """Point ``runs_dir/latest`` at ``run_id``, replaced in one step; a file system that refuses
    it leaves the previous one (the run goes on: it is a convenience)."""
    staged = runs_dir / f".{LATEST}-{secrets.token_hex(4)}"
    try:
        try:
            os.symlink(run_id, staged, target_is_directory=True)
        except (OSError, NotImplementedError):
            staged.write_text(run_id + "\n", encoding="utf-8")
        os.replace(staged, runs_dir / LATEST)
    except OSError:
        staged.unlink(missing_ok=True)


def latest_run(runs_dir: Path) -> Path:
    """The run ``runs_dir/latest`` names; ``RunDirectoryError`` when there is none."""
    marker = runs_dir / LATEST
    try:
        if marker.is_symlink():
            name = os.readlink(marker)
        elif marker.is_file():
            with marker.open(encoding="utf-8", errors="replace") as handle:
                name = handle.read(LATEST_LIMIT).strip()
        else:
            raise RunDirectoryError(f"no run under {runs_dir} yet: run one, or name one")
    except OSError as exc:
        raise RunDirectoryError(f"cannot read {marker}: {exc.strerror}") from None
    run_dir = runs_dir / name
    if Path(name).name != name or name in ("", ".", "..") or not run_dir.is_dir():
        raise RunDirectoryError(f"{marker} names '{name}', which is not a run under {runs_dir}")
    return run_dir


def read_manifest(run_dir: Path) -> RunResult:
    """The run recorded in ``run_dir/manifest.json``; ``RunDirectoryError`` when it cannot be
    read."""

    path = run_dir / MANIFEST
    try:
        return RunResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"cannot read the run's {path}: {exc}") from None

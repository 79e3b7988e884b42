"""The run directory ``.cit/runs/<run-id>/``: created fresh, written atomically, never reused."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from .errors import RunDirectoryError

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


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(partial, path)


def write_text_files(files: dict[Path, str]) -> None:
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")

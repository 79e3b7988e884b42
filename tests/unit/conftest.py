"""Helpers for unit tests: pipelines written to a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with two scripts and a data folder that pipelines can point at."""
    (tmp_path / "scripts").mkdir()
    for name in ("prep.py", "train.py", "evaluate.py"):
        (tmp_path / "scripts" / name).write_text("print('hello')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a,b\n1,2\n")
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path

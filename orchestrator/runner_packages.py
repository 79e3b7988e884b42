"""What cit's runner image holds: its build files (``Dockerfile.runner``, ``runner_image/``)
and the packages ``runner_image/requirements.txt`` pins, the one declared source of the
runner's Python and framework versions."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ImageBuildError

PYTHON_VERSION = "3.11"
DOCKERFILE_NAME = "Dockerfile.runner"
RUNNER_DIR_NAME = "runner_image"


def locate_build_files() -> tuple[Path, Path]:
    """Return ``(Dockerfile.runner, runner_image/)``: packaged in the wheel, else the repo root."""
    package_dir = Path(__file__).resolve().parent  # the orchestrator package
    for root in (package_dir / "_build_files", package_dir.parent):
        dockerfile = root / DOCKERFILE_NAME
        runner_dir = root / RUNNER_DIR_NAME
        if dockerfile.is_file() and (runner_dir / "requirements.txt").is_file():
            return dockerfile, runner_dir
    raise ImageBuildError(
        f"cannot find {DOCKERFILE_NAME} and {RUNNER_DIR_NAME}/requirements.txt "
        f"next to {package_dir}; reinstall cit"
    )


def runner_image_packages() -> dict[str, str]:
    """The packages ``runner_image/requirements.txt`` pins (``name==version``), and Python;
    empty when cit's build files cannot be found."""
    try:
        _, runner_dir = locate_build_files()
        text = (runner_dir / "requirements.txt").read_text(encoding="utf-8")
    except (ImageBuildError, OSError, UnicodeDecodeError):
        return {}
    packages = {"python": PYTHON_VERSION}
    for line in text.splitlines():
        name, sep, version = line.partition("#")[0].strip().partition("==")
        if sep and name and version:
            packages[package_key(name)] = version.strip()
    return packages


def package_key(name: str) -> str:
    """A package name as pip compares them (``Scikit_Learn[extra]`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name.partition("[")[0].strip()).lower()

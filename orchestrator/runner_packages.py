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
_BARE_VERSION = re.compile(r"^v?[0-9]")


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
    return {"python": PYTHON_VERSION, **pins_of(text)}


def shipped_pins(constraints: Path) -> dict[str, str]:
    """``name -> version`` of the ``name==version`` lines of the pins file ``constraints``."""
    return pins_of(constraints.read_text(encoding="utf-8"))


def pins_of(text: str) -> dict[str, str]:
    """``name -> version`` of the ``name==version`` lines of a requirements text; comments,
    blank lines and lines that pin nothing are skipped."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.partition("#")[0].strip().partition("==")
        if sep and name.strip() and version.strip():
            pins[package_key(name)] = version.strip()
    return pins


def satisfies(version: str, specifier: str) -> bool | None:
    """Whether ``version`` meets every clause of a specifier such as ``>=1.3,<2`` by the rules
    pip follows (PEP 440: pre-releases, ``~=``, ``==1.2.*``); a bare version means ``==``. A
    pre-release counts as installed, so ``2.0rc1`` meets ``>=1``. None when the version or a
    clause cannot be read, or the specifier is empty."""
    # deferred: packaging costs ~10 ms, and this module is on the path of every cit command
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    clauses = [clause.strip() for clause in specifier.split(",") if clause.strip()]
    if not clauses:
        return None
    clauses = [f"=={c}" if _BARE_VERSION.match(c) else c for c in clauses]
    try:
        return SpecifierSet(",".join(clauses)).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return None


def package_key(name: str) -> str:
    """A package name as pip compares them (``Scikit_Learn[extra]`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name.partition("[")[0].strip()).lower()

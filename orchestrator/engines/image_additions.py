"""Packages added on top of the runner image: a thin layer over the runner, its own tag.

The additions' wheels are downloaded on the host, held to the shipped pins, into the wheel
cache (once per set of additions); only the wheels the runner does not already hold go into
the layer, which pip installs with ``--no-index``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImageBuildError, InputError
from ..runner_packages import locate_build_files, package_key, satisfies, shipped_pins
from .image_build import (
    ImageTools,
    OnLine,
    RequestedMode,
    build_runner_image,
    cached_wheels,
    default_cache_dir,
    split_ref,
)

ADDITIONS_DOCKERFILE = "Dockerfile.additions"
ADDITIONS_LABEL = "io.cit.additions"
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?\s*([<>=!~].*)?$")
_DOCKERFILE_TEXT = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG ADDITIONS=""
LABEL io.cit.additions="${ADDITIONS}"
COPY additions.txt constraints.txt /tmp/cit-additions/
COPY wheels/ /tmp/cit-additions/wheels/
RUN python3 -m pip install --no-cache-dir --no-index --disable-pip-version-check \\
        --find-links=/tmp/cit-additions/wheels \\
        -r /tmp/cit-additions/additions.txt -c /tmp/cit-additions/constraints.txt \\
    && rm -rf /tmp/cit-additions
"""


@dataclass(frozen=True)
class Additions:
    """Requirement lines to install on top of the shipped pins, sorted and deduplicated."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:10]


def read_additions(packages: Sequence[str], files: Sequence[Path]) -> Additions:
    """The ``--add PKG==VER`` values and the lines of ``--add-requirements`` files, checked."""
    lines: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--add-requirements {file}: cannot read it ({exc})") from None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.partition("#")[0].strip()
            if line:
                lines.append(_checked(line, f"{file}:{number}"))
    lines += [_checked(package.strip(), "--add") for package in packages]
    if not lines:
        raise InputError("--add / --add-requirements: no package named")
    return Additions(tuple(sorted(set(lines), key=str.lower)))


def _checked(line: str, where: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    problem = "" if _REQUIREMENT.match(line) else "not a package with a version specifier"
    if not problem:
        try:
            Requirement(line)  # as pip reads it: "numpy~=2" and "numpy=1" are not requirements
        except InvalidRequirement as exc:
            problem = str(exc).splitlines()[0]
    if problem:
        raise InputError(
            f"{where}: {line!r} is not a requirement ({problem}); write one package per line "
            "as NAME, NAME==VERSION or NAME>=VERSION (no pip options)"
        )
    return " ".join(line.split())


def check_against_pins(additions: Additions, pins: dict[str, str]) -> None:
    """An ``InputError`` naming the shipped pin an addition cannot agree with (``numpy==1.0.0``
    while the runner ships ``numpy==1.26.4``), before anything is downloaded: pip would say
    so in a page of resolver text. A specifier cit cannot read is left to pip."""
    for line in additions.lines:
        name, _, wanted = _split_requirement(line)
        pinned = pins.get(package_key(name))
        if pinned is not None and satisfies(pinned, wanted) is False:
            raise InputError(
                f"--add {line}: the runner ships {name}=={pinned} "
                "(runner_image/requirements.txt) and an addition must agree with the shipped "
                f"pins: add {name} without a version, or build from your own --requirements"
            )


def _split_requirement(line: str) -> tuple[str, str, str]:
    """``NAME[extras] SPEC`` as name, extras and specifier."""
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$", line)
    assert match is not None  # the line passed ``_checked``
    return match.group(1), match.group(2) or "", match.group(3)


def derived_tag(base_tag: str, additions: Additions) -> str:
    """The tag of ``base_tag`` plus ``additions``: ``cit-runner:0.1.0-add-<hash>``."""
    repository, tag = split_ref(base_tag)
    return f"{repository}:{tag}-add-{additions.digest}"


def pinned_wheel(wheel: Path, pins: dict[str, str]) -> bool:
    """Whether ``wheel`` is a package at the version the runner already holds."""
    name, _, rest = wheel.name.partition("-")
    version = rest.partition("-")[0]
    return pins.get(package_key(name)) == version


def prepare_additions_context(
    context: Path, additions: Additions, constraints: Path, wheels: Path
) -> Path:
    """The build context: the thin Dockerfile, the additions, the pins and the new wheels."""
    wheel_dir = context / "wheels"
    wheel_dir.mkdir(parents=True)
    (wheel_dir / ".keep").touch()
    (context / ADDITIONS_DOCKERFILE).write_text(_DOCKERFILE_TEXT)
    (context / "additions.txt").write_text(additions.text)
    shutil.copy2(constraints, context / "constraints.txt")
    pins = shipped_pins(constraints)
    for wheel in sorted(wheels.glob("*.whl")):
        if not pinned_wheel(wheel, pins):
            shutil.copy2(wheel, wheel_dir / wheel.name)
    return context


def build_with_additions(
    tools: ImageTools,
    *,
    base_tag: str,
    additions: Additions,
    tag: str | None = None,
    mode: RequestedMode = "auto",
    cache_dir: Path | None = None,
    on_line: OnLine,
) -> str:
    """Build ``base_tag`` plus ``additions`` as ``tag`` (derived when None); return the tag.
    The runner is built first when the engine lacks it."""
    target = tag or derived_tag(base_tag, additions)
    _, runner_dir = locate_build_files()
    constraints = runner_dir / "requirements.txt"
    check_against_pins(additions, shipped_pins(constraints))
    if not tools.image_exists(base_tag):
        on_line(f"{base_tag} is not built yet: building it first")
        build_runner_image(tools, tag=base_tag, mode=mode, cache_dir=cache_dir, on_line=on_line)
    cache = cache_dir or default_cache_dir()
    folder = cache / "additions" / additions.digest
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "additions.txt"
    requirements.write_text(additions.text)
    wheels = cached_wheels(requirements, cache, tools.architecture(), on_line, constraints)
    on_line(f"adding {', '.join(additions.lines)} on top of {base_tag}")
    with tempfile.TemporaryDirectory(dir=cache, prefix="context-") as scratch:
        context = prepare_additions_context(
            Path(scratch) / "context", additions, constraints, wheels
        )
        buildargs = {"BASE_IMAGE": base_tag, "ADDITIONS": " ".join(additions.lines)}
        try:
            tools.build(context, ADDITIONS_DOCKERFILE, target, buildargs, on_line)
        except ImageBuildError as exc:
            raise ImageBuildError(
                f"{exc}; every added package needs a cp311 manylinux or pure-Python wheel "
                "that agrees with the runner's pins (runner_image/requirements.txt)"
            ) from exc
    return target

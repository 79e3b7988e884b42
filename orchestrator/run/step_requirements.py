"""A training step's ``requirements.txt``, installed before its entry point as SageMaker's
framework containers do (the training toolkit runs ``pip install -r requirements.txt``).

A step has no network, so the wheels are fetched on the host first (``pip download`` for the
runner's Python and architecture, once per file content, into the wheel cache) and the
container installs them from that folder, mounted read-only, with ``--no-index``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..engines.image_build import (
    RUNNER_IMAGE_REPOSITORY,
    OnLine,
    cached_wheels,
    default_cache_dir,
    host_arch,
    split_ref,
)
from ..errors import CitError, ImageBuildError
from ..pipeline.model import Step, StepKind
from ..pipeline.sagemaker_paths import TRAINING_CODE

REQUIREMENTS_FILE = "requirements.txt"
WHEELS_MOUNT = "/opt/cit/wheels"
INSTALL_THEN_RUN = (
    f'echo "cit: installing {REQUIREMENTS_FILE} (wheels fetched on the host)"; '
    "python3 -m pip install --no-index --no-cache-dir --disable-pip-version-check "
    f"--no-warn-script-location --find-links={WHEELS_MOUNT} "
    f'-r {TRAINING_CODE}/{REQUIREMENTS_FILE} || exit $?; exec "$@"'
)
"""The shell line a step with requirements runs first; the step's own command follows."""


def requirements_of(step: Step, default_image: str) -> Path | None:
    """The ``requirements.txt`` a training step's ``source_dir`` holds, when its image is a
    cit runner (another image installs them itself, or not)."""
    if step.kind is not StepKind.TRAINING or not step.script_mode or step.source_dir is None:
        return None
    if split_ref(step.image or default_image)[0] != RUNNER_IMAGE_REPOSITORY:
        return None
    path = step.source_dir / REQUIREMENTS_FILE
    return path if path.is_file() else None


def fetch_step_wheels(
    steps: Iterable[Step],
    default_image: str,
    on_line: OnLine,
    cache_dir: Path | None = None,
) -> Mapping[str, Path]:
    """Step name -> the cached wheel folder of its ``requirements.txt`` (fetched once per
    content); a ``CitError`` naming the step and file when pip cannot fetch them."""
    folders: dict[str, Path] = {}
    for step in steps:
        requirements = requirements_of(step, default_image)
        if requirements is None:
            continue
        on_line(f"step '{step.name}': wheels for {requirements}")
        try:
            folders[step.name] = cached_wheels(
                requirements, cache_dir or default_cache_dir(), host_arch(), on_line
            )
        except ImageBuildError as exc:
            raise CitError(
                f"step '{step.name}': cannot fetch the wheels of {requirements} on the host "
                f"({exc}); every package needs a wheel for CPython 3.11 on Linux"
            ) from None
    return folders

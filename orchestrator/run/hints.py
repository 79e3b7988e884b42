"""What cit can tell about why a step failed, and how to fix it: pure functions over the step's
result and its inputs. A hint is one line; a step gets none when nothing points at a cause.

- ``ModuleNotFoundError: No module named 'x'`` in the step's log: the package is not in the
  image (or, for ``a.b``, a version other than the one the code or a pickled model expects);
- a failed step reading a training step's ``model.tar.gz`` (SageMaker hands the archive, not
  the model files): extract it before loading. Only when no other cause is known;
- a step whose container was kept (``--keep-on-failure``): how to get inside, and rid of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..engines.base import PROCESS_IMAGE_ID
from ..pipeline.model import MODEL_OUTPUT, LocalSource, Step, StepKind, StepOutput
from .results import Status, StepResult
from .settings import RUNNER_IMAGE

MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
ARCHIVE_SUFFIX = ".tar.gz"
PACKAGE_NAMES = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python-headless",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
}
"""Import names whose package on PyPI is called something else."""


@dataclass(frozen=True)
class ArchiveInput:
    """An input of a step that is a model archive, as SageMaker hands it on."""

    channel: str
    producer: str | None
    """The training step whose model.tar.gz it is; None for an archive given as a file."""
    name: str = "model.tar.gz"


def archive_inputs(step: Step, steps: Mapping[str, Step]) -> list[ArchiveInput]:
    """The inputs of ``step`` that are model archives: a training step's ``model`` output
    (``steps`` has the producers), or a local file or fetched URI ending in .tar.gz."""
    found = []
    for channel, item in step.inputs.items():
        source = item.source
        if isinstance(source, StepOutput):
            producer = steps.get(source.step)
            trained = producer is not None and producer.kind is StepKind.TRAINING
            if trained and source.output == MODEL_OUTPUT:
                found.append(ArchiveInput(channel, source.step))
        elif isinstance(source, LocalSource):
            where = source.origin or source.path.name
            if where.endswith(ARCHIVE_SUFFIX):
                found.append(ArchiveInput(channel, None, where.rsplit("/", 1)[-1]))
    return found


def step_hints(result: StepResult, archives: Sequence[ArchiveInput] = ()) -> list[str]:
    """The hints for a step that did not succeed: a missing module, else its model archives."""
    if not result.status.broke:
        return []
    module = missing_module(result.log_tail)
    if module is not None:
        return [module_hint(module, result)]
    if result.status is Status.FAILED:
        return [archive_hint(archive) for archive in archives]
    return []


def missing_module(log: Sequence[str]) -> str | None:
    """The module of the last ``ModuleNotFoundError`` in ``log``, if any."""
    for line in reversed(log):
        match = MISSING_MODULE.search(line)
        if match:
            return match.group(1)
    return None


def module_hint(module: str, result: StepResult) -> str:
    """How to get ``module`` where the step runs."""
    top = module.split(".")[0]
    package = PACKAGE_NAMES.get(top, top)
    if "." in module:
        return (
            f"module '{module}' is missing though '{top}' may be installed: the version of "
            f"'{package}' where the step runs is not the one its code (or a model it unpickles) "
            f"was written for; pin that version ({package}==...)"
        )
    if result.image_id == PROCESS_IMAGE_ID:
        return (
            f"module '{module}' is not installed in the Python that runs the script in process "
            f"isolation: pip install {package} there, or run the case in a container"
        )
    if result.image in (None, RUNNER_IMAGE):
        return (
            f"module '{module}' is not in the runner image {RUNNER_IMAGE}: add it with "
            f"'cit image build --add {package}' and run on the image it names (--image), list "
            "it in a training step's source_dir/requirements.txt, or give the step an image "
            "that has it (image:)"
        )
    return (
        f"module '{module}' is not in the step's image {result.image}: add {package} to that "
        "image, or give the step one that has it (image:)"
    )


def archive_hint(archive: ArchiveInput) -> str:
    """Say that an input is an archive to extract, not the model's files."""
    if archive.producer is None:
        what = f"input '{archive.channel}' is a model archive ({archive.name})"
    else:
        what = f"input '{archive.channel}' is training step '{archive.producer}''s model.tar.gz"
    return (
        f"{what}, as SageMaker hands a trained model on; extract it (tarfile) before loading "
        "the model"
    )


def kept_hint(result: StepResult, run_id: str) -> list[str]:
    """How to look inside the container kept after ``result``'s step failed."""
    if result.kept_container is None:
        return []
    return [
        f"its container is kept (stopped) as {result.kept_container}: 'cit shell {run_id} "
        f"{result.name}' opens a shell with the step's image, mounts, env and user; "
        "'cit clean' removes it"
    ]

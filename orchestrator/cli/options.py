"""Options that more than one command takes, each declared once; choices are the library's own
types (``ReportFormat``, ``Isolation``), so the command line offers what the library accepts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..engines.base import Isolation
from ..report.formats import ReportFormat
from ..run.settings import RUNNER_IMAGE

if TYPE_CHECKING:
    from ..pipeline.sagemaker_definition import DefinitionOptions

Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print a summary as one JSON object on stdout (run id, verdict, report paths, "
        "counts); everything else goes to stderr.",
    ),
]

CpuOnly = Annotated[
    bool,
    typer.Option(
        "--cpu-only",
        help="Run steps on GPU instance types (ml.g*, ml.p*) without GPUs (SM_NUM_GPUS=0, a "
        "note in their log) when the engine has none, instead of refusing (CIT_CPU_ONLY=1).",
    ),
]

Dag = Annotated[
    Path,
    typer.Option(
        "--dag",
        help="Pipeline file: Python (.py), YAML, or a SageMaker pipeline definition (.json).",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="NAME=VALUE",
        help="With a SageMaker pipeline definition: set its pipeline parameter NAME (an s3:// "
        "URI or a local path for an input; a number, true/false or text as its Type says). "
        "Repeat for each.",
    ),
]
CodeDir = Annotated[
    Path | None,
    typer.Option(
        "--code-dir",
        help="With a SageMaker pipeline definition: the folder holding the scripts its code "
        "URIs name (default: the definition's folder, then its scripts/ and code/).",
    ),
]
ImageMap = Annotated[
    list[str] | None,
    typer.Option(
        "--image-map",
        metavar="URI_OR_PREFIX=LOCAL_IMAGE",
        help="With a SageMaker pipeline definition: run the steps whose ImageUri or "
        "TrainingImage is URI_OR_PREFIX (or starts with it) on LOCAL_IMAGE. Repeat for each.",
    ),
]
SkipStep = Annotated[
    list[str] | None,
    typer.Option(
        "--skip-step",
        metavar="NAME",
        help="With a SageMaker pipeline definition: leave step NAME out, and every step that "
        "needs it; they are reported as skipped. Repeat for each.",
    ),
]
SkipUnsupported = Annotated[
    bool,
    typer.Option(
        "--skip-unsupported",
        help="With a SageMaker pipeline definition: leave out the steps of a type cit does not "
        "run (Transform, RegisterModel, Lambda, ...) and every step that needs them, instead of "
        "refusing the definition; they are reported as skipped.",
    ),
]
Image = Annotated[
    str | None,
    typer.Option(
        help=f"Default image of steps that name none (default: CIT_IMAGE, else "
        f"execution.container_image of the configuration, else {RUNNER_IMAGE})."
    ),
]
CitDir = Annotated[
    Path | None,
    typer.Option(
        help="Where run directories are written, under runs/ (default: CIT_DIR, else "
        "execution.cit_dir of the configuration, else .cit)."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream step logs.")]
Formats = Annotated[
    list[ReportFormat] | None,
    typer.Option(
        "--format",
        help="Also write the report as junit (report.xml) or html (report.html) in the run "
        "directory; report.json is always written (default: CIT_FORMAT, else "
        "reporting.formats of the configuration).",
    ),
]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: CIT_CONFIG, else the nearest cit.yaml, cit.yml or "
        "pyproject.toml with \\[tool.cit] here or above); its s3_integration section sets the S3 "
        "timeout, retries, cache folder, default bucket and clean-up.",
    ),
]
UpdateSnapshots = Annotated[
    bool,
    typer.Option(
        "--update-snapshots",
        help="Store each output's captured schema as the golden snapshot next to the pipeline.",
    ),
]
KeepOnFailure = Annotated[
    bool,
    typer.Option(
        "--keep-on-failure",
        help="Leave the container of a step that fails, stopped and labelled, to look inside "
        "('cit shell STEP' opens a shell like it, 'docker cp' reaches its files); 'cit clean' "
        "removes it.",
    ),
]
DebugPort = Annotated[
    list[str] | None,
    typer.Option(
        "--debug-port",
        metavar="STEP=PORT",
        help="Publish PORT of step STEP's container on the host's 127.0.0.1:PORT, for a "
        "debugger (that step gets a network; the others keep none). Repeat for each step.",
    ),
]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Run every step, even one whose code, image, inputs and settings are unchanged "
        "since an earlier run (whose outputs it would otherwise take from the step cache).",
    ),
]
OutputReport = Annotated[
    Path | None, typer.Option(help="Also write the result as JSON to this file.")
]
Contract = Annotated[
    Path | None, typer.Option(help="Contract of a script file (mounts and outputs).")
]
IsolationChoice = Annotated[
    Isolation | None,
    typer.Option(
        help="container or process (default: CIT_ISOLATION, else execution.isolation_mode of "
        "the configuration, else container)."
    ),
]


def definition_of(
    params: list[str] | None,
    code_dir: Path | None,
    image_map: list[str] | None = None,
    skip_steps: list[str] | None = None,
    skip_unsupported: bool = False,
) -> DefinitionOptions:
    """--param, --code-dir, --image-map, --skip-step and --skip-unsupported, checked
    (NAME=VALUE, an existing folder, URI_OR_PREFIX=LOCAL_IMAGE) where the command starts; an
    ``InputError`` otherwise."""
    # late: the definition reader is loaded by a command that runs, never by cit --help
    from ..pipeline.sagemaker_definition import definition_options

    return definition_options(params or [], code_dir, image_map, skip_steps, skip_unsupported)

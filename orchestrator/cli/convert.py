"""``cit import sagemaker``: a SageMaker pipeline definition converted into cit's own YAML, for
a user who keeps and edits it.

The command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import CitError, InputError
from . import options
from .command import console, emit_summary, say, user_errors
from .help import group

if TYPE_CHECKING:
    from ..pipeline.model import SkippedStep

import_app = group("Convert a pipeline written for another tool into cit's own YAML.", "import")

STDOUT = Path("-")
YAML_NAMES = (".yaml", ".yml")


def import_sagemaker(
    definition: Annotated[
        Path,
        typer.Argument(
            metavar="DEFINITION",
            help="A SageMaker pipeline definition (.json, as Pipeline.definition() returns), "
            "or a .py file that builds a pipeline with the SageMaker SDK.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The YAML file to write (.yaml or .yml), or - for standard output.",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the output file if it exists.")
    ] = False,
    param: options.Params = None,
    code_dir: options.CodeDir = None,
    image_map: options.ImageMap = None,
    skip_step: options.SkipStep = None,
    skip_unsupported: options.SkipUnsupported = False,
    json_output: options.Json = False,
) -> None:
    """Convert a SageMaker pipeline (definition or SDK file) into cit's YAML, to keep and edit.

    Paths in the YAML are relative to the output file's folder."""
    from ..files import write_text_atomic
    from ..pipeline.loader import JSON_SUFFIXES, PYTHON_SUFFIXES, load_pipeline
    from ..pipeline.sagemaker_sdk import imports_sagemaker
    from ..pipeline.yaml_writer import UnwritableField, pipeline_yaml

    with user_errors():
        loading = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        if output == STDOUT and json_output:
            raise CitError("--json and --output -: both write to standard output; give a file")
        if output != STDOUT:
            check_target(output, force)
        suffix = definition.suffix.lower()
        sdk_file = suffix in PYTHON_SUFFIXES and (
            not definition.is_file() or imports_sagemaker(definition)
        )
        if not (suffix in JSON_SUFFIXES or sdk_file):
            raise InputError(
                "is not a SageMaker pipeline: give its definition (a .json file, as "
                "Pipeline.definition() returns) or a .py file that builds it with the SDK",
                file=definition,
            )
        pipeline = load_pipeline(definition, definition=loading)
        target = Path("pipeline.yaml") if output == STDOUT else output
        try:
            text = pipeline_yaml(pipeline, target)
        except UnwritableField as exc:
            raise InputError(exc.message, file=definition, field=exc.field) from None
        text = header(definition, target, pipeline.skipped) + text
        if output == STDOUT:
            typer.echo(text, nl=False)
            return
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            raise CitError(f"--output: {output}: cannot be written: {exc.strerror}") from None
    steps = len(pipeline.steps)
    say(f"wrote {output}: pipeline '{pipeline.name}', {steps} step{'s' * (steps != 1)}")
    console.print(f"run it with: cit run --dag {output}", highlight=False, soft_wrap=True)
    emit_summary("import sagemaker", files=[str(output)], details={"steps": steps})


def header(definition: Path, target: Path, skipped: Sequence[SkippedStep] = ()) -> str:
    """The comment at the top of the file written: where it came from, what it is, and the
    steps of the definition it leaves out."""
    source = os.path.relpath(definition.resolve(), Path(os.path.abspath(target)).parent.resolve())
    left_out = "".join(
        " ".join(f"# Left out: {step.name} ({step.kind}): {step.reason}".split()) + "\n"
        for step in skipped
    )
    return (
        f"# A cit pipeline (docs/pipeline-format.md), converted from the SageMaker pipeline\n"
        f"# {Path(source).as_posix()} by `cit import sagemaker`.\n" + left_out
    )


def check_target(output: Path, force: bool) -> None:
    """The output is a new .yaml file in a folder that exists, or (with --force) a file."""
    if output.suffix.lower() not in YAML_NAMES:
        raise CitError(f"--output: {output}: give a .yaml or .yml file, the kind cit run reads")
    try:
        mode = output.stat().st_mode
    except FileNotFoundError:
        if not output.parent.is_dir():
            raise CitError(f"--output: {output}: no such folder {output.parent}") from None
        return
    except OSError as exc:
        raise CitError(f"--output: {output}: cannot be checked: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise CitError(f"--output: {output}: exists and is not a file; choose another name")
    if not force:
        raise CitError(
            f"--output: {output}: exists; choose another name, it is left as is "
            "(--force overwrites it)"
        )

"""The ``cit`` command line: the typer app, its commands (each a few calls into the library,
in the modules named for what they hold), and ``main``; errors become exit 2."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from .._version import __version__
from ..engines.image_build import RequestedMode
from ..errors import CitError
from ..run.settings import RUNNER_IMAGE
from ..terminal_text import markup_safe
from ..verdict import EXIT_INTERRUPTED
from . import options
from .command import (
    STOP_SIGNALS,
    console,
    docker,
    emit_summary,
    errors,
    image_builder,
    say,
    user_errors,
)
from .convert import import_app, import_sagemaker
from .data import generate_data_command
from .help import CONTEXT_SETTINGS, add, group
from .render import history, report_command
from .run import run, test_flow_command, validate_contracts_command
from .scripts import test_s3_command, test_script_command
from .suite import test_all_command

app = group(
    "Run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.",
    "cit",
    name="cit",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
)
image_app = group("The runner image.", "image")
app.add_typer(image_app, name="image")
app.add_typer(import_app, name="import")


def show_version(value: bool) -> None:
    if value:
        console.print(__version__)
        raise typer.Exit()


@app.callback()
def cit(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print cit's version and exit."
        ),
    ] = False,
) -> None:
    """Run SageMaker pipeline scripts in SageMaker-like containers, in DAG order."""


def image_build(
    tag: Annotated[str, typer.Option(help="Image tag.")] = RUNNER_IMAGE,
    mode: Annotated[
        RequestedMode,
        typer.Option(help="registry: FROM a Python base image; bootstrap: from Debian."),
    ] = "auto",
    requirements: Annotated[
        Path | None, typer.Option(help="Python requirements file instead of the shipped one.")
    ] = None,
    json_output: options.Json = False,
) -> None:
    """Build the SageMaker-like runner image, with or without a container registry."""
    with user_errors():
        if requirements is not None and not requirements.is_file():
            raise CitError(f"--requirements: no such file: {requirements}")
        image_builder(docker(), mode, requirements)(tag)
        console.print(f"[green]built {markup_safe(tag)}[/]")
    emit_summary("image build", details={"image": tag})


def clean(
    force: Annotated[
        bool, typer.Option("--force", help="Also remove containers of cit runs still going.")
    ] = False,
    json_output: options.Json = False,
) -> None:
    """Remove containers that an interrupted or killed cit left behind (found by label)."""
    from ..engines.cleanup import sweep_orphans  # deferred: only cit clean needs it
    with user_errors():
        removed = sweep_orphans(docker(), include_live=force)
    for name in removed:
        say(f"removed {name}")
    console.print(f"{len(removed)} container(s) removed")
    emit_summary("clean", details={"removed": removed})


def version(json_output: options.Json = False) -> None:
    """Print cit's version."""
    console.print(__version__)
    emit_summary("version")


commands: dict[str, Callable[..., None]] = {
    "run": run,
    "test-flow": test_flow_command,
    "validate-contracts": validate_contracts_command,
    "test-script": test_script_command,
    "test-s3": test_s3_command,
    "generate-data": generate_data_command,
    "test-all": test_all_command,
    "report": report_command,
    "history": history,
    "clean": clean,
    "version": version,
}
for path, function in commands.items():
    add(app, path, function)
add(image_app, "image build", image_build)
add(import_app, "import sagemaker", import_sagemaker)


def main() -> None:
    # Everything imported so far lives until exit: keep the collector from walking it again.
    gc.freeze()
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        # The work is done: a late Ctrl-C must not replace the exit code with a signal death.
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        _quiet_closed_stdout()


def _quiet_closed_stdout() -> None:
    """`cit run | head` closes stdout early: that is no error worth a traceback at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

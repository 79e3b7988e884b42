"""The ``cit`` command line: the typer app, its commands (each a few calls into the library,
in the modules named for what they hold), and ``main``; errors become exit 2."""

from __future__ import annotations

import gc
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._version import __version__
from ..engines.image_additions import read_additions
from ..engines.image_build import RequestedMode, image_key
from ..errors import CitError
from ..run.settings import RUNNER_IMAGE
from ..terminal_text import markup_safe
from ..verdict import EXIT_INTERRUPTED
from .command import (
    STOP_SIGNALS,
    additions_builder,
    console,
    docker,
    errors,
    image_builder,
    say,
    user_errors,
)
from .convert import import_app
from .data import generate_data_command
from .render import history, report_command
from .run import run, test_flow_command, validate_contracts_command
from .scripts import test_s3_command, test_script_command
from .suite import test_all_command

app = typer.Typer(
    name="cit",
    help="Run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
image_app = typer.Typer(help="The runner image.", no_args_is_help=True)
app.add_typer(image_app, name="image")
app.add_typer(import_app, name="import")

app.command()(run)
app.command("test-flow")(test_flow_command)
app.command("validate-contracts")(validate_contracts_command)
app.command("test-script")(test_script_command)
app.command("test-s3")(test_s3_command)
app.command("generate-data")(generate_data_command)
app.command("test-all")(test_all_command)
app.command("report")(report_command)
app.command()(history)


@image_app.command("build")
def image_build(
    tag: Annotated[
        str | None,
        typer.Option(help=f"Image tag (default {RUNNER_IMAGE}; with --add, one derived from it)."),
    ] = None,
    mode: Annotated[
        RequestedMode,
        typer.Option(help="registry: FROM a Python base image; bootstrap: from Debian."),
    ] = "auto",
    requirements: Annotated[
        Path | None, typer.Option(help="Python requirements file instead of the shipped one.")
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PKG",
            help="A package to add on top of the shipped pins (NAME==VERSION); repeat.",
        ),
    ] = None,
    add_requirements: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE", help="A requirements file whose packages are added on top of the pins."
        ),
    ] = None,
) -> None:
    """Build the SageMaker-like runner image, with or without a container registry."""
    with user_errors():
        if requirements is not None and not requirements.is_file():
            raise CitError(f"--requirements: no such file: {requirements}")
        if add or add_requirements:
            if requirements is not None:
                raise CitError(
                    "--requirements replaces the shipped pins and --add/--add-requirements add "
                    "to them: use one or the other"
                )
            additions = read_additions(add or [], add_requirements or [])
            built = additions_builder(docker(), mode)(additions, tag)
            shown = markup_safe(built)
            console.print(
                f"[green]built {shown}[/]: run with --image {shown} or a step's image:",
                soft_wrap=True,
            )
            return
        image_builder(docker(), mode, requirements)(tag or RUNNER_IMAGE)
        console.print(f"[green]built {markup_safe(tag or RUNNER_IMAGE)}[/]")


@image_app.command("key")
def image_key_command(
    requirements: Annotated[
        Path | None, typer.Option(help="The requirements file the image is built from.")
    ] = None,
) -> None:
    """Print a key that changes whenever the runner image would (for a CI cache)."""
    with user_errors():
        if requirements is not None and not requirements.is_file():
            raise CitError(f"--requirements: no such file: {requirements}")
        print(image_key(requirements))


@app.command()
def clean(
    force: Annotated[
        bool, typer.Option("--force", help="Also remove containers of cit runs still going.")
    ] = False,
) -> None:
    """Remove containers (found by label), and host processes and their scratch folders (found
    by marker), that an interrupted or killed cit left behind."""
    from ..engines.cleanup import sweep_orphans  # deferred: only cit clean needs them
    from ..engines.process_guard import sweep_leftovers

    folders = sweep_leftovers(include_live=force)
    for folder in folders:
        say(f"removed {folder}")
    with user_errors():
        removed = sweep_orphans(docker(), include_live=force)
    for name in removed:
        say(f"removed {name}")
    left = f" and {len(folders)} process folder(s)" if folders else ""
    console.print(f"{len(removed)} container(s){left} removed")


@app.command()
def version() -> None:
    """Print cit's version."""
    console.print(__version__)


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

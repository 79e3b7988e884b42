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
from ..engines.image_build import RequestedMode, image_key
from ..errors import CitError
from ..run.settings import RUNNER_IMAGE
from ..terminal_text import markup_safe
from ..verdict import EXIT_INTERRUPTED
from . import options
from .command import (
    STOP_SIGNALS,
    additions_builder,
    console,
    docker,
    emit_summary,
    errors,
    image_builder,
    runs_dir_of,
    say,
    user_errors,
)
from .convert import import_app, import_sagemaker
from .data import generate_data_command
from .help import CONTEXT_SETTINGS, add, group
from .render import history, report_command
from .run import run, test_flow_command, validate_contracts_command
from .scripts import test_s3_command, test_script_command
from .shell import CommandAfterDashes, shell
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
    json_output: options.Json = False,
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
            from ..engines.image_additions import read_additions  # deferred: only --add

            additions = read_additions(add or [], add_requirements or [])
            built = additions_builder(docker(), mode)(additions, tag)
            shown = markup_safe(built)
            console.print(
                f"[green]built {shown}[/]: run with --image {shown} or a step's image:",
                soft_wrap=True,
            )
            emit_summary("image build", details={"image": built})
            return
        image_builder(docker(), mode, requirements)(tag or RUNNER_IMAGE)
        console.print(f"[green]built {markup_safe(tag or RUNNER_IMAGE)}[/]")
    emit_summary("image build", details={"image": tag or RUNNER_IMAGE})


def image_key_command(
    requirements: Annotated[
        Path | None, typer.Option(help="The requirements file the image is built from.")
    ] = None,
    json_output: options.Json = False,
) -> None:
    """Print a key that changes whenever the runner image would (for a CI cache)."""
    with user_errors():
        if requirements is not None and not requirements.is_file():
            raise CitError(f"--requirements: no such file: {requirements}")
        key = image_key(requirements)
    if json_output:
        emit_summary("image key", details={"key": key})
    else:
        print(key)


def clean(
    force: Annotated[
        bool, typer.Option("--force", help="Also remove containers of cit runs still going.")
    ] = False,
    cache: Annotated[
        bool,
        typer.Option("--cache", help="Also empty the step cache (<cit dir>/cache)."),
    ] = False,
    cit_dir: options.CitDir = None,
    json_output: options.Json = False,
) -> None:
    """Remove containers (found by label), and host processes and their scratch folders (found
    by marker), that an interrupted or killed cit left behind, and containers kept by
    --keep-on-failure; with --cache, the step cache."""
    from ..engines.cleanup import sweep_orphans  # deferred: only cit clean needs them
    from ..engines.process_guard import sweep_leftovers

    if cache:
        empty_step_cache(cit_dir)

    folders = sweep_leftovers(include_live=force)
    for folder in folders:
        say(f"removed {folder}")
    with user_errors():
        removed = sweep_orphans(docker(), include_live=force, include_kept=True)
    for name in removed:
        say(f"removed {name}")
    left = f" and {len(folders)} process folder(s)" if folders else ""
    console.print(f"{len(removed)} container(s){left} removed")
    emit_summary("clean", details={"removed": removed, "folders": [str(f) for f in folders]})


def empty_step_cache(cit_dir: Path | None) -> None:
    """``cit clean --cache``: every entry of the step cache removed, and said so."""
    from ..run.step_cache import clear_cache
    from ..sizes import human_size

    root = runs_dir_of(cit_dir).parent / "cache"
    entries, size = clear_cache(root)
    count = "1 entry" if entries == 1 else f"{entries} entries"
    console.print(f"step cache {markup_safe(root)} emptied: {count}, {human_size(size)}")


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
add(app, "shell", shell, CommandAfterDashes)
add(image_app, "image build", image_build)
add(image_app, "image key", image_key_command)
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

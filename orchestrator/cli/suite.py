"""``cit test-all``: every scenario, script test and data-quality check of a configuration.

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import CitError
from . import options
from .command import (
    Command,
    console,
    docker,
    emit_report_summary,
    image_builder,
    say,
    say_written,
    show_download,
    user_errors,
)


def test_all_command(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="The integration-test configuration (YAML or JSON; default: CIT_CONFIG, else "
            "the nearest cit.yaml, cit.yml or pyproject.toml with \\[tool.cit] here or above).",
        ),
    ] = None,
    cit_dir: options.CitDir = None,
    quiet: options.Quiet = False,
    report_format: options.Formats = None,
    json_output: options.Json = False,
) -> None:
    """Run every scenario, script test and data-quality check of a configuration file."""
    from ..run.context import RunContext
    from ..run.progress import CaseObserver, ConsoleObserver
    from ..run.rundir import create_run_dir, new_run_id
    from ..suite.run import needs_containers, run_all, suite_line
    from .defaults import config_path
    from .download_view import follow_download

    command = Command(cit_dir)
    with user_errors():
        found = config_path(config, command.env)
        if found is None:
            raise CitError(
                "give --config FILE, set CIT_CONFIG, or put a cit.yaml (or [tool.cit] in "
                "pyproject.toml) in this folder or one above"
            )
        configured = command.configure(found)
    formats = command.formats(report_format)
    if formats != configured.reporting.formats:  # before anything runs: see check_reports
        reporting = configured.reporting.model_copy(update={"formats": formats})
        configured = configured.model_copy(update={"reporting": reporting})
    # Ctrl-C sets ``cancel`` once the first observer has started (see stop_on_signals).
    observer = command.watch(quiet, ConsoleObserver if configured.test_scenarios else CaseObserver)
    cases = CaseObserver(console, stream_logs=not quiet, progress_seconds=observer.progress_seconds)
    with user_errors():
        engine = docker() if needs_containers(configured) else None
        context = RunContext(
            engine=engine,
            settings=command.settings,
            observer=observer,
            build_default=image_builder(engine) if engine is not None else None,
            cancel=command.cancel,
        )
        result = run_all(
            configured,
            context,
            case_observer=cases,
            on_suite=lambda suite: say(suite_line(suite)),
            on_download=show_download,
            follow_download=follow_download,
        )
        run_dir = create_run_dir(command.settings.runs_dir, new_run_id())
    report = result.report(command.started)
    paths = command.write_reports(report, run_dir, configured.reporting, configured.source)
    say_written([path for path in paths if path.parent == run_dir])
    copies = [path for path in paths if path.parent != run_dir]
    if copies:
        say(f"copied to {copies[0].parent}: {', '.join(path.name for path in copies)}")
    emit_report_summary("test-all", report, run_dir, paths)
    raise typer.Exit(report.exit_code)

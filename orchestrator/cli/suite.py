"""``cit test-all``: every scenario, script test and data-quality check of a configuration.

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import options
from .command import Command, console, docker, image_builder, say, show_download, user_errors


def test_all_command(
    config: Annotated[
        Path, typer.Option("--config", help="The integration-test configuration (YAML or JSON).")
    ],
    cit_dir: options.CitDir = options.CIT_DIR,
    quiet: options.Quiet = False,
    report_format: options.Formats = None,
) -> None:
    """Run every scenario, script test and data-quality check of a configuration file."""
    from ..run.context import RunContext
    from ..run.progress import CaseObserver, ConsoleObserver
    from ..run.rundir import create_run_dir, new_run_id
    from ..suite.config import load_config
    from ..suite.run import needs_containers, run_all, suite_line
    from .download_view import follow_download

    command = Command(cit_dir)
    with user_errors():
        configured = load_config(config)
    if report_format:  # before anything runs: the report folder is checked for these formats
        reporting = configured.reporting.model_copy(update={"formats": list(report_format)})
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
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    say(f"report: {paths[0]}{more}")
    raise typer.Exit(report.exit_code)

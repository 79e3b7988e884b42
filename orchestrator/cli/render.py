"""The commands that read earlier runs: ``cit report`` (render a report again) and ``cit
history``.

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import CitError
from ..report.formats import ReportFormat
from . import options
from .command import console, say, user_errors


def report_command(
    test_results: Annotated[
        Path,
        typer.Option(help="A run directory (.cit/runs/<id>) or its report.json."),
    ],
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="What to render.")
    ] = ReportFormat.HTML,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write it (default: report.<html|xml|json> in the run directory)."
        ),
    ] = None,
) -> None:
    """Render the report of an earlier run again: HTML, JUnit XML or JSON."""
    from ..report.formats import FILE_NAMES
    from ..report.history import report_of
    from ..report.write import write_report_file

    fmt = report_format
    with user_errors():
        report = report_of(test_results)
        folder = test_results if test_results.is_dir() else test_results.parent
        written = write_report_file(report, fmt, output or folder / FILE_NAMES[fmt])
    say(f"{fmt} report of {report.cit_report} ({report.outcome.value}): {written}")


def history(
    dag: Annotated[
        Path | None, typer.Option("--dag", help="Only the runs of this pipeline.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Only the runs of this pipeline or script (by name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest this many runs.")] = 20,
    cit_dir: options.CitDir = options.CIT_DIR,
) -> None:
    """Earlier runs with their status and durations, newest first."""
    from ..report.console import history_table
    from ..report.history import list_runs
    from ..run.pipeline_run import load_and_validate

    with user_errors():
        if dag is not None and name is not None:
            raise CitError("--dag and --name: give one of them")
        wanted = load_and_validate(dag).name if dag is not None else name
        runs = list_runs(cit_dir / "runs", wanted)[:limit]
    if not runs:
        say(f"no runs{f' of {wanted}' if wanted else ''} under {cit_dir / 'runs'}")
        return
    console.print(history_table(runs))

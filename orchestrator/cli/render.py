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
from .command import (
    console,
    emit_report_summary,
    emit_summary,
    runs_dir_of,
    say,
    user_errors,
)


def report_command(
    test_results: Annotated[
        Path | None,
        typer.Option(
            help="A run directory (.cit/runs/<id>), its report.json, or a run id "
            "(default: the latest run, .cit/runs/latest).",
            show_default=False,
        ),
    ] = None,
    report_formats: Annotated[
        list[ReportFormat] | None,
        typer.Option(
            "--format",
            help="What to render; repeat for more (default: CIT_FORMAT, else html).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write it, with one --format (default: report.<html|xml|json> in the "
            "run directory)."
        ),
    ] = None,
    cit_dir: options.CitDir = None,
    json_output: options.Json = False,
) -> None:
    """Render the report of an earlier run again: HTML, JUnit XML or JSON."""
    from ..report.formats import FILE_NAMES
    from ..report.history import report_of
    from ..report.write import write_report_file
    from ..run.rundir import find_run

    with user_errors():
        formats = formats_to_render(report_formats)
        if output is not None and len(formats) > 1:
            raise CitError("--output names one file: give one --format with it")
        path = find_run(runs_dir_of(cit_dir), test_results, report_file=True)
        field = "--test-results" if test_results is not None else None
        report = report_of(path, field)
        folder = path if path.is_dir() else path.parent
        written = [
            write_report_file(report, fmt, output, "--output")
            if output is not None
            else write_report_file(report, fmt, folder / FILE_NAMES[fmt], None)
            for fmt in formats
        ]
    for fmt, file in zip(formats, written, strict=True):
        say(f"{fmt} report of {report.cit_report} ({report.outcome.value}): {file}")
    report_json = folder / FILE_NAMES[ReportFormat.JSON]
    emit_report_summary("report", report, folder, [report_json, *written])


def formats_to_render(given: list[ReportFormat] | None) -> list[ReportFormat]:
    """The formats ``cit report`` renders: each ``--format`` once, else ``CIT_FORMAT``, else
    HTML."""
    from .defaults import Choices, environment, settle

    chosen = settle(Choices(formats=given), environment(), None).formats or [ReportFormat.HTML]
    return list(dict.fromkeys(chosen))


def history(
    dag: Annotated[
        Path | None, typer.Option("--dag", help="Only the runs of this pipeline.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Only the runs of this pipeline or script (by name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest this many runs.")] = 20,
    cit_dir: options.CitDir = None,
    json_output: options.Json = False,
) -> None:
    """Earlier runs with their status and durations, newest first."""
    from ..report.console import history_table
    from ..report.history import list_runs
    from ..run.pipeline_run import load_and_validate

    with user_errors():
        if dag is not None and name is not None:
            raise CitError("--dag and --name: give one of them")
        wanted = load_and_validate(dag).name if dag is not None else name
    folder = runs_dir_of(cit_dir).absolute()  # --json gives every path absolute
    runs = list_runs(folder, wanted)[:limit]
    if runs:
        console.print(history_table(runs))
    else:
        say(f"no runs{f' of {wanted}' if wanted else ''} under {folder}")
    emit_summary("history", details={"runs": [run.model_dump(mode="json") for run in runs]})

"""Options that more than one command takes, each declared once; choices are the library's own
types (``ReportFormat``, ``Isolation``), so the command line offers what the library accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..engines.base import Isolation
from ..report.formats import ReportFormat
from ..run.settings import RUNNER_IMAGE

CIT_DIR = Path(".cit")
"""The default of --cit-dir."""

Dag = Annotated[
    Path,
    typer.Option(
        "--dag",
        help="Pipeline file: Python (.py), YAML, or a SageMaker pipeline definition (.json).",
    ),
]
Image = Annotated[
    str | None,
    typer.Option(help=f"Default image of steps that name none ({RUNNER_IMAGE})."),
]
CitDir = Annotated[Path, typer.Option(help="Where run directories are written.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream step logs.")]
Formats = Annotated[
    list[ReportFormat] | None,
    typer.Option(
        "--format",
        help="Also write the report as junit (report.xml) or html (report.html) in the run "
        "directory; report.json is always written (default: reporting.formats of --config).",
    ),
]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file; its s3_integration section sets the S3 timeout, retries, "
        "cache folder, default bucket and clean-up.",
    ),
]
UpdateSnapshots = Annotated[
    bool,
    typer.Option(
        "--update-snapshots",
        help="Store each output's captured schema as the golden snapshot next to the pipeline.",
    ),
]
OutputReport = Annotated[
    Path | None, typer.Option(help="Also write the result as JSON to this file.")
]
Contract = Annotated[
    Path | None, typer.Option(help="Contract of a script file (mounts and outputs).")
]
IsolationChoice = Annotated[Isolation, typer.Option(help="container (the default) or process.")]

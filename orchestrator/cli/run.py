"""The pipeline commands: ``cit run``, ``cit test-flow`` and ``cit validate-contracts``; the
first two are a thin layer over ``suite.pipeline.run_pipeline``.

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ..errors import CitError
from ..verdict import Outcome, finding_outcomes, verdict_of
from . import options
from .command import (
    Command,
    Docker,
    console,
    emit_report_summary,
    emit_summary,
    print_error,
    say,
    say_written,
    show_download,
    user_errors,
    write_output_report,
)

if TYPE_CHECKING:
    from ..aws.s3_uris import S3Uri
    from ..dataflow.edges import DataFlowTestResult
    from ..pipeline.sagemaker_definition import DefinitionOptions
    from ..report.formats import ReportFormat
    from ..run.observer import RunObserver
    from ..run.selection import StepSelection
    from ..suite.config import IntegrationTestConfig
    from ..suite.pipeline import PipelineRun


def run(
    dag: options.Dag,
    max_workers: Annotated[
        int | None, typer.Option(
            min=1,
            help="Steps run at once (default: CIT_MAX_WORKERS, else execution.max_workers of "
            "the configuration, else the number of cores).",
        )
    ] = None,
    image: options.Image = None,
    cit_dir: options.CitDir = None,
    quiet: options.Quiet = False,
    update_snapshots: options.UpdateSnapshots = False,
    no_cache: options.NoCache = False,
    from_step: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="STEP",
            help="Run STEP and every step after it; the outputs of the steps before it that "
            "they read are taken from the latest run that has them (or --reuse).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="STEP", help="Run STEP and only the steps it needs before it."),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            metavar="STEP[,STEP...]",
            help="Run only these steps; the outputs of other steps they read are taken from "
            "the latest run that has them (or --reuse).",
        ),
    ] = None,
    reuse: Annotated[
        str | None,
        typer.Option(
            metavar="RUN_ID",
            help="With --from or --only: take the outputs of the steps not run from this run.",
        ),
    ] = None,
    upload_outputs: Annotated[
        str | None,
        typer.Option(
            metavar="s3://BUCKET[/PREFIX]",
            help="After the run, upload each succeeded step's outputs under a new prefix "
            "cit-tests/<pipeline>/<timestamp>-<random>/ there, as SageMaker would; removed "
            "at the end unless --keep-uploads.",
        ),
    ] = None,
    keep_uploads: Annotated[
        bool, typer.Option("--keep-uploads", help="Keep what --upload-outputs uploaded.")
    ] = False,
    steps_only: Annotated[
        bool,
        typer.Option(
            "--steps-only",
            help="Judge only the steps: data-flow findings are still shown and reported, "
            "but do not fail the run.",
        ),
    ] = False,
    config: options.Config = None,
    report_format: options.Formats = None,
    param: options.Params = None,
    code_dir: options.CodeDir = None,
    image_map: options.ImageMap = None,
    skip_step: options.SkipStep = None,
    skip_unsupported: options.SkipUnsupported = False,
    cpu_only: options.CpuOnly = False,
    keep_on_failure: options.KeepOnFailure = False,
    debug_port: options.DebugPort = None,
    json_output: options.Json = False,
) -> None:
    """Run every step of a pipeline in its own container, in DAG order, and check the data
    that flows along each edge."""
    from ..report.console import print_expectations, print_flow
    from ..run.results import Status

    command = Command(cit_dir, image, max_workers, cpu_only=cpu_only)
    observer = command.watch(quiet)

    def show(flow: DataFlowTestResult) -> None:
        if flow.run_status is Status.INTERRUPTED:
            return
        if flow.edges or flow.output_issues:
            print_flow(console, flow, judged=not steps_only)
        if flow.expectations:
            print_expectations(console, flow.expectations, judged=not steps_only)

    with user_errors():
        definition = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        configured = command.configure(config)
        command.debug(keep_on_failure, debug_port)
        result = whole_run(
            dag,
            command,
            configured,
            definition,
            observer,
            report_format,
            no_cache=no_cache,
            selection=selection_of(from_step, until, only, reuse),
            update_snapshots=update_snapshots,
            steps_only=steps_only,
            upload_to=upload_target(upload_outputs, keep_uploads),
            keep_uploads=keep_uploads,
            on_checked=show,
            on_line=say,
        )
    if result.upload_error is not None:
        print_error(result.upload_error)
    finished("run", result)


def finished(name: str, result: PipelineRun) -> NoReturn:
    """The reports the run wrote, named; its verdict is the exit code."""
    say_written(result.reports)
    emit_report_summary(name, result.report, result.reports[0].parent, result.reports)
    raise typer.Exit(result.exit_code)


def selection_of(
    from_step: str | None, until: str | None, only: str | None, reuse: str | None
) -> StepSelection | None:
    """--from, --until, --only and --reuse as one choice; None when none is given."""
    from ..run.selection import StepSelection

    names = tuple(n.strip() for n in (only or "").split(",") if n.strip())
    if only is not None and not names:
        raise CitError("--only: name at least one step, e.g. --only train,evaluate")
    chosen = StepSelection(from_step=from_step, until=until, only=names, reuse=reuse)
    if reuse and not chosen:
        raise CitError("--reuse RUN_ID goes with --from, --until or --only")
    return chosen if chosen else None


def upload_target(text: str | None, keep: bool) -> S3Uri | None:
    """The URI of --upload-outputs, checked before anything runs."""
    from ..aws.s3_uris import S3Uri
    from ..errors import S3UriError

    if text is None:
        if keep:
            raise CitError("--keep-uploads goes with --upload-outputs s3://BUCKET[/PREFIX]")
        return None
    try:
        return S3Uri.parse(text)
    except S3UriError as exc:
        raise CitError(f"--upload-outputs: {exc}") from None


def test_flow_command(
    dag: options.Dag,
    path: Annotated[
        str | None, typer.Option(help="Steps along one path, e.g. 'Preprocess,Train,Evaluate'.")
    ] = None,
    all_paths: Annotated[
        bool, typer.Option("--all-paths", help="Every edge of the pipeline (the default).")
    ] = False,
    parallel: Annotated[
        bool, typer.Option("--parallel", help="Run independent steps at once.")
    ] = False,
    output_report: options.OutputReport = None,
    update_snapshots: options.UpdateSnapshots = False,
    no_cache: options.NoCache = False,
    image: options.Image = None,
    cit_dir: options.CitDir = None,
    quiet: options.Quiet = False,
    config: options.Config = None,
    report_format: options.Formats = None,
    param: options.Params = None,
    code_dir: options.CodeDir = None,
    image_map: options.ImageMap = None,
    skip_step: options.SkipStep = None,
    skip_unsupported: options.SkipUnsupported = False,
    cpu_only: options.CpuOnly = False,
    keep_on_failure: options.KeepOnFailure = False,
    debug_port: options.DebugPort = None,
    json_output: options.Json = False,
) -> None:
    """Run a path (or all paths) and check that each step can use what the one before wrote."""
    from ..report.console import print_expectations, print_flow
    from ..report.write import check_report_target
    from ..run.results import Status

    command = Command(cit_dir, image, None if parallel else 1, cpu_only=cpu_only)
    observer = command.watch(quiet)

    def show(flow: DataFlowTestResult) -> None:
        if flow.run_status is not Status.INTERRUPTED:
            print_flow(console, flow)
            if flow.expectations:
                print_expectations(console, flow.expectations)
        write_output_report("test-flow", flow.model_dump(mode="json"), output_report)

    with user_errors():
        definition = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        configured = command.configure(config)
        command.debug(keep_on_failure, debug_port)
        steps = path_option(path, all_paths)
        if output_report is not None:
            check_report_target(output_report)
        result = whole_run(
            dag,
            command,
            configured,
            definition,
            observer,
            report_format,
            no_cache=no_cache,
            path=steps,
            update_snapshots=update_snapshots,
            on_checked=show,
            command="test-flow",
        )
    finished("test-flow", result)


def whole_run(
    dag: Path,
    invocation: Command,
    configured: IntegrationTestConfig,
    definition: DefinitionOptions,
    observer: RunObserver,
    report_format: list[ReportFormat] | None,
    *,
    no_cache: bool = False,
    **choices: Any,
) -> PipelineRun:
    """``run_pipeline`` as every pipeline command calls it: the command's settings, Ctrl-C and
    console view, the step cache (every step run with ``no_cache``), its configuration's S3
    settings and report formats, the Docker engine reached once the pipeline is valid;
    ``choices`` are what the command itself decides."""
    from dataclasses import replace

    from ..run.pipeline_run import s3_fetcher
    from ..suite.pipeline import run_pipeline
    from .download_view import follow_download

    docker = Docker()
    return run_pipeline(
        dag,
        params=definition.params,
        code_dir=definition.code_dir,
        image_map=definition.image_map,
        skip_steps=definition.skip_steps,
        skip_unsupported=definition.skip_unsupported,
        connect=docker.connect,
        config=configured,
        settings=replace(invocation.settings, step_cache=True, reuse_cached=not no_cache),
        formats=invocation.formats(report_format),
        observer=observer,
        build_default=docker.build,
        cancel=invocation.cancel,
        fetch_s3=s3_fetcher(
            configured.s3_integration.s3_settings(), report=show_download, follow=follow_download
        ),
        **choices,
    )


def path_option(path: str | None, all_paths: bool) -> list[str] | None:
    if path is not None and all_paths:
        raise CitError("--path and --all-paths: give one of them")
    if path is None:
        return None
    steps = [name.strip() for name in path.split(",") if name.strip()]
    if len(steps) < 2:
        raise CitError(f"--path: '{path}' names fewer than two steps; e.g. --path 'A,B'")
    return steps


def validate_contracts_command(
    dag: options.Dag,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the findings as JSON to this file.")
    ] = None,
    param: options.Params = None,
    code_dir: options.CodeDir = None,
    image_map: options.ImageMap = None,
    skip_step: options.SkipStep = None,
    skip_unsupported: options.SkipUnsupported = False,
    json_output: options.Json = False,
) -> None:
    """Check each step against its script contract and its script's source, without running."""
    from ..dataflow.contract_check import validate_contracts  # only this command parses scripts
    from ..report.console import print_contract_report
    from ..report.write import check_report_target
    from ..run.pipeline_run import load_and_validate

    with user_errors():
        definition = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        if output_report is not None:
            check_report_target(output_report)
        pipeline = load_and_validate(dag, definition=definition)
        report = validate_contracts(pipeline, dag)
        write_output_report("validate-contracts", report.model_dump(mode="json"), output_report)
    print_contract_report(console, report)
    judged = finding_outcomes(report.issues)
    emit_summary(
        "validate-contracts",
        exit_code=report.exit_code,
        verdict=verdict_of(judged).outcome,
        counts={outcome.value: judged.count(outcome) for outcome in Outcome}
        | {"total": len(judged)},
        files=[str(output_report)] if output_report is not None else [],
        details=report.model_dump(mode="json"),
    )
    raise typer.Exit(report.exit_code)

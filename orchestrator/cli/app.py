"""The ``cit`` command line. Each command is a few calls into the library; errors become exit 2."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from .._version import __version__
from ..data.schemas import DataSchema
from ..dataflow.tester import test_flow
from ..engines.base import Engine
from ..engines.cleanup import sweep_orphans
from ..engines.docker_engine import DockerEngine, connect
from ..engines.image_build import RequestedMode, build_runner_image
from ..errors import CitError
from ..pipeline.wiring import steps_for_path, wires_along
from ..report.config import ReportFormat
from ..report.console import (
    print_contract_report,
    print_expectations,
    print_flow,
    print_script_result,
)
from ..report.write import check_report_target, write_json_report, write_run_reports
from ..run.pipeline_run import fetch_inputs, load_and_validate, s3_fetcher, s3_inputs
from ..run.progress import CaseObserver, ConsoleObserver, TerminalConsole, human_size
from ..run.results import Status
from ..run.secrets import with_host_secrets
from ..run.settings import RUNNER_IMAGE, RunSettings
from ..terminal_text import markup_safe, plain
from ..verdict import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from ..aws.s3 import Download, S3Settings
    from ..aws.s3_uris import S3Uri
    from ..dataflow.edges import DataFlowTestResult
    from ..pipeline.model import Pipeline, Step
    from ..report.model import Report, Suite
    from ..scripttest.cases import TestCase
    from ..suite.config import IntegrationTestConfig, S3IntegrationConfig

app = typer.Typer(
    name="cit",
    help="Run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
image_app = typer.Typer(help="The runner image.", no_args_is_help=True)
app.add_typer(image_app, name="image")

console = TerminalConsole()
errors = TerminalConsole(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a CitError into one line on stderr and exit code 2."""
    try:
        yield
    except CitError as exc:
        _print_error(exc)
        raise typer.Exit(exc.exit_code) from None


def _print_error(exc: CitError) -> None:
    errors.print(f"[bold red]error:[/] {markup_safe(exc)}", highlight=False, soft_wrap=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_on_signals(cancel: threading.Event, observer: ConsoleObserver) -> None:
    """Ctrl-C, SIGTERM or a closed terminal stop the run once, and never interrupt clean-up.

    Before the run starts (loading, building the image) the signal interrupts what is going
    on; once steps run it only sets ``cancel``, and the executor stops them and tidies up.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            return
        cancel.set()
        if not observer.started:
            raise KeyboardInterrupt

    for number in STOP_SIGNALS:
        signal.signal(number, handler)


def _image_builder(
    engine: DockerEngine, mode: RequestedMode = "auto", requirements: Path | None = None
) -> Callable[[str], None]:
    """Build the runner image with its progress shown line by line."""

    def show(line: str) -> None:
        console.print(plain(f"  {line}", "dim"), highlight=False)

    def build(tag: str) -> None:
        console.print(
            f"[bold]building runner image {markup_safe(tag)}[/] (once; later runs reuse it)"
        )
        build_runner_image(
            engine.image_tools(), tag=tag, mode=mode, requirements=requirements, on_line=show
        )

    return build


class ReportChoice(StrEnum):
    json = "json"
    junit = "junit"
    html = "html"


DagOption = Annotated[Path, typer.Option("--dag", help="Pipeline file: Python (.py) or YAML.")]
ImageOption = Annotated[
    str | None,
    typer.Option(help=f"Default image of steps that name none ({RUNNER_IMAGE})."),
]
CitDirOption = Annotated[Path, typer.Option(help="Where run directories are written.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream step logs.")]
FormatOption = Annotated[
    list[ReportChoice] | None,
    typer.Option(
        "--format",
        help="Also write the report as junit (report.xml) or html (report.html) in the run "
        "directory; report.json is always written (default: reporting.formats of --config).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file; its s3_integration section sets the S3 timeout, retries, "
        "cache folder, default bucket and clean-up.",
    ),
]
SnapshotsOption = Annotated[
    bool,
    typer.Option(
        "--update-snapshots",
        help="Store each output's captured schema as the golden snapshot next to the pipeline.",
    ),
]


def _settings(cit_dir: Path, image: str | None, max_workers: int | None) -> RunSettings:
    defaults = RunSettings()
    return RunSettings(
        cit_dir=cit_dir.resolve(),
        image=image or defaults.image,
        max_workers=max_workers or defaults.max_workers,
    )


def _fetch_s3(
    pipeline: Pipeline, s3: S3IntegrationConfig, steps: Collection[str] | None = None
) -> Pipeline:
    """The pipeline with the S3 inputs of ``steps`` (default: all) fetched, a line for each."""
    if not s3_inputs(pipeline, steps):
        return pipeline
    return fetch_inputs(pipeline, s3_fetcher(s3.s3_settings(), report=_show_download), steps)


def _show_download(done: Download) -> None:
    files = "1 file" if done.files == 1 else f"{done.files} files"
    console.print(
        f"[bold]{markup_safe(done.uri)}[/]: {files}, {human_size(done.bytes)} "
        f"({done.fetched} downloaded, {done.cached} from the cache)",
        highlight=False,
        soft_wrap=True,
    )


def _observed(
    quiet: bool, view: type[ConsoleObserver] = ConsoleObserver
) -> tuple[threading.Event, ConsoleObserver]:
    """A cancel flag set by Ctrl-C and the console view of the run."""
    cancel = threading.Event()
    observer = view(console, stream_logs=not quiet)
    stop_on_signals(cancel, observer)
    return cancel, observer


def _configuration(path: Path | None) -> IntegrationTestConfig:
    """The --config file (every default without one); read only by commands that take it."""
    from ..suite.config import config_or_defaults

    return config_or_defaults(path)


def _formats(
    chosen: list[ReportChoice] | None, config: IntegrationTestConfig
) -> tuple[ReportFormat, ...]:
    """The formats of --format, else those of the configuration."""
    if chosen:
        return tuple(c.value for c in chosen)
    return tuple(config.reporting.formats)


def _write_reports(
    report: Report, run_dir: Path, formats: tuple[ReportFormat, ...], plots: bool = True
) -> None:
    """The run's reports, and one line naming them."""
    with user_errors():
        try:
            paths = write_run_reports(report, run_dir, formats, plots=plots)
        except OSError as exc:
            raise CitError(f"cannot write the report in {run_dir}: {exc.strerror or exc}") from None
    names = ", ".join(p.name for p in paths[1:])
    _say(f"report: {paths[0]}" + (f" (and {names})" if names else ""))


def _write_flow_report(
    command: str,
    flow: DataFlowTestResult,
    started: float,
    config: IntegrationTestConfig,
    chosen: list[ReportChoice] | None,
    *,
    bad_input: bool = False,
    steps_only: bool = False,
) -> Report:
    """The report of a pipeline run, written; its exit code is the command's."""
    from ..report.model import build_report, pipeline_suite
    from ..run.rundir import read_manifest

    with user_errors():
        run = read_manifest(Path(flow.run_dir))
    suite = pipeline_suite(
        flow, run, max_sample_size=config.reporting.sample_size, judge_flow=not steps_only
    )
    report = build_report(
        command,
        [suite],
        started=started,
        interrupted=flow.run_status is Status.INTERRUPTED,
        bad_input=bad_input,
        steps_only=steps_only,
    )
    plots = config.reporting.include_plots
    _write_reports(report, Path(flow.run_dir), _formats(chosen, config), plots)
    return report


@app.command()
def run(
    dag: DagOption,
    max_workers: Annotated[
        int | None, typer.Option(min=1, help="Steps run at once (default: number of cores).")
    ] = None,
    image: ImageOption = None,
    cit_dir: CitDirOption = Path(".cit"),
    quiet: QuietOption = False,
    update_snapshots: SnapshotsOption = False,
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
    config: ConfigOption = None,
    report_format: FormatOption = None,
) -> None:
    """Run every step of a pipeline in its own container, in DAG order, and check the data
    that flows along each edge."""
    started = time.time()
    settings = _settings(cit_dir, image, max_workers)
    cancel, observer = _observed(quiet)
    with user_errors():
        configured = _configuration(config)
        settings = configured.execution.limits_of(settings)
        s3 = configured.s3_integration
        upload_to = _upload_target(upload_outputs, keep_uploads)
        keep_uploads = keep_uploads or not s3.cleanup_after_test
        pipeline = load_and_validate(dag)
        settings = with_host_secrets(settings, pipeline.steps.values(), dag)
        if upload_to is not None:  # a missing bucket is found before the run, not after it
            from ..aws.s3 import check_bucket

            check_bucket(upload_to, s3.s3_settings())
        engine = connect()
        pipeline = _fetch_s3(pipeline, s3)
        flow = test_flow(
            pipeline,
            dag,
            engine,
            settings=settings,
            observer=observer,
            build_default=_image_builder(engine),
            cancel=cancel,
            update_snapshots=update_snapshots,
        )
    if (flow.edges or flow.output_issues) and flow.run_status is not Status.INTERRUPTED:
        print_flow(console, flow, judged=not steps_only)
    if flow.expectations and flow.run_status is not Status.INTERRUPTED:
        print_expectations(console, flow.expectations, judged=not steps_only)
    upload_failed = False
    if upload_to is not None and flow.run_status is not Status.INTERRUPTED:
        try:  # the report, written after, says how the upload went too
            _upload_step_outputs(flow, upload_to, s3.s3_settings(), keep=keep_uploads)
        except CitError as exc:
            _print_error(exc)
            upload_failed = True
    report = _write_flow_report(
        "run",
        flow,
        started,
        configured,
        report_format,
        bad_input=upload_failed,
        steps_only=steps_only,
    )
    raise typer.Exit(report.exit_code)


def _upload_target(text: str | None, keep: bool) -> S3Uri | None:
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


def _upload_step_outputs(
    flow: DataFlowTestResult, target: S3Uri, settings: S3Settings, *, keep: bool
) -> None:
    """Upload every output of every step that succeeded into a test environment under
    ``target``: a line for each, then where they are, then the environment removed or kept."""
    from ..aws.s3 import test_environment
    from ..run.rundir import read_manifest
    from ..suite.s3_manager import upload_run_outputs

    run = read_manifest(Path(flow.run_dir))
    with test_environment(
        target.bucket, flow.pipeline, settings, cleanup=not keep, under=target.key
    ) as env:
        for line in upload_run_outputs(env, run):
            _say(line)
        _say(f"{len(env.uploads)} output(s) uploaded under {env.uri}")
    if keep:
        _say(f"kept {env.uri} (--keep-uploads)")
    else:
        _say(f"removed {env.uri} ({env.removed} object(s))")


def _say(text: str) -> None:
    console.print(plain(text), highlight=False, soft_wrap=True)


@app.command("test-flow")
def test_flow_command(
    dag: DagOption,
    path: Annotated[
        str | None, typer.Option(help="Steps along one path, e.g. 'Preprocess,Train,Evaluate'.")
    ] = None,
    all_paths: Annotated[
        bool, typer.Option("--all-paths", help="Every edge of the pipeline (the default).")
    ] = False,
    parallel: Annotated[
        bool, typer.Option("--parallel", help="Run independent steps at once.")
    ] = False,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the result as JSON to this file.")
    ] = None,
    update_snapshots: SnapshotsOption = False,
    image: ImageOption = None,
    cit_dir: CitDirOption = Path(".cit"),
    quiet: QuietOption = False,
    config: ConfigOption = None,
    report_format: FormatOption = None,
) -> None:
    """Run a path (or all paths) and check that each step can use what the one before wrote."""
    started = time.time()
    settings = _settings(cit_dir, image, None if parallel else 1)
    cancel, observer = _observed(quiet)
    with user_errors():
        configured = _configuration(config)
        settings = configured.execution.limits_of(settings)
        s3 = configured.s3_integration
        steps = _path_option(path, all_paths)
        if output_report is not None:
            check_report_target(output_report)
        pipeline = load_and_validate(dag)
        if steps:
            wires_along(pipeline, steps, dag)
        tested = steps_for_path(pipeline, steps) if steps else pipeline
        settings = with_host_secrets(settings, tested.steps.values(), dag)
        engine = connect()
        pipeline = _fetch_s3(pipeline, s3, tested.steps if steps else None)
        result = test_flow(
            pipeline,
            dag,
            engine,
            path=steps,
            settings=settings,
            observer=observer,
            build_default=_image_builder(engine),
            cancel=cancel,
            update_snapshots=update_snapshots,
        )
        if result.run_status is not Status.INTERRUPTED:
            print_flow(console, result)
            if result.expectations:
                print_expectations(console, result.expectations)
        if output_report is not None:
            write_json_report("test-flow", result.model_dump(mode="json"), output_report)
    report = _write_flow_report("test-flow", result, started, configured, report_format)
    raise typer.Exit(report.exit_code)


def _path_option(path: str | None, all_paths: bool) -> list[str] | None:
    if path is not None and all_paths:
        raise CitError("--path and --all-paths: give one of them")
    if path is None:
        return None
    steps = [name.strip() for name in path.split(",") if name.strip()]
    if len(steps) < 2:
        raise CitError(f"--path: '{path}' names fewer than two steps; e.g. --path 'A,B'")
    return steps


@app.command("validate-contracts")
def validate_contracts_command(
    dag: DagOption,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the findings as JSON to this file.")
    ] = None,
) -> None:
    """Check each step against its script contract and its script's source, without running."""
    from ..dataflow.contract_check import validate_contracts  # only this command parses scripts

    with user_errors():
        if output_report is not None:
            check_report_target(output_report)
        pipeline = load_and_validate(dag)
        report = validate_contracts(pipeline, dag)
        if output_report is not None:
            write_json_report("validate-contracts", report.model_dump(mode="json"), output_report)
    print_contract_report(console, report)
    raise typer.Exit(report.exit_code)


class Isolation(StrEnum):
    container = "container"
    process = "process"


@app.command("test-script")
def test_script_command(
    script: Annotated[
        str, typer.Option(help="The script to test: a step of --dag, or a script file.")
    ],
    test_cases: Annotated[Path | None, typer.Option(help="Test-case file (YAML or JSON).")] = None,
    input_data: Annotated[
        list[str] | None,
        typer.Option(
            help="Without --test-cases: run once on this data (PATH, or CHANNEL=PATH for a "
            "step with several inputs; repeat for each)."
        ),
    ] = None,
    expected_output_schema: Annotated[
        Path | None, typer.Option(help="With --input-data: the schema every output must pass.")
    ] = None,
    quality_checks: Annotated[
        str | None,
        typer.Option(
            help="With --input-data: 'all' (the default), 'none', or check names separated "
            "by commas."
        ),
    ] = None,
    dag: Annotated[
        Path | None, typer.Option("--dag", help="Pipeline whose step --script names.")
    ] = None,
    contract: Annotated[
        Path | None, typer.Option(help="Contract of a script file (mounts and outputs).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where each case's run directory is written [--cit-dir].")
    ] = None,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the results as JSON to this file.")
    ] = None,
    isolation: Annotated[
        Isolation,
        typer.Option(
            help="container: each case in its own container; process: the script's "
            "main(input_paths, output_paths, environ_vars, job_args) in a host Python process, "
            "no Docker needed."
        ),
    ] = Isolation.container,
    image: ImageOption = None,
    cit_dir: CitDirOption = Path(".cit"),
    quiet: QuietOption = False,
    config: ConfigOption = None,
    report_format: FormatOption = None,
) -> None:
    """Run each test case of a script in its own container (or process), check what it expects."""
    from ..report.model import script_suite
    from ..run.rundir import new_run_id
    from ..scripttest.runner import REGISTRY_FOLDER, resolve_step, run_script_tests

    started, run_id = time.time(), new_run_id()
    settings = _settings(output_dir or cit_dir, image, 1)
    cancel, observer = _observed(quiet, CaseObserver)
    with user_errors():
        if output_report is not None:
            check_report_target(output_report)
        configured = _configuration(config)
        settings = configured.execution.limits_of(settings)
        s3 = configured.s3_integration
        step, source = resolve_step(script, dag=dag, contract=contract)
        cases = _cases_to_run(step, test_cases, input_data, expected_output_schema, quality_checks)
        engine, build_default = _engine_for(isolation)
        result = run_script_tests(
            step,
            cases,
            engine,
            source_file=source,
            settings=settings,
            observer=observer,
            build_default=build_default,
            cancel=cancel,
            isolation="process" if isolation is Isolation.process else "container",
            registry_root=cit_dir.resolve() / REGISTRY_FOLDER,
            fetch_s3=s3_fetcher(s3.s3_settings(), report=_show_download),
            run_id=run_id,
        )
        print_script_result(console, result)
        if output_report is not None:
            write_json_report("test-script", result.model_dump(mode="json"), output_report)
    suite = script_suite(result, file=str(source))
    report = _write_command_report(
        "test-script", suite, run_id, cancel.is_set(), started, settings, configured, report_format
    )
    raise typer.Exit(report.exit_code)


def _write_command_report(
    command: str,
    suite: Suite,
    run_id: str,
    interrupted: bool,
    started: float,
    settings: RunSettings,
    config: IntegrationTestConfig,
    chosen: list[ReportChoice] | None,
) -> Report:
    """The report of a command that runs cases, in its run directory ``run_id`` (its cases'
    runs are ``<run_id>-<case>``), written; its exit code is the command's."""
    from ..report.model import build_report
    from ..run.rundir import create_run_dir

    with user_errors():
        run_dir = create_run_dir(settings.runs_dir, run_id)
    suite.run_dir = str(run_dir)
    report = build_report(command, [suite], started=started, interrupted=interrupted)
    _write_reports(report, run_dir, _formats(chosen, config), config.reporting.include_plots)
    return report


def _engine_for(isolation: Isolation) -> tuple[Engine, Callable[[str], None] | None]:
    """The engine of ``--isolation``, and how it builds the runner image (process: no need)."""
    if isolation is Isolation.process:  # no Docker engine needed
        from ..engines.process_engine import ProcessEngine

        return ProcessEngine(), None
    docker = connect()
    return docker, _image_builder(docker)


def _cases_to_run(
    step: Step,
    test_cases: Path | None,
    input_data: list[str] | None,
    schema: Path | None,
    checks: str | None,
) -> list[TestCase]:
    """The cases of --test-cases, or the one quick check of --input-data."""
    from ..scripttest.cases import load_test_cases
    from ..scripttest.runner import quick_case

    if (test_cases is None) == (not input_data):
        raise CitError("give --test-cases FILE, or --input-data PATH (not both)")
    if test_cases is not None:
        if schema is not None or checks is not None:
            raise CitError(
                "--expected-output-schema and --quality-checks go with --input-data; a "
                "test-case file says them per case (expected_schema, data_quality_assertions)"
            )
        return load_test_cases(test_cases).test_cases
    assert input_data is not None
    data = _input_data_option(input_data)
    return [quick_case(step, data, expected_output_schema=schema, quality_checks=checks)]


def _input_data_option(values: list[str]) -> str | dict[str, str]:
    """PATH, or CHANNEL=PATH pairs (a PATH may be an s3:// URI)."""
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    pairs = {}
    for value in values:
        channel, sep, path = value.partition("=")
        if not sep or not channel or not path:
            raise CitError(f"--input-data: '{value}' is not CHANNEL=PATH")
        pairs[channel] = path
    return pairs


@app.command("test-s3")
def test_s3_command(
    script: Annotated[
        str,
        typer.Option(
            "--script",
            "--next-script",
            help="The script to run on the data: a step of --dag, or a script file.",
        ),
    ],
    pipeline_execution: Annotated[
        str | None,
        typer.Option(
            metavar="ARN",
            help="A SageMaker pipeline execution whose step outputs --script reads.",
        ),
    ] = None,
    step: Annotated[
        str | None, typer.Option(help="With --pipeline-execution: the step whose outputs to use.")
    ] = None,
    s3_bucket: Annotated[
        str | None,
        typer.Option(
            help="Without --pipeline-execution: the bucket holding the data "
            "(default: s3_integration.default_bucket of --config)."
        ),
    ] = None,
    s3_prefix: Annotated[
        str,
        typer.Option(
            help="The data's prefix: all of it for a script with one input, "
            "else <prefix>/<input>/ for each."
        ),
    ] = "",
    input_data: Annotated[
        list[str] | None,
        typer.Option(help="Give one input yourself: CHANNEL=PATH or CHANNEL=s3://... (repeat)."),
    ] = None,
    validate_schema: Annotated[
        bool,
        typer.Option(
            "--validate-schema",
            help="Capture each input's schema and check it against the declared schemas first.",
        ),
    ] = False,
    expected_output_schema: Annotated[
        Path | None, typer.Option(help="The schema every output must pass.")
    ] = None,
    quality_checks: Annotated[
        str | None,
        typer.Option(help="'all' (the default), 'none', or check names separated by commas."),
    ] = None,
    dag: Annotated[
        Path | None,
        typer.Option("--dag", help="Pipeline whose step --script names; wires its inputs."),
    ] = None,
    contract: Annotated[
        Path | None, typer.Option(help="Contract of a script file (mounts and outputs).")
    ] = None,
    download_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Seconds for the whole download of one URI "
            "(default: s3_integration.download_timeout_seconds of --config, or 300).",
        ),
    ] = None,
    config: ConfigOption = None,
    report_format: FormatOption = None,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the result as JSON to this file.")
    ] = None,
    isolation: Annotated[
        Isolation, typer.Option(help="container (the default) or process.")
    ] = Isolation.container,
    image: ImageOption = None,
    cit_dir: CitDirOption = Path(".cit"),
    quiet: QuietOption = False,
) -> None:
    """Run a script on real data in S3: a pipeline execution's step outputs, or a prefix."""
    from ..report.console import print_input_checks, print_s3_result
    from ..report.model import s3_suite
    from ..run.rundir import new_run_id
    from ..scripttest.on_s3 import run_s3_test

    started, run_id = time.time(), new_run_id()
    settings = _settings(cit_dir, image, 1)
    cancel, observer = _observed(quiet, CaseObserver)
    with user_errors():
        if output_report is not None:
            check_report_target(output_report)
        configured = _configuration(config)
        settings = configured.execution.limits_of(settings)
        s3 = configured.s3_integration
        s3_settings = s3.s3_settings(download_timeout_seconds=download_timeout)
        pipeline, tested, source = _step_under_test(script, dag, contract)
        sources = _s3_sources(
            tested,
            pipeline,
            _given_inputs(input_data or []),
            pipeline_execution=pipeline_execution,
            step=step,
            bucket=s3_bucket or (None if pipeline_execution else s3.default_bucket),
            prefix=s3_prefix,
            settings=s3_settings,
        )
        engine, build_default = _engine_for(isolation)
        result = run_s3_test(
            tested,
            sources,
            source_file=source,
            fetch=s3_fetcher(s3_settings, report=_show_download),
            pipeline=pipeline,
            validate_schema=validate_schema,
            expected_output_schema=expected_output_schema,
            quality_checks=quality_checks,
            engine=engine,
            settings=settings,
            observer=observer,
            build_default=build_default,
            cancel=cancel,
            isolation="process" if isolation is Isolation.process else "container",
            on_checked=lambda checks: print_input_checks(console, checks, tested.name),
            run_id=run_id,
        )
        print_s3_result(console, result)
        if output_report is not None:
            write_json_report("test-s3", result.model_dump(mode="json"), output_report)
    suite = s3_suite(result, file=str(source))
    report = _write_command_report(
        "test-s3", suite, run_id, cancel.is_set(), started, settings, configured, report_format
    )
    raise typer.Exit(report.exit_code)


def _given_inputs(values: list[str]) -> dict[str, str]:
    """--input-data CHANNEL=PATH pairs of test-s3 (a PATH may be an s3:// URI)."""
    given = _input_data_option(values) if values else {}
    if isinstance(given, str):
        raise CitError(f"--input-data: '{given}' is not CHANNEL=PATH")
    return given


def _step_under_test(
    script: str, dag: Path | None, contract: Path | None
) -> tuple[Pipeline | None, Step, Path]:
    """The pipeline (with --dag), the step --script names, and the file it comes from."""
    from ..scripttest.runner import pipeline_step, resolve_step

    if dag is None:
        tested, source = resolve_step(script, contract=contract)
        return None, tested, source
    if contract is not None:
        raise CitError("--contract is for a script file; a step of --dag has its own")
    pipeline = load_and_validate(dag)
    return pipeline, pipeline_step(pipeline, script, dag), dag


def _s3_sources(
    tested: Step,
    pipeline: Pipeline | None,
    given: dict[str, str],
    *,
    pipeline_execution: str | None,
    step: str | None,
    bucket: str | None,
    prefix: str,
    settings: S3Settings,
) -> dict[str, str]:
    """Where each input of the tested step comes from: an execution's step, or a prefix."""
    from ..aws.discovery import SageMakerDiscovery
    from ..aws.s3_uris import S3Uri
    from ..errors import S3UriError
    from ..scripttest.on_s3 import execution_sources, prefix_sources

    if pipeline_execution is not None:
        if bucket is not None:
            raise CitError("give --pipeline-execution or --s3-bucket/--s3-prefix, not both")
        if step is None:
            raise CitError("--pipeline-execution needs --step: the step whose outputs to use")
        if prefix:
            raise CitError("give --pipeline-execution or --s3-bucket/--s3-prefix, not both")
        discovery = SageMakerDiscovery(settings)
        return execution_sources(
            tested, step, pipeline_execution, discovery, pipeline=pipeline, given=given
        )
    if step is not None:
        raise CitError("--step goes with --pipeline-execution ARN")
    if bucket is None:
        raise CitError(
            "give --pipeline-execution ARN --step NAME, or --s3-bucket BUCKET [--s3-prefix P] "
            "(or s3_integration.default_bucket in --config)"
        )
    try:
        uri = S3Uri.parse(f"s3://{bucket}/{prefix.lstrip('/')}")
    except S3UriError as exc:
        raise CitError(f"--s3-bucket/--s3-prefix: {exc}") from None
    return prefix_sources(tested, str(uri), given)


class DataFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command("generate-data")
def generate_data_command(
    rows: Annotated[int, typer.Option(min=0, help="Rows to generate.")],
    output: Annotated[Path, typer.Option(help="Folder to write data.<format> into.")],
    schema: Annotated[
        Path | None, typer.Option(help="Schema file (YAML or JSON) the data must satisfy.")
    ] = None,
    contract: Annotated[
        Path | None, typer.Option(help="Script contract whose input schema (--input) to use.")
    ] = None,
    input_name: Annotated[
        str | None, typer.Option("--input", help="Input of --contract to generate data for.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes.")] = 0,
    data_format: Annotated[
        DataFormat | None,
        typer.Option("--format", help="csv or parquet (default: the schema's format, else csv)."),
    ] = None,
) -> None:
    """Write deterministic synthetic data that satisfies a schema (or a contract's input)."""
    from ..data import synthetic

    with user_errors():
        declared = _generation_schema(schema, contract, input_name)
        fmt = synthetic.data_format(declared, data_format.value if data_format else None)
        about = {"schema": declared.source, "rows": rows, "seed": seed, "format": fmt}
        files = synthetic.generate_into(output, declared, rows, seed, fmt, **about)
    where = str(files[0]) if len(files) == 1 else "each of " + ", ".join(map(str, files))
    if rows < declared.min_rows:
        where += f"; the schema asks for at least {declared.min_rows}"
    _say(f"wrote {rows} rows to {where}")


def _generation_schema(
    schema: Path | None, contract: Path | None, input_name: str | None
) -> DataSchema:
    """The schema of --schema, or of --contract's input --input."""
    from ..data.contracts import load_contract
    from ..data.schemas import load_schema
    from ..data.synthetic import schema_for_input

    if schema is not None and contract is None and input_name is None:
        return load_schema(schema)
    if schema is None and contract is not None and input_name is not None:
        return schema_for_input(load_contract(contract), input_name)
    raise CitError("give --schema FILE, or --contract FILE with --input NAME")


class Mode(StrEnum):
    auto = "auto"
    registry = "registry"
    bootstrap = "bootstrap"


@app.command("test-all")
def test_all_command(
    config: Annotated[
        Path, typer.Option("--config", help="The integration-test configuration (YAML or JSON).")
    ],
    cit_dir: CitDirOption = Path(".cit"),
    quiet: QuietOption = False,
    report_format: FormatOption = None,
) -> None:
    """Run every scenario, script test and data-quality check of a configuration file."""
    from ..report.write import write_configured_reports
    from ..run.rundir import create_run_dir, new_run_id
    from ..suite.config import load_config
    from ..suite.run import needs_containers, run_all, suite_line

    started = time.time()
    settings = _settings(cit_dir, None, None)
    with user_errors():
        configured = load_config(config)
    if report_format:  # before anything runs: the report folder is checked for these formats
        formats = [c.value for c in report_format]
        reporting = configured.reporting.model_copy(update={"formats": formats})
        configured = configured.model_copy(update={"reporting": reporting})
    # Ctrl-C sets ``cancel`` once the first observer has started (see stop_on_signals).
    first = ConsoleObserver if configured.test_scenarios else CaseObserver
    cancel, observer = _observed(quiet, first)
    cases = CaseObserver(console, stream_logs=not quiet)
    with user_errors():
        engine = connect() if needs_containers(configured) else None
        result = run_all(
            configured,
            engine,
            settings=settings,
            observer=observer,
            case_observer=cases,
            build_default=_image_builder(engine) if engine is not None else None,
            cancel=cancel,
            on_suite=lambda suite: _say(suite_line(suite)),
            on_download=_show_download,
        )
        run_dir = create_run_dir(settings.runs_dir, new_run_id())
    report = result.report(started)
    with user_errors():
        try:
            paths = write_configured_reports(
                report, run_dir, configured.reporting, configured.source
            )
        except OSError as exc:
            raise CitError(f"cannot write the report in {run_dir}: {exc.strerror or exc}") from None
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    _say(f"report: {paths[0]}{more}")
    raise typer.Exit(report.exit_code)


@app.command("report")
def report_command(
    test_results: Annotated[
        Path,
        typer.Option(help="A run directory (.cit/runs/<id>) or its report.json."),
    ],
    report_format: Annotated[
        ReportChoice, typer.Option("--format", help="What to render.")
    ] = ReportChoice.html,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write it (default: report.<html|xml|json> in the run directory)."
        ),
    ] = None,
) -> None:
    """Render the report of an earlier run again: HTML, JUnit XML or JSON."""
    from ..report.config import FILE_NAMES
    from ..report.history import report_of
    from ..report.write import write_report_file

    fmt: ReportFormat = report_format.value
    with user_errors():
        report = report_of(test_results)
        folder = test_results if test_results.is_dir() else test_results.parent
        written = write_report_file(report, fmt, output or folder / FILE_NAMES[fmt])
    _say(f"{fmt} report of {report.cit_report} ({report.outcome.value}): {written}")


@app.command()
def history(
    dag: Annotated[
        Path | None, typer.Option("--dag", help="Only the runs of this pipeline.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Only the runs of this pipeline or script (by name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest this many runs.")] = 20,
    cit_dir: CitDirOption = Path(".cit"),
) -> None:
    """Earlier runs with their status and durations, newest first."""
    from ..report.console import history_table
    from ..report.history import list_runs

    with user_errors():
        if dag is not None and name is not None:
            raise CitError("--dag and --name: give one of them")
        wanted = load_and_validate(dag).name if dag is not None else name
        runs = list_runs(cit_dir / "runs", wanted)[:limit]
    if not runs:
        _say(f"no runs{f' of {wanted}' if wanted else ''} under {cit_dir / 'runs'}")
        return
    console.print(history_table(runs))


@image_app.command("build")
def image_build(
    tag: Annotated[str, typer.Option(help="Image tag.")] = RUNNER_IMAGE,
    mode: Annotated[
        Mode, typer.Option(help="registry: FROM a Python base image; bootstrap: from Debian.")
    ] = Mode.auto,
    requirements: Annotated[
        Path | None, typer.Option(help="Python requirements file instead of the shipped one.")
    ] = None,
) -> None:
    """Build the SageMaker-like runner image, with or without a container registry."""
    with user_errors():
        if requirements is not None and not requirements.is_file():
            raise CitError(f"--requirements: no such file: {requirements}")
        engine = connect()
        _image_builder(engine, mode.value, requirements)(tag)
        console.print(f"[green]built {markup_safe(tag)}[/]")


@app.command()
def clean(
    force: Annotated[
        bool, typer.Option("--force", help="Also remove containers of cit runs still going.")
    ] = False,
) -> None:
    """Remove containers that an interrupted or killed cit left behind (found by label)."""
    with user_errors():
        removed = sweep_orphans(connect(), include_live=force)
    for name in removed:
        _say(f"removed {name}")
    console.print(f"{len(removed)} container(s) removed")


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

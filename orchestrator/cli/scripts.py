"""The script commands: ``cit test-script`` (a script's test cases, or one quick check) and
``cit test-s3`` (a script on real data in S3).

Each command imports the library it needs when it runs: ``cit --help`` and the other commands
start without it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ..engines.base import Engine, Isolation
from ..errors import CitError
from . import options
from .command import (
    Command,
    console,
    docker,
    image_builder,
    show_download,
    user_errors,
    write_output_report,
)

if TYPE_CHECKING:
    from ..aws.s3 import S3Settings
    from ..pipeline.model import Pipeline, Step
    from ..pipeline.sagemaker_definition import DefinitionOptions
    from ..report.config import ReportingConfig
    from ..report.model import Suite
    from ..scripttest.cases import TestCase


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
    contract: options.Contract = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where each case's run directory is written [--cit-dir].")
    ] = None,
    output_report: Annotated[
        Path | None, typer.Option(help="Also write the results as JSON to this file.")
    ] = None,
    isolation: Annotated[
        Isolation | None,
        typer.Option(
            help="container: each case in its own container; process: the script's "
            "main(input_paths, output_paths, environ_vars, job_args) in a host Python process, "
            "no Docker needed (default: CIT_ISOLATION, else execution.isolation_mode of the "
            "configuration, else container)."
        ),
    ] = None,
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
    keep_on_failure: options.KeepOnFailure = False,
    json_output: options.Json = False,
) -> None:
    """Run each test case of a script in its own container (or process), check what it expects."""
    from ..report.console import print_script_result
    from ..report.model import script_suite
    from ..report.write import check_report_target
    from ..run.context import RunContext
    from ..run.pipeline_run import s3_fetcher
    from ..run.progress import CaseObserver
    from ..run.rundir import new_run_id
    from ..scripttest.runner import REGISTRY_FOLDER, resolve_step, run_script_tests
    from .download_view import follow_download

    run_id = new_run_id()
    command = Command(output_dir or cit_dir, image, 1)
    observer = command.watch(quiet, CaseObserver)
    with user_errors():
        definition = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        if output_report is not None:
            check_report_target(output_report)
        configured = command.configure(config)
        s3 = configured.s3_integration
        step, source = resolve_step(script, dag=dag, contract=contract, definition=definition)
        cases = _cases_to_run(step, test_cases, input_data, expected_output_schema, quality_checks)
        isolation = command.isolation(isolation)
        if keep_on_failure and isolation == "process":
            raise CitError("--keep-on-failure keeps a container: it needs --isolation container")
        command.debug(keep_on_failure)
        engine, build_default = _engine_for(isolation)
        context = RunContext(
            engine=engine,
            settings=command.settings,
            observer=observer,
            build_default=build_default,
            cancel=command.cancel,
            isolation=isolation,
            registry_root=command.cit_dir(cit_dir) / REGISTRY_FOLDER,
            fetch_s3=s3_fetcher(s3.s3_settings(), report=show_download, follow=follow_download),
            run_id=run_id,
        )
        result = run_script_tests(step, cases, context, source_file=source)
        print_script_result(console, result)
        write_output_report("test-script", result.model_dump(mode="json"), output_report)
    suite = script_suite(result, file=str(source))
    _finish_cases(command, "test-script", suite, run_id, command.reporting(report_format))


def _finish_cases(
    command: Command, name: str, suite: Suite, run_id: str, reporting: ReportingConfig
) -> NoReturn:
    """The report of a command that runs cases, in its run directory ``run_id`` (its cases'
    runs are ``<run_id>-<case>``), written; its exit code is the command's."""
    from ..report.model import build_report
    from ..run.rundir import create_run_dir

    with user_errors():
        run_dir = create_run_dir(command.settings.runs_dir, run_id)
    suite.run_dir = str(run_dir)
    interrupted = command.cancel.is_set()
    report = build_report(name, [suite], started=command.started, interrupted=interrupted)
    command.finish(name, report, run_dir, reporting)


def _engine_for(isolation: Isolation) -> tuple[Engine, Callable[[str], None] | None]:
    """The engine of ``--isolation``, and how it builds the runner image (process: no need)."""
    if isolation == "process":  # no Docker engine needed
        from ..engines.process_engine import ProcessEngine

        return ProcessEngine(), None
    engine = docker()
    return engine, image_builder(engine)


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
    data = input_data_option(input_data)
    return [quick_case(step, data, expected_output_schema=schema, quality_checks=checks)]


def input_data_option(values: list[str]) -> str | dict[str, str]:
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
    contract: options.Contract = None,
    download_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Seconds for the whole download of one URI "
            "(default: s3_integration.download_timeout_seconds of --config, or 300).",
        ),
    ] = None,
    config: options.Config = None,
    report_format: options.Formats = None,
    output_report: options.OutputReport = None,
    isolation: options.IsolationChoice = None,
    image: options.Image = None,
    cit_dir: options.CitDir = None,
    quiet: options.Quiet = False,
    param: options.Params = None,
    code_dir: options.CodeDir = None,
    image_map: options.ImageMap = None,
    skip_step: options.SkipStep = None,
    skip_unsupported: options.SkipUnsupported = False,
    json_output: options.Json = False,
) -> None:
    """Run a script on real data in S3: a pipeline execution's step outputs, or a prefix."""
    from ..report.console import print_input_checks, print_s3_result
    from ..report.model import s3_suite
    from ..report.write import check_report_target
    from ..run.context import RunContext
    from ..run.pipeline_run import s3_fetcher
    from ..run.progress import CaseObserver
    from ..run.rundir import new_run_id
    from ..scripttest.on_s3 import run_s3_test
    from .download_view import follow_download

    run_id = new_run_id()
    command = Command(cit_dir, image, 1)
    observer = command.watch(quiet, CaseObserver)
    with user_errors():
        definition = options.definition_of(
            param, code_dir, image_map, skip_step, skip_unsupported
        )
        if output_report is not None:
            check_report_target(output_report)
        configured = command.configure(config)
        s3 = configured.s3_integration
        s3_settings = s3.s3_settings(download_timeout_seconds=download_timeout)
        pipeline, tested, source = _step_under_test(script, dag, contract, definition)
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
        isolation = command.isolation(isolation)
        engine, build_default = _engine_for(isolation)
        context = RunContext(
            engine=engine,
            settings=command.settings,
            observer=observer,
            build_default=build_default,
            cancel=command.cancel,
            isolation=isolation,
            fetch_s3=s3_fetcher(s3_settings, report=show_download, follow=follow_download),
            run_id=run_id,
        )
        result = run_s3_test(
            tested,
            sources,
            context,
            source_file=source,
            pipeline=pipeline,
            validate_schema=validate_schema,
            expected_output_schema=expected_output_schema,
            quality_checks=quality_checks,
            on_checked=lambda checks: print_input_checks(console, checks, tested.name),
        )
        print_s3_result(console, result)
        write_output_report("test-s3", result.model_dump(mode="json"), output_report)
    suite = s3_suite(result, file=str(source))
    _finish_cases(command, "test-s3", suite, run_id, command.reporting(report_format))


def _given_inputs(values: list[str]) -> dict[str, str]:
    """--input-data CHANNEL=PATH pairs of test-s3 (a PATH may be an s3:// URI)."""
    given = input_data_option(values) if values else {}
    if isinstance(given, str):
        raise CitError(f"--input-data: '{given}' is not CHANNEL=PATH")
    return given


def _step_under_test(
    script: str, dag: Path | None, contract: Path | None, definition: DefinitionOptions
) -> tuple[Pipeline | None, Step, Path]:
    """The pipeline (with --dag), the step --script names, and the file it comes from."""
    from ..run.pipeline_run import load_and_validate
    from ..scripttest.runner import pipeline_step, resolve_step

    if dag is None:
        tested, source = resolve_step(script, contract=contract, definition=definition)
        return None, tested, source
    if contract is not None:
        raise CitError("--contract is for a script file; a step of --dag has its own")
    pipeline = load_and_validate(dag, definition=definition)
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

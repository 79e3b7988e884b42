"""A whole pipeline run, as ``cit run`` does it, in one call: run the steps, check every edge
and output, compare snapshots, judge the pipeline's expectations, upload the outputs when
asked, and write the reports; the verdict is the command's.

    result = run_pipeline("pipeline.py", formats=["junit"])
    result.exit_code            # what `cit run` exits with: 0, 1, 2 or 130
    result.run.step("train")    # how each step went
    result.edges, result.expectations, result.reports

``run.pipeline_run.execute_pipeline`` only executes the steps (no edges, no reports).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..aws.s3 import check_bucket, test_environment
from ..aws.s3_uris import S3Uri
from ..dataflow.edges import DataFlowTestResult, EdgeResult
from ..dataflow.expectation_results import ExpectationResult
from ..dataflow.tester import test_flow
from ..engines.base import Engine
from ..errors import CitError, S3UriError
from ..issues import Issue
from ..pipeline.sagemaker_definition import ParamValue, definition_options
from ..pipeline.wiring import steps_for_path, wires_along
from ..report.formats import ReportFormat
from ..report.model import Report, build_report, pipeline_suite
from ..report.write import write_reports
from ..run.context import RunContext
from ..run.observer import RunObserver
from ..run.pipeline_run import (
    ImageBuilder,
    S3Fetcher,
    fetch_inputs,
    load_and_validate,
    s3_fetcher,
    s3_inputs,
    steps_to_run,
)
from ..run.results import RunResult, Status
from ..run.secrets import with_host_secrets
from ..run.selection import StepSelection, select_steps
from ..run.settings import RunSettings
from ..verdict import Verdict
from .config import IntegrationTestConfig, config_or_defaults
from .s3_manager import upload_run_outputs

if TYPE_CHECKING:
    from ..aws.s3 import S3Settings
    from ..aws.s3_uris import S3Uri


@dataclass(frozen=True)
class PipelineRun:
    """What a whole pipeline run found: the run, what flowed along each edge, the pipeline's
    expectations judged, the report and its verdict, and the report files written."""

    flow: DataFlowTestResult
    report: Report
    reports: list[Path]
    """report.json first, then each other format asked for."""
    upload_error: CitError | None = None
    """Why the upload of the outputs failed (the verdict is then exit code 2)."""

    def __getattr__(self, name: str) -> Any:
        """0.1's ``run_pipeline`` returned the ``RunResult``: its fields still answer here, with
        a ``DeprecationWarning`` (use ``.run``)."""
        if name.startswith("_") or (name not in RunResult.model_fields and name != "step"):
            raise AttributeError(name)
        warnings.warn(
            f"PipelineRun.{name} is deprecated; use PipelineRun.run.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self.run, name)

    @property
    def run(self) -> RunResult:
        assert self.flow.run is not None  # test_flow's result always holds its run
        return self.flow.run

    @property
    def edges(self) -> list[EdgeResult]:
        return self.flow.edges

    @property
    def output_issues(self) -> list[Issue]:
        return self.flow.output_issues

    @property
    def expectations(self) -> list[ExpectationResult]:
        return self.flow.expectations

    @property
    def verdict(self) -> Verdict:
        """The verdict on every step, edge, output and expectation (``verdict.verdict_of``)."""
        return Verdict(self.report.outcome, self.report.exit_code)

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def interrupted(self) -> bool:
        return self.flow.run_status is Status.INTERRUPTED

    @property
    def run_dir(self) -> Path:
        return Path(self.flow.run_dir)


def run_pipeline(
    dag: str | Path,
    engine: Engine | None = None,
    *,
    connect: Callable[[], Engine] | None = None,
    config: IntegrationTestConfig | str | Path | None = None,
    settings: RunSettings | None = None,
    path: Sequence[str] | None = None,
    update_snapshots: bool = False,
    steps_only: bool = False,
    formats: Sequence[ReportFormat] | None = None,
    upload_to: S3Uri | str | None = None,
    keep_uploads: bool = False,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
    fetch_s3: S3Fetcher | None = None,
    on_checked: Callable[[DataFlowTestResult], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    command: str = "run",
    params: Mapping[str, ParamValue] | Sequence[str] | None = None,
    code_dir: str | Path | None = None,
    image_map: Mapping[str, str] | Sequence[str] | None = None,
    skip_steps: Sequence[str] | None = None,
    skip_unsupported: bool = False,
    selection: StepSelection | None = None,
) -> PipelineRun:
    """Run the pipeline in ``dag`` as ``cit run`` does and return what it found.

    Without ``engine``, ``connect`` reaches one (default: the Docker engine of the
    environment) once the pipeline is loaded and valid. ``config`` is the integration
    test configuration (or its file): its execution limits, S3 settings and reporting.
    ``path`` runs only the steps a path of steps needs and checks the edges along it (``cit
    test-flow --path``). With ``steps_only`` edges, outputs and expectations are reported but
    do not fail the run. ``formats`` are written beside report.json (default: the
    configuration's). ``upload_to`` (``s3://bucket[/prefix]``) receives every succeeded step's
    outputs after the run, removed again unless ``keep_uploads``. ``on_checked`` sees the
    checked flow before anything is uploaded or written; ``on_line`` each line of progress of
    the upload; ``command`` names the report's command. For a SageMaker pipeline definition
    (``.json``), ``params`` sets its pipeline parameters (``{"InputData": "data/"}`` or
    ``["InputData=data/"]``; a text is read as the parameter's ``Type`` says) and ``code_dir``
    is where the scripts its code URIs name are looked for (``cit run --param --code-dir``);
    ``image_map`` maps its image URIs (or their prefixes) to local images
    (``{"123….amazonaws.com/my-image": "my-image:dev"}`` or ``["URI=IMAGE"]``, as
    ``--image-map``), ``skip_steps`` and ``skip_unsupported`` leave steps out as
    ``--skip-step`` and ``--skip-unsupported`` do. ``selection`` runs part of the pipeline
    (``cit run --from/--until/--only``), the outputs the rest would give taken from an
    earlier run (``selection.select_steps``).

    A ``CitError`` before the run (the pipeline, the configuration, a bucket, the engine) or
    while writing the reports is raised; a failed upload is in the result.
    """
    started = time.time()
    definition = definition_options(params, code_dir, image_map, skip_steps, skip_unsupported)
    configured = _configuration(config)
    s3 = configured.s3_integration
    target = _upload_target(upload_to)
    keep = keep_uploads or not s3.cleanup_after_test
    settings = configured.execution.limits_of(settings or RunSettings())
    file = Path(dag)
    pipeline = load_and_validate(file, definition=definition)
    if path:
        wires_along(pipeline, path, file)
    tested = steps_for_path(pipeline, path) if path else pipeline
    if selection:
        tested, taken = select_steps(tested, selection, settings.runs_dir)
        pipeline = tested
        settings = replace(settings, taken_steps=taken)
    settings = with_host_secrets(settings, steps_to_run(tested, settings), file)
    if target is not None:  # a missing bucket is found before the run, not after it

        check_bucket(target, s3.s3_settings())
    connected = engine if engine is not None else _connected(connect)
    steps = tested.steps if path else None
    if s3_inputs(pipeline, steps):
        pipeline = fetch_inputs(pipeline, fetch_s3 or s3_fetcher(s3.s3_settings()), steps)
    context = RunContext(
        engine=connected,
        settings=settings,
        observer=observer,
        build_default=build_default,
        cancel=cancel,
    )
    flow = test_flow(pipeline, file, context, path=path, update_snapshots=update_snapshots)
    assert flow.run is not None
    interrupted = flow.run_status is Status.INTERRUPTED
    if on_checked is not None:
        on_checked(flow)
    upload_error = None
    if target is not None and not interrupted:
        try:  # the report, written after, says how the upload went too
            upload_outputs(flow.run, target, s3.s3_settings(), keep=keep, on_line=on_line)
        except CitError as exc:
            upload_error = exc
    reporting = configured.reporting
    suite = pipeline_suite(
        flow, flow.run, max_sample_size=reporting.sample_size, judge_flow=not steps_only
    )
    report = build_report(
        command,
        [suite],
        started=started,
        interrupted=interrupted,
        bad_input=upload_error is not None,
        steps_only=steps_only,
    )
    chosen = list(formats) if formats else reporting.formats
    written = write_reports(
        report,
        Path(flow.run_dir),
        reporting.model_copy(update={"formats": chosen, "output_directory": None}),
    )
    return PipelineRun(flow=flow, report=report, reports=written, upload_error=upload_error)


def upload_outputs(
    run: RunResult,
    target: S3Uri,
    settings: S3Settings,
    *,
    keep: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Upload every output of every step that succeeded into a test environment under
    ``target``: a line for each, then where they are, then the environment removed or kept."""

    say = on_line or _silent
    with test_environment(
        target.bucket, run.pipeline, settings, cleanup=not keep, under=target.key
    ) as env:
        for line in upload_run_outputs(env, run):
            say(line)
        say(f"{len(env.uploads)} output(s) uploaded under {env.uri}")
    if keep:
        say(f"kept {env.uri} (--keep-uploads)")
    else:
        say(f"removed {env.uri} ({env.removed} object(s))")


def _silent(line: str) -> None:
    pass


def _configuration(config: IntegrationTestConfig | str | Path | None) -> IntegrationTestConfig:
    if isinstance(config, IntegrationTestConfig):
        return config
    return config_or_defaults(Path(config) if config is not None else None)


def _upload_target(upload_to: S3Uri | str | None) -> S3Uri | None:
    if upload_to is None or not isinstance(upload_to, str):
        return upload_to

    try:
        return S3Uri.parse(upload_to)
    except S3UriError as exc:
        raise CitError(f"upload_to: {exc}") from None


def _connected(connect: Callable[[], Engine] | None) -> Engine:
    if connect is not None:
        return connect()
    # deferred: the docker SDK is loaded only when no engine was given
    from ..engines.docker_engine import connect as connect_docker

    return connect_docker()

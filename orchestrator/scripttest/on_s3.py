"""``cit test-s3``: one script run on real data in S3, the outputs of steps of an earlier
SageMaker pipeline execution or any prefix.

1. **sources** — where each input of the script comes from: the outputs of steps of an
   execution (``execution_sources``), a bucket prefix (``prefix_sources``), or paths and URIs
   the user gives;
2. **fetch** — every S3 source downloaded into the local cache (``orchestrator.s3``);
3. **check** — with ``validate_schema``, each input's schema captured and checked against the
   script's declared input schema and the producer's declared output schema, where known;
4. **run** — the script once on that data in its own container, judged as a test case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ..aws.discovery import ExecutionArn, ExecutionDiscovery, StepOutputs
from ..aws.s3_uris import is_s3_text
from ..data.capture import capture_output
from ..data.compatibility import schema_issues
from ..data.profiles import OutputProfile
from ..data.schemas import DataSchema
from ..errors import InputError, StepFailed, StepNotFinished, StepNotFound, StepWithoutData
from ..issues import Issue, Severity
from ..pipeline.model import LocalSource, Pipeline, S3Source, Step, StepOutput
from ..pipeline.wiring import Wire, declared_schemas, sourced, wire_of, wires
from ..run.context import RunContext
from ..run.pipeline_run import S3Fetcher, fetched, s3_fetcher
from .case_checks import TestCaseResult, case_metrics
from .runner import check_channels, check_outputs_named, quick_case, run_script_tests

STEP_ERRORS = (StepNotFound, StepNotFinished, StepFailed, StepWithoutData)
"""What can be wrong with one step of an execution (not with the execution or SageMaker)."""
CASE_NAME = "s3-data"
"""The name of the one test case ``cit test-s3`` runs."""

# -- sources ------------------------------------------------------------------------------


def execution_sources(
    step: Step,
    producer: str,
    execution_arn: str,
    discovery: ExecutionDiscovery,
    *,
    pipeline: Pipeline | None = None,
    given: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each input of ``step`` (channel -> S3 URI or local path), from a pipeline execution.

    With ``pipeline``, an input wired to a step's output takes that output from the step of
    the same name in the execution; at least one input must come from ``producer``. Without
    it, the inputs take ``producer``'s outputs of the same name (or its only output, for a
    step with one input). ``given`` inputs are taken as they are.
    """
    ExecutionArn.parse(execution_arn)  # a malformed ARN is the user's to fix, whatever the input
    given = _known_inputs(step, given)
    if pipeline is not None:
        return {
            **_wired_sources(step, producer, execution_arn, discovery, pipeline, given),
            **given,
        }
    found = discovery.step_outputs(execution_arn, producer)
    return {**_matched_sources(step, found, given), **given}


def _wired_sources(
    step: Step,
    producer: str,
    execution_arn: str,
    discovery: ExecutionDiscovery,
    pipeline: Pipeline,
    given: Mapping[str, str],
) -> dict[str, str]:
    wired = [w for w in wires(pipeline.steps) if w.consumer == step.name]
    if producer not in pipeline.steps:
        raise InputError(
            f"no step named '{producer}' in the pipeline; steps: {', '.join(pipeline.steps)}",
            file=pipeline.source_file,
            field="--step",
        )
    if producer not in {w.producer for w in wired}:
        takes = ", ".join(sorted({w.producer for w in wired})) or "no other step"
        raise InputError(
            f"'{step.name}' takes no input from '{producer}' in the pipeline; it takes "
            f"inputs from {takes}",
            file=pipeline.source_file,
            field="--step",
        )
    sources: dict[str, str] = {}
    outputs: dict[str, StepOutputs] = {}
    for channel, item in step.inputs.items():
        if channel in given:
            continue
        if isinstance(item.source, StepOutput):
            wire = wire_of(step.name, channel, item.source)
            if wire.producer not in outputs:
                outputs[wire.producer] = _discover(discovery, execution_arn, wire, producer)
            uri = _output_uri(outputs[wire.producer], wire.output, channel)
            sources[channel] = f"{uri.rstrip('/')}/{wire.path}" if wire.path else uri
        elif isinstance(item.source, S3Source):
            sources[channel] = item.source.uri
        else:
            assert isinstance(item.source, LocalSource)
            sources[channel] = str(item.source.path)
    return sources


def _discover(
    discovery: ExecutionDiscovery, execution_arn: str, wire: Wire, named: str
) -> StepOutputs:
    """The outputs of ``wire``'s producer; when it is not the step the user named, a problem
    with that step says which input needed it and how to give that input instead."""
    try:
        return discovery.step_outputs(execution_arn, wire.producer)
    except STEP_ERRORS as exc:
        if wire.producer == named:
            raise
        raise type(exc)(
            f"input '{wire.input}' of '{wire.consumer}' comes from '{wire.producer}': {exc} "
            f"(or give it: --input-data {wire.input}=PATH)"
        ) from None


def _output_uri(found: StepOutputs, output: str, channel: str) -> str:
    if output in found.outputs:
        return found.outputs[output]
    raise InputError(
        f"step '{found.step_name}' of {found.execution_arn} has no output '{output}' "
        f"(it has {', '.join(found.outputs) or 'none'}); give input '{channel}' with "
        f"--input-data {channel}=PATH",
        field="--step",
    )


def _matched_sources(step: Step, found: StepOutputs, given: Mapping[str, str]) -> dict[str, str]:
    channels = list(step.inputs) or ["data"]
    wanted = [c for c in channels if c not in given]
    sources = {c: found.outputs[c] for c in wanted if c in found.outputs}
    left = [c for c in wanted if c not in sources]
    required = [o for o in found.outputs if o not in found.optional]
    if len(left) == 1 and len(channels) == 1 and len(required) == 1:
        sources[left[0]] = found.outputs[required[0]]
        left = []
    if left:
        raise InputError(
            f"no output of step '{found.step_name}' matches input {', '.join(left)} of "
            f"'{step.name}' (its outputs: {', '.join(found.outputs) or 'none'}); name them "
            f"alike, give the pipeline with --dag, or give --input-data CHANNEL=PATH",
            field="--step",
        )
    return sources


def prefix_sources(step: Step, uri: str, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each input of ``step`` from one S3 prefix: all of it for a step with one input, else
    ``<uri>/<channel>/`` per input; ``given`` inputs are taken as they are."""
    given = _known_inputs(step, given)
    channels = list(step.inputs) or ["data"]
    base = uri if uri.endswith("/") else f"{uri}/"
    if len(channels) == 1:
        return {channels[0]: base, **given}
    return {**{c: f"{base}{c}/" for c in channels if c not in given}, **given}


def _known_inputs(step: Step, given: Mapping[str, str] | None) -> dict[str, str]:
    """``given`` inputs, each one an input of ``step``."""
    given = dict(given or {})
    unknown = [c for c in given if step.inputs and c not in step.inputs]
    if unknown:
        raise InputError(
            f"'{step.name}' has no input {', '.join(unknown)}; its inputs: "
            f"{', '.join(step.inputs)}",
            field="--input-data",
        )
    return given


# -- fetching and checking --------------------------------------------------------------------


def fetch_sources(sources: Mapping[str, str], fetch: S3Fetcher) -> dict[str, Path]:
    """The local copy of each source: S3 URIs fetched (each once), paths as they are."""
    copies: dict[str, Path] = {}
    local: dict[str, Path] = {}
    for channel, source in sources.items():
        if is_s3_text(source):
            if source not in copies:
                copies[source] = fetched(source, fetch)
            local[channel] = copies[source]
        else:
            local[channel] = Path(source)
    return local


class InputCheck(BaseModel):
    """The data one input received and what was found wrong with it."""

    channel: str
    source: str
    captured: OutputProfile
    expected: DataSchema | None = None
    promised: DataSchema | None = None
    issues: list[Issue] = Field(default_factory=list)


def check_inputs(
    step: Step,
    sources: Mapping[str, str],
    local: Mapping[str, Path],
    pipeline: Pipeline | None = None,
) -> list[InputCheck]:
    """Each input's captured schema, checked against what ``step`` declares it reads (its
    contract's ``input_schemas``) and, with ``pipeline``, what its producer declares it writes."""
    checks = []
    for channel, path in local.items():
        captured = capture_output(channel, path)
        producer, expected, promised = _declared(step, channel, pipeline)
        issues = schema_issues(captured, expected, promised, consumer=step.name, producer=producer)
        edge = f"{sources[channel]} -> {step.name}.{channel}"
        checks.append(
            InputCheck(
                channel=channel,
                source=sources[channel],
                captured=captured,
                expected=expected,
                promised=promised,
                issues=[i.located(edge=edge) for i in issues],
            )
        )
    return checks


def _declared(
    step: Step, channel: str, pipeline: Pipeline | None
) -> tuple[str | None, DataSchema | None, DataSchema | None]:
    """(producer, the schema ``step`` expects on ``channel``, the one its producer promised)."""
    item = step.inputs.get(channel)
    if pipeline is not None and item is not None and isinstance(item.source, StepOutput):
        wire = wire_of(step.name, channel, item.source)
        return (wire.producer, *declared_schemas(wire, pipeline))
    contract = step.contract
    expected = sourced(contract.input_schemas.get(channel), contract) if contract else None
    return None, expected, None


# -- running ----------------------------------------------------------------------------------


class S3TestResult(BaseModel):
    """A script run on S3 data: where each input came from, what the data looked like, and
    the verdict on the run."""

    model_config = ConfigDict(frozen=True)

    script: str
    sources: dict[str, str]
    inputs: list[InputCheck] = Field(default_factory=list)
    test: TestCaseResult
    performance_metrics: dict[str, Any] = Field(default_factory=dict)
    """The metrics the script wrote (its metrics.json), flattened to dotted names."""
    data_quality_score: float | None = None
    """The share of data-quality checks that passed (None when none ran)."""

    @property
    def schema_issues(self) -> list[Issue]:
        return [issue for check in self.inputs for issue in check.issues]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        errors = [i for i in self.schema_issues if i.severity is Severity.ERROR]
        return self.test.passed and not errors

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def run_s3_test(
    step: Step,
    sources: Mapping[str, str],
    context: RunContext,
    *,
    source_file: Path,
    pipeline: Pipeline | None = None,
    validate_schema: bool = False,
    expected_output_schema: Path | None = None,
    quality_checks: str | Sequence[str] | None = None,
    on_checked: Callable[[list[InputCheck]], None] | None = None,
) -> S3TestResult:
    """Fetch ``sources`` (with the context's ``fetch_s3``, default ``s3_fetcher()``), check
    them if asked (``on_checked`` sees the checks before the run), then run ``step`` once on
    them, judged like a quick test case (its run named after the context's ``run_id``, the
    command's, when given)."""

    # Everything the user wrote is checked before any data is downloaded.
    case = quick_case(
        step,
        dict(sources),
        expected_output_schema=expected_output_schema,
        quality_checks=quality_checks,
        name=CASE_NAME,
    )
    check_channels(step, case)
    check_outputs_named(step, case)
    local = fetch_sources(sources, context.fetch_s3 or s3_fetcher())
    checks = check_inputs(step, sources, local, pipeline) if validate_schema else []
    if on_checked is not None:
        on_checked(checks)
    fetch_s3 = {sources[channel]: path for channel, path in local.items()}.__getitem__
    result = run_script_tests(
        step, [case], replace(context, fetch_s3=fetch_s3), source_file=source_file
    ).test_results[0]
    return S3TestResult(
        script=step.name,
        sources=dict(sources),
        inputs=checks,
        test=result,
        performance_metrics=_metrics_of(result, step.name),
        data_quality_score=_quality_score(result),
    )


def _metrics_of(result: TestCaseResult, step: str) -> dict[str, Any]:
    return {} if result.interrupted else case_metrics(result, step)


def _quality_score(result: TestCaseResult) -> float | None:
    """The share of the data-quality checks that ran and passed (None when none ran)."""
    ran = result.quality_checks_run
    if not ran:
        return None
    missed = {
        f.expectation for f in [*result.failures, *result.warnings] if f.kind == "data_quality"
    }
    return round((ran - min(len(missed), ran)) / ran, 4)

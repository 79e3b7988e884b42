"""A ``Pipeline`` written as cit's own YAML (docs/pipeline-format.md), for a user who keeps and
edits it: ``cit import sagemaker`` writes a SageMaker pipeline definition this way.

Loading the text written (saved at ``target``) gives the same steps and expectations. Paths
are written relative to ``target``'s folder (a script relative to its step's ``source_dir``);
fields are written in a fixed order, and a field at its default is left out. What cit's YAML
cannot say is refused with ``UnwritableField``, naming the field, never left out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .expectations import Expectation, ExpectedMetric, ExpectedOutput, ExpectedQuality
from .model import (
    Condition,
    Instance,
    LocalSource,
    Pipeline,
    S3Source,
    Step,
    StepInput,
    StepKind,
    StepOutput,
)

STEP_ORDER = (
    "kind",
    "image",
    "sagemaker_image",
    "entrypoint",
    "source_dir",
    "script",
    "contract",
    "inputs",
    "outputs",
    "property_files",
    "arguments",
    "hyperparameters",
    "env",
    "secrets",
    "instance",
    "timeout_seconds",
    "network",
    "cache",
    "conditions",
    "if_steps",
    "else_steps",
    "error_message",
    "depends_on",
)
"""The order of a step's fields in the YAML written: every field of ``Step`` but its name."""


class UnwritableField(ValueError):
    """A field of the pipeline that cit's YAML cannot say: where it is and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def pipeline_yaml(pipeline: Pipeline, target: Path) -> str:
    """The YAML text of ``pipeline`` as it would be saved at ``target`` (a file path; for
    standard output, a file in the current folder)."""
    folder = Path(os.path.abspath(target)).parent.resolve()  # as the loader resolves it
    document: dict[str, Any] = {"name": pipeline.name, "steps": {}}
    for name, step in pipeline.steps.items():
        document["steps"][name] = step_fields(step, folder)
        implied = [s.name for s in pipeline.steps.values() if s.branch_of(name)]
        _leave_out_depends_on(document["steps"][name], implied)
    if pipeline.expectations:
        document["expectations"] = _expectations(pipeline.expectations, pipeline, folder)
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=100,
    )


def step_fields(step: Step, folder: Path) -> dict[str, Any]:
    """The YAML fields of ``step`` in ``STEP_ORDER``, those at their default left out."""
    missing = set(Step.model_fields) - {"name"} - set(STEP_ORDER)
    assert not missing, f"a Step field without a place in STEP_ORDER: {sorted(missing)}"
    at = f"steps.{step.name}"
    contract_paths = _contract_paths(step)
    written: dict[str, Any] = {
        "kind": step.kind.value,
        "image": step.image,
        "sagemaker_image": step.sagemaker_image,
        "entrypoint": list(step.entrypoint) if step.entrypoint is not None else None,
        "source_dir": _path(step.source_dir, folder) if step.source_dir else None,
        "script": _script(step, folder),
        "contract": _contract(step, folder, at),
        "inputs": {
            name: _input(given, folder, contract_paths[0].get(name), f"{at}.inputs.{name}")
            for name, given in step.inputs.items()
        },
        "outputs": _outputs(step, contract_paths[1]),
        "arguments": list(step.arguments),
        "hyperparameters": dict(step.hyperparameters),
        "env": dict(step.env),
        "secrets": dict(step.secrets),
        "instance": _instance(step.instance),
        "timeout_seconds": _number(step.timeout_seconds),
        "network": step.network,
        "cache": step.cache,
        "property_files": {
            name: prop.model_dump(mode="json") for name, prop in step.property_files.items()
        },
        "conditions": [_condition(c) for c in step.conditions],
        "if_steps": list(step.if_steps),
        "else_steps": list(step.else_steps),
        "error_message": step.error_message,
        "depends_on": list(step.depends_on),
    }
    kept = {"kind"}
    if step.kind is StepKind.PROCESSING and not step.outputs and contract_paths[1]:
        kept.add("outputs")  # without it, loading gives the step its contract's outputs
    return {
        key: value
        for key, value in written.items()
        if key in kept or (value is not None and value != _DEFAULTS.get(key))
    }


_DEFAULTS: dict[str, Any] = {
    "property_files": {},
    "conditions": [],
    "if_steps": [],
    "else_steps": [],
    "inputs": {},
    "outputs": [],
    "arguments": [],
    "hyperparameters": {},
    "env": {},
    "secrets": {},
    "instance": {},
    "timeout_seconds": Step.model_fields["timeout_seconds"].default,
    "network": False,
    "cache": True,
    "depends_on": [],
}


def _path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, '/'-separated; absolute when the relative path would
    start with '~', which the loader reads as a home folder."""
    relative = Path(os.path.relpath(path, folder)).as_posix()
    return os.path.abspath(path) if relative.startswith("~") else relative


def _script(step: Step, folder: Path) -> str | None:
    """The script as the loader reads it: relative to ``source_dir`` when the step has one."""
    if step.script is None:
        return None
    if step.source_dir is None:
        return _path(step.script, folder)
    if step.script.is_relative_to(step.source_dir):
        return _path(step.script, step.source_dir)
    return os.path.abspath(step.script)


def _contract(step: Step, folder: Path, at: str) -> str | None:
    if step.contract is None:
        return None
    if step.contract.source is None:
        raise UnwritableField(
            f"{at}.contract",
            "a contract built in Python, not read from a file, cannot be written to YAML; "
            "save it as a contract file (.yaml) and name that file",
        )
    return _path(Path(step.contract.source).resolve(), folder)


def _contract_paths(step: Step) -> tuple[dict[str, str], dict[str, str]]:
    """Where the step's contract mounts its inputs and outputs (a processing step's only):
    loading the YAML mounts them there again, so those destinations are not written."""
    if step.contract is None or step.kind is not StepKind.PROCESSING:
        return {}, {}
    return step.contract.expected_input_paths, step.contract.expected_output_paths


def _input(given: StepInput, folder: Path, mounted: str | None, at: str) -> Any:
    source = given.source
    destination = given.destination if given.destination != mounted else None
    if isinstance(source, StepOutput):
        written: dict[str, Any] = {"step": source.step, "output": source.output}
        if source.path is not None:
            written["path"] = source.path
    elif isinstance(source, S3Source):
        written = {"path": source.uri}
    elif isinstance(source, LocalSource):
        if source.origin is not None:
            raise UnwritableField(
                at,
                f"a local copy of {source.origin} made for a run cannot be written to YAML; "
                "write the pipeline as it was loaded",
            )
        written = {"path": _path(source.path, folder)}
    else:  # pragma: no cover - the model allows no other source
        raise UnwritableField(at, f"an input from {type(source).__name__} has no YAML form")
    if destination is not None:
        written["destination"] = destination
    elif set(written) == {"path"}:
        return written["path"]
    return written


def _outputs(step: Step, mounted: dict[str, str]) -> Any:
    if step.kind is StepKind.TRAINING:
        return None
    destinations = {
        name: spec.destination if spec.destination != mounted.get(name) else None
        for name, spec in step.outputs.items()
    }
    if all(d is None for d in destinations.values()):
        return list(destinations)
    return {name: {} if d is None else {"destination": d} for name, d in destinations.items()}


def _leave_out_depends_on(fields: dict[str, Any], implied: list[str]) -> None:
    """A step in a condition's branch waits for it without saying so in ``depends_on``."""
    kept = [name for name in fields.get("depends_on", []) if name not in implied]
    if kept:
        fields["depends_on"] = kept
    else:
        fields.pop("depends_on", None)


def _condition(condition: Condition) -> dict[str, Any]:
    """A condition as the YAML writes it: only the fields of its op."""
    return condition.model_dump(mode="json", exclude_unset=True)


def _instance(instance: Instance) -> dict[str, Any]:
    return {
        key: _number(value) for key, value in instance.model_dump(exclude_defaults=True).items()
    }


def _number(value: Any) -> Any:
    """A whole float as an int (3600.0 → 3600), for the reader."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _expectations(
    expectations: list[Expectation], pipeline: Pipeline, folder: Path
) -> dict[str, dict[str, Any]]:
    """Each step's expectations in the fields of ``expectations.STEP``."""
    written: dict[str, dict[str, Any]] = {}
    metrics_files: dict[str, set[str | None]] = {}
    for expectation in expectations:
        entry = written.setdefault(expectation.step, {})
        if isinstance(expectation, ExpectedMetric):
            metrics = entry.setdefault("metrics", {})
            metric = expectation.expected.metric
            if metric in metrics:
                raise UnwritableField(
                    expectation.field,
                    f"metric {metric} of step '{expectation.step}' has two bounds; cit's YAML "
                    "gives a metric one",
                )
            metrics[metric] = expectation.expected.bound
            files = metrics_files.setdefault(expectation.step, {expectation.metrics_file})
            if expectation.metrics_file not in files:
                raise UnwritableField(
                    expectation.field,
                    f"the metrics of step '{expectation.step}' are read from more than one "
                    "file; cit's YAML gives a step one metrics_file",
                )
            if expectation.metrics_file is not None:
                entry["metrics_file"] = expectation.metrics_file
        elif isinstance(expectation, ExpectedOutput):
            entry.setdefault("outputs", []).append(expectation.pattern)
        elif isinstance(expectation, ExpectedQuality):
            dataset_files = [
                reference
                for _, reference in expectation.check.datasets()
                if reference.split(".", 1)[0] not in pipeline.steps
            ]
            if dataset_files and Path(os.path.abspath(expectation.base_dir)) != folder:
                raise UnwritableField(
                    expectation.field,
                    f"the dataset {dataset_files[0]} is read relative to {expectation.base_dir}; "
                    "write the YAML in that folder",
                )
            quality = entry.setdefault("data_quality", {})
            quality.setdefault(expectation.output, []).append(_check(expectation))
    order = ("metrics", "metrics_file", "outputs", "data_quality")
    return {
        step: {key: entry[key] for key in order if key in entry} for step, entry in written.items()
    }


def _check(expectation: ExpectedQuality) -> Any:
    """A check as the shorthand reads it: its name, or {name: {parameters}}."""
    check = expectation.check
    given = check.model_dump(mode="json", exclude_defaults=True, exclude={"check", "output"})
    return {check.name: given} if given else check.name


class _Dumper(yaml.SafeDumper):
    """Safe YAML, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

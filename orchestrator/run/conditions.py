"""Condition and fail steps, run on the host: no container.

A condition step reads the values it compares from the property files that earlier steps
really wrote (bounded reads, never through a link), evaluates its conditions as SageMaker
does (all must hold) and says which branch runs; the executor skips the other branch. A
fail step, once reached, fails with its message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from ..container_files import NotARegularFile, read_bounded
from ..data.metrics import ORDERINGS
from ..pipeline.model import COMPARISONS, Condition, JsonGet, Operand, StepKind
from .plan import PlannedStep
from .results import ConditionOutcome, Status, StepResult
from .step_runner import step_record

PROPERTY_FILE_LIMIT = 4 * 2**20
"""The most of a property file that is read; a larger one fails the condition."""
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
Scalar = str | int | float | bool


class ConditionError(Exception):
    """A condition cannot be evaluated: what is missing or wrong, in words."""


def run_without_container(planned: PlannedStep, steps: Mapping[str, PlannedStep]) -> StepResult:
    """The result of a condition or fail step, evaluated here."""
    started = time.time()
    if planned.step.kind is StepKind.CONDITION:
        result = condition_result(planned, steps)
    else:
        result = fail_result(planned)
    result.started_at = started
    result.finished_at = time.time()
    result.duration_seconds = round(result.finished_at - started, 3)
    return result


def fail_result(planned: PlannedStep) -> StepResult:
    """A fail step reached: it fails, with its message."""
    result = step_record(planned, Status.FAILED, "a Fail step was reached")
    result.message = planned.step.error_message or None
    return result


def condition_result(planned: PlannedStep, steps: Mapping[str, PlannedStep]) -> StepResult:
    """A condition step evaluated on what its producers wrote; a value that cannot be read
    fails it, and neither branch runs."""
    step = planned.step
    try:
        met, detail = evaluate_all(step.conditions, PropertyReader(steps))
    except ConditionError as exc:
        return step_record(planned, Status.FAILED, f"cannot evaluate the condition: {exc}")
    branch = "If" if met else "Else"
    taken = step.if_steps if met else step.else_steps
    result = step_record(planned, Status.SUCCEEDED)
    result.condition = ConditionOutcome(met=met, detail=detail, branch=branch)
    result.message = (
        f"condition '{step.name}' was {_truth(met)} ({detail}): took the {branch} branch "
        f"({', '.join(taken) or 'no steps'})"
    )
    return result


def not_taken_reason(condition: str, outcome: ConditionOutcome, via: str | None = None) -> str:
    """Why a step of the branch not taken (or one depending on it, ``via``) is skipped."""
    other = "Else" if outcome.branch == "If" else "If"
    said = f"condition '{condition}' was {_truth(outcome.met)} ({outcome.detail})"
    if via is None:
        return f"{said}: this step is in its {other} branch"
    return f"{said}: this step depends on '{via}', which is in its {other} branch"


def _truth(met: bool) -> str:
    return "true" if met else "false"


# Evaluation ----------------------------------------------------------------------------------


class PropertyReader:
    """Values of the property files steps wrote, each file read (and parsed) once."""

    def __init__(self, steps: Mapping[str, PlannedStep]) -> None:
        self.steps = steps
        self.files: dict[tuple[str, str], Any] = {}

    def __call__(self, get: JsonGet) -> Scalar:
        key = (get.step, get.property_file)
        if key not in self.files:
            self.files[key] = self._load(get)
        return json_value(self.files[key], get)

    def _load(self, get: JsonGet) -> Any:
        producer = self.steps.get(get.step)
        prop = producer.step.property_files.get(get.property_file) if producer else None
        if producer is None or prop is None:
            raise ConditionError(f"step '{get.step}' has no property file '{get.property_file}'")
        folder = producer.paths.output(prop.output)
        where = (
            f"property file {get.step}.{get.property_file} ({prop.path} in output "
            f"'{prop.output}' of step '{get.step}')"
        )
        try:
            data, cut = read_bounded(folder / prop.path, PROPERTY_FILE_LIMIT, root=folder)
        except NotARegularFile:
            raise ConditionError(
                f"{where} is a link, a folder or a special file; cit reads only a regular file "
                "and follows no link a step made"
            ) from None
        except FileNotFoundError:
            raise ConditionError(f"{where} was not written") from None
        except OSError as exc:
            raise ConditionError(f"cannot read {where}: {exc.strerror or exc}") from None
        if cut:
            raise ConditionError(f"{where} is larger than {PROPERTY_FILE_LIMIT // 2**20} MiB")
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConditionError(f"{where} is not valid JSON: {exc}") from None


def json_value(document: Any, get: JsonGet) -> Scalar:
    """The value at ``get.json_path`` in ``document``: a string, number or boolean."""
    value = document
    walked = ""
    for key, index in _PATH_PART.findall(get.json_path):
        here = f"'{walked}'" if walked else "the file"
        if key:
            if not isinstance(value, dict) or key not in value:
                keys = ", ".join(sorted(value)) if isinstance(value, dict) else None
                has = f"its keys: {keys}" if keys else f"it is {_kind(value)}"
                if value == {}:
                    has = "it is an empty object"
                raise ConditionError(f"{get}: {here} has no key '{key}' ({has})")
            value = value[key]
            walked = f"{walked}.{key}" if walked else key
        else:
            position = int(index)
            if not isinstance(value, list) or position >= len(value):
                size = f"{len(value)} items" if isinstance(value, list) else _kind(value)
                raise ConditionError(f"{get}: {here} has no item [{position}] ({size})")
            value = value[position]
            walked = f"{walked}[{position}]"
    if value is None or isinstance(value, dict | list):
        raise ConditionError(f"{get} is {_kind(value)}, not a string, number or boolean")
    return value  # type: ignore[no-any-return]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"the {type(value).__name__} {_shown(value)}"


def evaluate_all(conditions: list[Condition], read: PropertyReader) -> tuple[bool, str]:
    """Whether every condition holds, and what was evaluated: all of it when they hold,
    the conditions that do not otherwise."""
    results = [evaluate(condition, read) for condition in conditions]
    failed = [detail for met, detail in results if not met]
    if failed:
        return False, "; ".join(failed)
    return True, "; ".join(detail for _, detail in results)


def evaluate(condition: Condition, read: PropertyReader) -> tuple[bool, str]:
    """Whether ``condition`` holds, and what was compared, in words."""
    if condition.op == "not":
        met, detail = evaluate((condition.conditions or [])[0], read)
        return not met, f"not ({detail})"
    if condition.op == "or":
        results = [evaluate(inner, read) for inner in condition.conditions or []]
        return any(met for met, _ in results), " or ".join(f"({d})" for _, d in results)
    assert condition.left is not None
    left, left_text = _operand(condition.left, read)
    if condition.op == "in":
        values = [_operand(v, read) for v in condition.values or []]
        met = any(_equal(left, value) for value, _ in values)
        return met, f"{left_text}, needs to be in [{', '.join(text for _, text in values)}]"
    assert condition.right is not None and condition.op in COMPARISONS
    right, right_text = _operand(condition.right, read)
    return _compare(condition.op, left, right), f"{left_text}, needs {condition.op} {right_text}"


def _operand(operand: Operand, read: PropertyReader) -> tuple[Scalar, str]:
    if isinstance(operand, JsonGet):
        value = read(operand)
        return value, f"{operand} = {_shown(value)}"
    return operand, _shown(operand)


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _is_number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Scalar, right: Scalar) -> bool:
    if _is_number(left) and _is_number(right):
        return left == right
    return type(left) is type(right) and left == right


def _compare(op: str, left: Scalar, right: Scalar) -> bool:
    if op == "==":
        return _equal(left, right)
    comparable = (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable:
        raise ConditionError(
            f"cannot compare {_shown(left)} {op} {_shown(right)}: ordering compares two "
            "numbers or two strings"
        )
    return ORDERINGS[op](left, right)

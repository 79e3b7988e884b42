"""How a pipeline's steps are wired: which output of which step is mounted as which input of
another, paths of steps, and the schemas declared at each end of a wire."""

from __future__ import annotations

import itertools
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.contracts import ScriptContract
from ..data.schemas import DataSchema
from ..errors import InputError
from .graph import ancestors
from .model import Pipeline, Step, StepOutput, edge_source


@dataclass(frozen=True)
class Wire:
    """One output of a producer (or, with ``path``, one folder inside it) mounted as one input
    of a consumer."""

    producer: str
    output: str
    consumer: str
    input: str
    path: str | None = None

    @property
    def source(self) -> str:
        """``prep.processed_data`` or ``prep.processed_data/train``."""
        return edge_source(self.producer, self.output, self.path)

    def __str__(self) -> str:
        return f"{self.source} -> {self.consumer}.{self.input}"


def wire_of(consumer: str, channel: str, ref: StepOutput) -> Wire:
    """The wire that ``ref`` makes into input ``channel`` of ``consumer``."""
    return Wire(ref.step, ref.output, consumer, channel, ref.path)


def wires(steps: Mapping[str, Step]) -> list[Wire]:
    """Every wire of the pipeline, in step order."""
    return [
        wire_of(step.name, channel, item.source)
        for step in steps.values()
        for channel, item in step.inputs.items()
        if isinstance(item.source, StepOutput)
    ]


def missing_sub_path(wire: Wire, holds: list[str]) -> str:
    """What is said when the folder a wire takes from its producer's output is not there
    after the producer ran; ``holds`` is what the output holds (folders end in '/')."""
    shown = ", ".join(holds[:HOLDS_SHOWN]) + (
        f", +{len(holds) - HOLDS_SHOWN} more" if len(holds) > HOLDS_SHOWN else ""
    )
    return (
        f"input '{wire.input}' takes folder '{wire.path}' of '{wire.producer}' output "
        f"'{wire.output}' ({wire.source}), and '{wire.producer}' wrote no such folder; the "
        f"output holds {shown or 'nothing'}"
    )


HOLDS_SHOWN = 10


def wires_along(pipeline: Pipeline, path: Sequence[str], file: Path | None = None) -> list[Wire]:
    """The wires between consecutive steps of ``path``; an ``InputError`` when it is no path."""
    unknown = [name for name in path if name not in pipeline.steps]
    if unknown:
        raise InputError(
            f"no step named '{unknown[0]}'; steps: {', '.join(pipeline.steps)}",
            file=file,
            field="--path",
        )
    if len(path) < 2:
        raise InputError("a path names at least two steps, e.g. 'A,B'", field="--path")
    found: list[Wire] = []
    all_wires = wires(pipeline.steps)
    for producer, consumer in itertools.pairwise(path):
        between = [w for w in all_wires if w.producer == producer and w.consumer == consumer]
        if not between:
            raise InputError(_not_connected(pipeline, producer, consumer), field="--path")
        found.extend(between)
    return found


def _not_connected(pipeline: Pipeline, producer: str, consumer: str) -> str:
    feeds = sorted({w.producer for w in wires(pipeline.steps) if w.consumer == consumer})
    source = ", ".join(feeds) if feeds else "no other step"
    return (
        f"'{producer}' does not feed '{consumer}' (no output wired to an input); "
        f"'{consumer}' reads from {source}"
    )


def steps_for_path(pipeline: Pipeline, path: Sequence[str]) -> Pipeline:
    """The steps of ``path`` and everything they need upstream, in the pipeline's order."""
    keep = set(path) | ancestors(pipeline.steps, path)
    return pipeline.with_steps(
        {n: branches_within(step, keep) for n, step in pipeline.steps.items() if n in keep}
    )


def branches_within(step: Step, keep: Container[str]) -> Step:
    """A condition step's branches without the steps left out of a partial run."""
    if not step.if_steps and not step.else_steps:
        return step
    return step.model_copy(
        update={
            "if_steps": [n for n in step.if_steps if n in keep],
            "else_steps": [n for n in step.else_steps if n in keep],
        }
    )


def declared_schemas(wire: Wire, pipeline: Pipeline) -> tuple[DataSchema | None, DataSchema | None]:
    """(consumer's input schema, producer's output schema) from their contracts; a wire that
    takes a folder inside the output has no producer's schema."""
    consumer = pipeline.steps[wire.consumer].contract
    producer = pipeline.steps[wire.producer].contract
    expected = sourced(consumer.input_schemas.get(wire.input), consumer) if consumer else None
    if wire.path is not None or producer is None:
        # A producer's schema describes its whole output, not a folder inside it: it is
        # checked on the output itself.
        return expected, None
    promised = sourced(producer.output_schemas.get(wire.output), producer)
    return expected, promised


def sourced(schema: DataSchema | None, contract: ScriptContract) -> DataSchema | None:
    """A schema written inside a contract comes from the contract's file."""
    if schema is None or schema.source is not None:
        return schema
    return schema.model_copy(update={"source": contract.source})

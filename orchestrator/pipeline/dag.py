"""``PipelineDAG``: the node-and-edge style of building a pipeline.

    dag = PipelineDAG("fraud")
    dag.add_node("Preprocess", kind="processing", script="preprocess.py", outputs=["train"])
    dag.add_node("Train", kind="training", script="train.py")
    dag.add_edge("Preprocess", "Train")          # every output of Preprocess becomes an input

Nodes carry the same fields as ``Pipeline.step``; edges wire outputs to inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loader import load_pipeline
from .model import (
    TRAINING_OUTPUTS,
    InvalidStep,
    Pipeline,
    StepKind,
    StepOutput,
    _caller_dir,
    sub_path,
)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    output: str | None = None
    input: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


class PipelineDAG:
    """Nodes with step fields and explicit edges; ``to_pipeline()`` gives the runnable form."""

    def __init__(self, name: str = "pipeline", *, base_dir: str | Path | None = None) -> None:
        self.name = name
        self.base_dir = Path(base_dir).resolve() if base_dir is not None else _caller_dir()
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[Edge] = []

    def add_node(self, name: str, **fields: Any) -> PipelineDAG:
        if name in self.nodes:
            raise ValueError(f"a node named '{name}' is already in the DAG")
        _check_node_fields(name, fields)
        self.nodes[name] = fields
        return self

    def add_edge(
        self,
        source: str,
        target: str,
        *,
        output: str | None = None,
        input: str | None = None,
        path: str | None = None,
    ) -> PipelineDAG:
        """``target`` runs after ``source``; ``output``/``input`` name one wire (default: all),
        ``path`` a folder inside that output which is all the input gets."""
        for node in (source, target):
            if node not in self.nodes:
                raise ValueError(f"edge {source} -> {target}: no node named '{node}'")
        if input is not None and output is None:
            raise ValueError(f"edge {source} -> {target}: input='{input}' needs output= as well")
        if path is not None and output is None:
            raise ValueError(f"edge {source} -> {target}: path='{path}' needs output= as well")
        if path is not None:
            try:
                path = sub_path(path)
            except ValueError as exc:
                raise ValueError(f"edge {source} -> {target}: path {exc}") from None
        edge = Edge(source, target, output, input, path)
        self._wire(target, [*self._edges_into(target), edge])
        self.edges.append(edge)
        return self

    def to_pipeline(self) -> Pipeline:
        pipeline = Pipeline(self.name, base_dir=self.base_dir)
        for name, fields in self.nodes.items():
            _check_node_fields(name, fields)
            data = dict(fields)
            data.setdefault("kind", StepKind.PROCESSING)
            data["inputs"] = {
                **self._wire(name, self._edges_into(name)),
                **(data.get("inputs") or {}),
            }
            data["depends_on"] = self._depends_on(name, data)
            kind = data.pop("kind")
            pipeline.step(name, kind, **data)
        return pipeline

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """Load a pipeline file (Python or YAML), as ``cit run --dag`` does."""

        return load_pipeline(Path(path))

    def _edges_into(self, target: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.target == target]

    def _wire(self, target: str, edges: list[Edge]) -> dict[str, StepOutput]:
        """The inputs ``edges`` give ``target``; one input wired from two sources is an error."""
        given = set(self.nodes[target].get("inputs") or {})
        wired: dict[str, tuple[Edge, StepOutput]] = {}
        for edge in edges:
            for input_name, ref in self._wires_of(edge):
                if input_name in given:
                    raise InvalidStep(
                        target,
                        f"inputs.{input_name}",
                        f"given in add_node and also wired by edge {edge}; keep one",
                    )
                earlier = wired.setdefault(input_name, (edge, ref))
                if earlier[1] != ref:
                    raise _fan_in_error(target, input_name, earlier, (edge, ref))
        return {name: ref for name, (_, ref) in wired.items()}

    def _wires_of(self, edge: Edge) -> list[tuple[str, StepOutput]]:
        if edge.output is not None:
            ref = StepOutput(step=edge.source, output=edge.output, path=edge.path)
            return [(edge.input or edge.output, ref)]
        return [(o, StepOutput(step=edge.source, output=o)) for o in self._outputs_of(edge.source)]

    def _outputs_of(self, name: str) -> list[str]:
        fields = self.nodes[name]
        if str(fields.get("kind", StepKind.PROCESSING)) == StepKind.TRAINING:
            return list(TRAINING_OUTPUTS[:1])
        return [str(output) for output in fields.get("outputs") or []]

    def _depends_on(self, target: str, data: dict[str, Any]) -> list[str]:
        declared = list(data.get("depends_on") or [])
        from_edges = [e.source for e in self._edges_into(target)]
        return list(dict.fromkeys([*declared, *from_edges]))


def _fan_in_error(
    target: str, input_name: str, first: tuple[Edge, StepOutput], second: tuple[Edge, StepOutput]
) -> InvalidStep:
    (first_edge, first_ref), (second_edge, second_ref) = first, second
    return InvalidStep(
        target,
        f"inputs.{input_name}",
        f"edges {first_edge} ({first_ref}) and {second_edge} ({second_ref}) both wire input "
        f"'{input_name}'; name each wire, e.g. add_edge('{second_edge.source}', '{target}', "
        f"output='{second_ref.output}', input='{second_edge.source}_{second_ref.output}')",
    )


def _check_node_fields(name: str, fields: Mapping[str, Any]) -> None:
    """Reject field types the wiring cannot use, before they surface as a TypeError."""
    inputs, outputs = fields.get("inputs"), fields.get("outputs")
    depends_on = fields.get("depends_on")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InvalidStep(name, "inputs", "must be a mapping of input name to input")
    if outputs is not None and not isinstance(outputs, list | tuple | Mapping):
        raise InvalidStep(name, "outputs", "must be a list of output names, or a mapping")
    if depends_on is not None and not _is_list_of_str(depends_on):
        raise InvalidStep(name, "depends_on", "must be a list of step names")


def _is_list_of_str(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)

"""``PipelineDAG``: the node-and-edge style of building a pipeline.

    dag = PipelineDAG("fraud")
    dag.add_node("Preprocess", kind="processing", script="preprocess.py", outputs=["train"])
    dag.add_node("Train", kind="training", script="train.py")
    dag.add_edge("Preprocess", "Train")          # every output of Preprocess becomes an input

Nodes carry the same fields as ``Pipeline.step``; edges wire outputs to inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .pipeline import TRAINING_OUTPUTS, Pipeline, StepKind, StepOutput, _caller_dir


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    output: str | None = None
    input: str | None = None


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
        self.nodes[name] = fields
        return self

    def add_edge(
        self, source: str, target: str, *, output: str | None = None, input: str | None = None
    ) -> PipelineDAG:
        """``target`` runs after ``source``; ``output``/``input`` name one wire (default: all)."""
        for node in (source, target):
            if node not in self.nodes:
                raise ValueError(f"edge {source} -> {target}: no node named '{node}'")
        self.edges.append(Edge(source, target, output, input))
        return self

    def to_pipeline(self) -> Pipeline:
        pipeline = Pipeline(self.name, base_dir=self.base_dir)
        for name, fields in self.nodes.items():
            data = dict(fields)
            data.setdefault("kind", StepKind.PROCESSING)
            data["inputs"] = {**self._wired_inputs(name), **dict(data.get("inputs") or {})}
            data["depends_on"] = self._depends_on(name, data)
            kind = data.pop("kind")
            pipeline.step(name, kind, **data)
        return pipeline

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """Load a pipeline file (Python or YAML), as ``cit run --dag`` does."""
        from .loader import load_pipeline

        return load_pipeline(Path(path))

    def _wired_inputs(self, target: str) -> dict[str, StepOutput]:
        wired: dict[str, StepOutput] = {}
        for edge in self.edges:
            if edge.target != target:
                continue
            if edge.output is not None:
                wired[edge.input or edge.output] = StepOutput(step=edge.source, output=edge.output)
                continue
            for output in self._outputs_of(edge.source):
                wired.setdefault(output, StepOutput(step=edge.source, output=output))
        return wired

    def _outputs_of(self, name: str) -> list[str]:
        fields = self.nodes[name]
        if str(fields.get("kind", StepKind.PROCESSING)) == StepKind.TRAINING:
            return list(TRAINING_OUTPUTS[:1])
        outputs = fields.get("outputs") or []
        return list(outputs)

    def _depends_on(self, target: str, data: dict[str, Any]) -> list[str]:
        declared = list(data.get("depends_on") or [])
        from_edges = [e.source for e in self.edges if e.target == target]
        return list(dict.fromkeys([*declared, *from_edges]))

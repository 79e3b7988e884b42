"""Inputs that take a folder inside another step's output, on real containers: one processing
output holds train/, val/ and test/; the training step gets train/ and the evaluation test/."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from orchestrator.dataflow import tester as dataflow
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.results import Status
from orchestrator.run.settings import RunSettings

from .conftest import write_script

PIPELINE = """
name: split-folders
steps:
  prep:
    kind: processing
    script: prep.py
    outputs: [processed_data]
  train:
    kind: training
    script: train.py
    inputs:
      train: {step: prep, output: processed_data, path: train}
  evaluate:
    kind: processing
    script: evaluate.py
    outputs: [metrics]
    inputs:
      test: {step: prep, output: processed_data, path: test}
"""

PREP = """
from pathlib import Path

root = Path("/opt/ml/processing/output/processed_data")
for split, rows in (("train", 6), ("val", 2), ("test", 3)):
    (root / split).mkdir(parents=True)
    lines = ["id,label"] + [f"{i},{i % 2}" for i in range(rows)]
    (root / split / "data.csv").write_text("\\n".join(lines) + "\\n")
(root / "summary.json").write_text("{}")
"""

SEEN = """
import json
import os
from pathlib import Path


def seen(folder):
    files = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())
    rows = sum(
        len((Path(folder) / f).read_text().splitlines()) - 1 for f in files if f.endswith(".csv")
    )
    return {"files": files, "rows": rows}
"""

TRAIN = SEEN + """
print("SEEN " + json.dumps(seen(os.environ["SM_CHANNEL_TRAIN"])), flush=True)
Path("/opt/ml/model/model.txt").write_text("ok")
"""

EVALUATE = SEEN + """
found = seen("/opt/ml/processing/input/test")
print("SEEN " + json.dumps(found), flush=True)
out = Path("/opt/ml/processing/output/metrics")
(out / "seen.json").write_text(json.dumps(found))
"""


def test_each_consumer_reads_only_its_folder(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    settings: RunSettings,
    tmp_path: Path,
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(PIPELINE).lstrip())
    for name, body in (("prep.py", PREP), ("train.py", TRAIN), ("evaluate.py", EVALUATE)):
        write_script(tmp_path, name, body)

    result = dataflow.test_flow(
        load_and_validate(path), path, RunContext(engine=engine, settings=settings)
    )
    assert result.run is not None
    assert result.run_status is Status.SUCCEEDED, [
        (s.name, s.status, s.reason, s.log_tail) for s in result.run.steps
    ]

    train_log = Path(result.run.step("train").log_file or "").read_text()
    [train_seen] = [json.loads(line[5:]) for line in train_log.splitlines() if line[:5] == "SEEN "]
    assert train_seen == {"files": ["data.csv"], "rows": 6}
    seen = Path(result.run_dir) / "steps" / "evaluate" / "outputs" / "metrics" / "seen.json"
    assert json.loads(seen.read_text()) == {"files": ["data.csv"], "rows": 3}

    edges = {e.edge: e for e in result.edges}
    assert list(edges) == [
        "prep.processed_data/train -> train.train",
        "prep.processed_data/test -> evaluate.test",
    ]
    for edge, rows in zip(edges.values(), (6, 3), strict=True):
        assert edge.is_compatible and edge.issues == []
        assert edge.captured is not None and edge.captured.files == 1
        assert [(d.path, d.rows) for d in edge.captured.datasets] == [("", rows)]
    assert result.exit_code == 0


LINKING_PREP = """
import os
from pathlib import Path

root = Path("/opt/ml/processing/output/processed_data")
(root / "train").mkdir(parents=True)
(root / "train" / "data.csv").write_text("id,label\\n1,0\\n")
os.symlink("/etc", root / "test")
"""


def test_a_folder_the_producer_left_as_a_link_is_never_mounted(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    settings: RunSettings,
    tmp_path: Path,
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(PIPELINE).lstrip())
    for name, body in (("prep.py", LINKING_PREP), ("train.py", TRAIN), ("evaluate.py", EVALUATE)):
        write_script(tmp_path, name, body)

    result = dataflow.test_flow(
        load_and_validate(path), path, RunContext(engine=engine, settings=settings)
    )
    assert result.run is not None
    assert result.run.step("train").status is Status.SUCCEEDED
    evaluate = result.run.step("evaluate")
    assert evaluate.status is Status.SKIPPED and evaluate.log_tail == []
    assert "(prep.processed_data/test), and 'prep' wrote no such folder" in (evaluate.reason or "")
    [edge] = [e for e in result.edges if e.consumer == "evaluate"]
    assert [i.rule for i in edge.issues] == ["sub_path_missing"] and not edge.is_compatible
    assert result.exit_code == 1

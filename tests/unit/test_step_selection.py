"""`cit run --from/--until/--only/--reuse` on the fake engine: which steps run, where the others'
outputs come from, and one-line errors (exit 2) when they are not there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs
from .conftest import write

runner = CliRunner()

CHAIN = """
name: chain
steps:
  prep:
    kind: processing
    script: scripts/prep.py
    outputs: [out]
  train:
    kind: processing
    script: scripts/train.py
    inputs: {data: {step: prep, output: out}}
    outputs: [model]
  evaluate:
    kind: processing
    script: scripts/evaluate.py
    inputs: {model: {step: train, output: model}, data: {step: prep, output: out}}
    outputs: [metrics]
"""


class Engines:
    """A fresh fake engine per run, each remembered."""

    def __init__(self, failing: str | None = None) -> None:
        self.made: list[FakeEngine] = []
        self.failing = failing

    def __call__(self) -> FakeEngine:
        behaviours = {
            "prep": FakeBehaviour(writes={"/opt/ml/processing/output/out/a.csv": "x\n1\n"}),
            "train": FakeBehaviour(writes={"/opt/ml/processing/output/model/m.txt": "m"}),
            "evaluate": FakeBehaviour(
                writes={"/opt/ml/processing/output/metrics/metrics.json": '{"auc": 1}'}
            ),
        }
        if self.failing:
            behaviours[self.failing] = FakeBehaviour(exit_code=1)
        engine = FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})
        self.made.append(engine)
        return engine

    def ran(self) -> list[str]:
        return sorted(spec.labels["cit.step"] for spec in self.made[-1].specs)


def cit(project: Path, monkeypatch: pytest.MonkeyPatch, engines: Engines, *args: str) -> Any:
    monkeypatch.setattr(cli, "connect", engines)
    dag = write(project, "chain.yaml", CHAIN)
    options = ["run", "--dag", str(dag), "--cit-dir", str(project / ".cit"), "-q", "--no-cache"]
    return runner.invoke(app, [*options, *args], env={"COLUMNS": "200"})


def manifest(project: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((project / ".cit" / "runs" / "latest" / "manifest.json").read_text())
    return {step["name"]: step for step in data["steps"]}


def first_run(project: Path, monkeypatch: pytest.MonkeyPatch, engines: Engines) -> str:
    done = cit(project, monkeypatch, engines)
    assert done.exit_code == 0, done.output
    return (project / ".cit" / "runs" / "latest").resolve().name


def test_from_runs_that_step_and_after_taking_the_rest(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = Engines()
    earlier = first_run(project, monkeypatch, engines)
    done = cit(project, monkeypatch, engines, "--from", "train")
    assert done.exit_code == 0, done.output
    assert engines.ran() == ["evaluate", "train"]
    steps = manifest(project)
    assert steps["prep"]["cached_from"] == earlier
    assert steps["train"]["cached_from"] is None
    taken = Path(steps["prep"]["outputs"][0]["path"]) / "a.csv"
    assert taken.read_text() == "x\n1\n"


def test_only_runs_the_named_steps(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engines = Engines()
    first_run(project, monkeypatch, engines)
    done = cit(project, monkeypatch, engines, "--only", "evaluate")
    assert done.exit_code == 0, done.output
    assert engines.ran() == ["evaluate"]
    steps = manifest(project)
    assert steps["prep"]["cached_from"] and steps["train"]["cached_from"]


def test_until_runs_that_step_and_what_it_needs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = Engines()
    done = cit(project, monkeypatch, engines, "--until", "train")
    assert done.exit_code == 0, done.output
    assert engines.ran() == ["prep", "train"]
    left_out = manifest(project)["evaluate"]
    assert left_out["status"] == "skipped" and left_out["excluded"]
    assert "not chosen (--until train)" in left_out["reason"]


def test_reuse_takes_the_outputs_of_the_run_named(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = Engines()
    older = first_run(project, monkeypatch, engines)
    first_run(project, monkeypatch, engines)
    done = cit(project, monkeypatch, engines, "--from", "evaluate", "--reuse", older)
    assert done.exit_code == 0, done.output
    steps = manifest(project)
    assert steps["prep"]["cached_from"] == older and steps["train"]["cached_from"] == older


def test_the_latest_run_where_the_step_succeeded_is_taken(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = first_run(project, monkeypatch, Engines())
    failed = cit(project, monkeypatch, Engines(failing="train"))
    assert failed.exit_code == 1
    engines = Engines()
    done = cit(project, monkeypatch, engines, "--from", "evaluate")
    assert done.exit_code == 0, done.output
    assert manifest(project)["train"]["cached_from"] == good


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "nope"], "--from: no step named 'nope'; steps: prep, train, evaluate"),
        (["--only", "train", "--from", "train"], "--only names every step to run"),
        (["--reuse", "x"], "--reuse RUN_ID goes with --from, --until or --only"),
        (["--from", "evaluate", "--until", "prep"], "does not come after"),
        (["--only", " , "], "--only: name at least one step"),
    ],
)
def test_bad_choices_are_one_line_and_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    done = cit(project, monkeypatch, Engines(), *args)
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert "Traceback" not in done.output
    assert run_dirs(project / ".cit" / "runs") == []


def test_outputs_needed_but_never_made_is_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = cit(project, monkeypatch, Engines(), "--from", "train")
    assert done.exit_code == 2, done.output
    assert "step 'prep' is needed, and no earlier run of 'chain'" in done.output
    assert "--from prep" in done.output


def test_a_failed_step_in_the_run_reused_is_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cit(project, monkeypatch, Engines(failing="train")).exit_code == 1
    failed = (project / ".cit" / "runs" / "latest").resolve().name
    done = cit(project, monkeypatch, Engines(), "--from", "evaluate", "--reuse", failed)
    assert done.exit_code == 2, done.output
    assert f"step 'train' did not succeed in run {failed} (failed)" in done.output


def test_outputs_deleted_since_are_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    earlier = first_run(project, monkeypatch, Engines())
    shutil.rmtree(project / ".cit" / "runs" / earlier / "steps" / "prep" / "outputs")
    done = cit(project, monkeypatch, Engines(), "--only", "train", "--reuse", earlier)
    assert done.exit_code == 2, done.output
    assert "the outputs of step 'prep'" in done.output and "are gone" in done.output


def test_a_missing_run_to_reuse_is_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done = cit(project, monkeypatch, Engines(), "--from", "train", "--reuse", "20990101-x")
    assert done.exit_code == 2
    assert "--reuse 20990101-x: no such run in" in done.output


def test_a_step_taken_from_an_earlier_run_needs_no_image_of_its_own(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its image, GPUs, wheels and secrets are not asked for: it starts nothing."""
    own = CHAIN.replace(
        "script: scripts/prep.py", "script: scripts/prep.py\n    image: team/prep:1"
    )
    monkeypatch.setattr(cli, "connect", lambda: with_image(Engines()(), "team/prep:1"))
    dag = write(project, "chain.yaml", own)
    options = ["run", "--dag", str(dag), "--cit-dir", str(project / ".cit"), "-q", "--no-cache"]
    assert runner.invoke(app, options).exit_code == 0
    engines = Engines()  # the image is gone here: a pull would be refused
    monkeypatch.setattr(cli, "connect", engines)
    done = runner.invoke(app, [*options, "--from", "train"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert engines.ran() == ["evaluate", "train"]


def test_a_step_taken_from_an_earlier_run_needs_no_secret_of_its_own(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host variable its secret came from may be gone: it starts nothing."""
    own = CHAIN.replace(
        "script: scripts/prep.py", "script: scripts/prep.py\n    secrets: {TOKEN: CIT_PREP_TOKEN}"
    )
    dag = write(project, "chain.yaml", own)
    options = ["run", "--dag", str(dag), "--cit-dir", str(project / ".cit"), "-q", "--no-cache"]
    monkeypatch.setattr(cli, "connect", Engines())
    monkeypatch.setenv("CIT_PREP_TOKEN", "t0ken")
    assert runner.invoke(app, options).exit_code == 0
    monkeypatch.delenv("CIT_PREP_TOKEN")
    engines = Engines()
    monkeypatch.setattr(cli, "connect", engines)
    done = runner.invoke(app, [*options, "--from", "train"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert engines.ran() == ["evaluate", "train"]
    refused = runner.invoke(app, options, env={"COLUMNS": "200"})
    assert refused.exit_code == 2 and "CIT_PREP_TOKEN" in refused.output


def with_image(engine: FakeEngine, image: str) -> FakeEngine:
    engine.images[image] = "sha256:prep"
    return engine


def test_files_removed_since_are_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = first_run(project, monkeypatch, Engines())
    (project / ".cit" / "runs" / earlier / "steps" / "prep" / "outputs" / "out" / "a.csv").unlink()
    done = cit(project, monkeypatch, Engines(), "--from", "train")
    assert done.exit_code == 2, done.output
    assert (
        f"outputs of prep.out in run {earlier} changed since it ran: 1 file, 4 B recorded, 0 now;"
        " rerun it or pick another with --reuse"
    ) in done.output
    assert "Traceback" not in done.output


def test_cached_from_names_the_run_where_the_step_ran(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that only took a step's outputs is no place to send anyone looking for its run."""
    origin = first_run(project, monkeypatch, Engines())
    assert cit(project, monkeypatch, Engines(), "--from", "train").exit_code == 0
    between = (project / ".cit" / "runs" / "latest").resolve().name
    done = cit(project, monkeypatch, Engines(), "--from", "train")
    assert done.exit_code == 0, done.output
    assert manifest(project)["prep"]["cached_from"] == origin
    done = cit(project, monkeypatch, Engines(), "--only", "evaluate", "--reuse", between)
    assert done.exit_code == 0, done.output
    steps = manifest(project)
    assert steps["prep"]["cached_from"] == origin and steps["train"]["cached_from"] == between

"""The step cache on the fake engine: keys, reuse, read-only entries, eviction, secrets."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings, Status
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.results import RunResult
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.run.step_cache import ENTRIES, ENTRY_FILE, clear_cache

from .conftest import write

CHAIN = """
name: chain
steps:
  prep:
    kind: processing
    script: scripts/prep.py
    inputs: {raw: data}
    outputs: [out]
    env: {MODE: fast}
    secrets: {TOKEN: HOST_TOKEN}
  train:
    kind: training
    script: scripts/train.py
    inputs: {train: {step: prep, output: out}}
    hyperparameters: {depth: 3}
  evaluate:
    kind: processing
    script: scripts/evaluate.py
    inputs: {model: {step: train, output: model}}
    outputs: [metrics]
"""

SECRET = "s3cr3t-value-never-written"


def settings(tmp: Path, **changes: object) -> RunSettings:
    base = RunSettings(
        cit_dir=tmp / ".cit",
        max_workers=2,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
        step_cache=True,
        secrets={"HOST_TOKEN": SECRET},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def engine(images: dict[str, str] | None = None) -> FakeEngine:
    return FakeEngine(
        {
            "prep": FakeBehaviour(writes={"/opt/ml/processing/output/out/a.csv": "x,y\n1,2\n"}),
            "train": FakeBehaviour(writes={"/opt/ml/model/model.txt": "weights"}),
            "evaluate": FakeBehaviour(
                writes={"/opt/ml/processing/output/metrics/metrics.json": '{"auc": 0.9}'}
            ),
        },
        images=images or {RUNNER_IMAGE: "sha256:runner"},
    )


def ran(fake: FakeEngine) -> list[str]:
    return sorted(spec.labels["cit.step"] for spec in fake.specs)


def run(project: Path, fake: FakeEngine, **changes: object) -> RunResult:
    pipeline = project / "chain.yaml"
    if not pipeline.exists():
        write(project, "chain.yaml", CHAIN)
    return execute_pipeline(pipeline, fake, settings=settings(project, **changes))


def keys(result: RunResult) -> dict[str, str | None]:
    return {step.name: step.cache_key for step in result.steps}


def test_a_second_run_reuses_every_step_without_running_it(project: Path) -> None:
    first = run(project, engine())
    fake = engine()
    second = run(project, fake)
    assert first.ok and second.ok
    assert fake.specs == []
    assert {s.name: s.cached_from for s in second.steps} == dict.fromkeys(
        ("prep", "train", "evaluate"), first.run_id
    )
    assert all(s.status is Status.SUCCEEDED for s in second.steps)
    metrics = Path(second.step("evaluate").outputs[0].path) / "metrics.json"
    assert json.loads(metrics.read_text()) == {"auc": 0.9}
    assert (Path(second.step("train").outputs[0].path) / "model.tar.gz").is_file()
    manifest = json.loads((Path(second.run_dir) / "manifest.json").read_text())
    assert manifest["steps"][0]["cached_from"] == first.run_id


def test_cached_outputs_are_hard_links_made_read_only(project: Path) -> None:
    first = run(project, engine())
    second = run(project, engine())
    old = Path(first.step("prep").outputs[0].path) / "a.csv"
    new = Path(second.step("prep").outputs[0].path) / "a.csv"
    assert os.path.samefile(old, new)
    assert not stat.S_IMODE(new.stat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_changing_one_script_reruns_that_step_and_its_descendants(project: Path) -> None:
    run(project, engine())
    (project / "scripts" / "train.py").write_text("print('changed')\n")
    fake = engine()
    result = run(project, fake)
    assert ran(fake) == ["evaluate", "train"]
    assert result.step("prep").cached_from is not None
    assert result.step("train").cached_from is None


def test_same_output_bytes_let_descendants_be_reused(project: Path) -> None:
    """Inputs count by content: a step that reran and wrote the same bytes changes nothing."""
    run(project, engine())
    (project / "scripts" / "prep.py").write_text("print('refactored')\n")
    fake = engine()
    run(project, fake)
    assert ran(fake) == ["prep"]


@pytest.mark.parametrize(
    ("ingredient", "change"),
    [
        ("input data", lambda p: (p / "data" / "raw.csv").write_text("a,b\n9,9\n")),
        ("env", lambda p: _edit(p, "MODE: fast", "MODE: slow")),
        ("secret name", lambda p: _edit(p, "TOKEN: HOST_TOKEN", "KEY: HOST_TOKEN")),
        (
            "instance",
            lambda p: _edit(
                p, "env: {MODE: fast}", "env: {MODE: fast}\n    instance: {type: ml.m5.xlarge}"
            ),
        ),
        (
            "arguments",
            lambda p: _edit(p, "env: {MODE: fast}", "env: {MODE: fast}\n    arguments: [--x]"),
        ),
        (
            "entrypoint",
            lambda p: _edit(
                p, "env: {MODE: fast}", "env: {MODE: fast}\n    entrypoint: [python3, -u]"
            ),
        ),
    ],
)
def test_each_ingredient_changes_the_key(project: Path, ingredient: str, change: object) -> None:
    before = keys(run(project, engine()))
    change(project)  # type: ignore[operator]
    after = keys(run(project, engine(), reuse_cached=False))
    assert after["prep"] != before["prep"], ingredient
    assert after["train"] == before["train"], "the bytes train reads did not change"


def test_nothing_changed_gives_the_same_keys(project: Path) -> None:
    """A training step that reruns packs a new model.tar.gz (file times inside), so only the
    steps before it compare once everything reran."""
    before = keys(run(project, engine()))
    again = keys(run(project, engine(), reuse_cached=False))
    assert [again["prep"], again["train"]] == [before["prep"], before["train"]]
    assert keys(run(project, engine())) == again


def test_hyperparameters_change_the_training_key(project: Path) -> None:
    before = keys(run(project, engine()))
    _edit(project, "depth: 3", "depth: 4")
    after = keys(run(project, engine()))
    assert after["prep"] == before["prep"] and after["train"] != before["train"]


def test_the_image_id_and_secret_values_count_as_they_should(project: Path) -> None:
    before = keys(run(project, engine()))
    other_secret = keys(
        run(project, engine(), reuse_cached=False, secrets={"HOST_TOKEN": "another"})
    )
    rebuilt = keys(run(project, engine({RUNNER_IMAGE: "sha256:rebuilt"}), reuse_cached=False))
    assert other_secret["prep"] == before["prep"], "a secret counts by name, not value"
    assert all(rebuilt[name] != before[name] for name in before)


def test_secret_values_reach_no_cache_file(project: Path) -> None:
    run(project, engine())
    run(project, engine())
    for path in (project / ".cit").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_no_cache_runs_every_step_and_refreshes_the_cache(project: Path) -> None:
    run(project, engine())
    fake = engine()
    result = run(project, fake, reuse_cached=False)
    assert ran(fake) == ["evaluate", "prep", "train"]
    assert all(step.cached_from is None for step in result.steps)


def test_a_step_with_cache_false_always_runs(project: Path) -> None:
    write(
        project,
        "chain.yaml",
        CHAIN.replace("    hyperparameters:", "    cache: false\n    hyperparameters:"),
    )
    run(project, engine())
    fake = engine()
    result = run(project, fake)
    assert ran(fake) == ["evaluate", "train"], "a new model.tar.gz: evaluate runs too"
    assert result.step("prep").cached_from is not None
    assert result.step("train").cache_key is None


def test_the_python_api_takes_cache_false(project: Path) -> None:
    from orchestrator import Pipeline

    pipeline = Pipeline("p", base_dir=project)
    pipeline.processing("prep", script="scripts/prep.py", cache=False)
    assert pipeline.steps["prep"].cache is False


def test_a_failed_step_is_not_cached(project: Path) -> None:
    broken = engine()
    broken.behaviours["train"] = FakeBehaviour(exit_code=1)
    run(project, broken)
    fake = engine()
    run(project, fake)
    assert ran(fake) == ["evaluate", "train"]


def test_an_entry_whose_files_changed_is_dropped_and_the_step_runs(project: Path) -> None:
    first = run(project, engine())
    cached = Path(first.step("prep").outputs[0].path) / "a.csv"
    cached.chmod(0o644)
    cached.write_text("x,y\n6,6\n")
    fake = engine()
    run(project, fake)
    assert "prep" in ran(fake)


def test_oldest_entries_go_beyond_the_cap(project: Path) -> None:
    run(project, engine(), cache_max_bytes=0)
    entries = project / ".cit" / "cache" / ENTRIES
    assert [p for p in entries.iterdir() if not p.name.startswith(".")] == []
    run(project, engine())
    assert len(list(entries.glob(f"*/{ENTRY_FILE}"))) == 3


def test_a_lowered_cap_applies_when_the_next_run_starts(project: Path) -> None:
    run(project, engine())
    entries = project / ".cit" / "cache" / ENTRIES
    fake = engine()
    run(project, fake, cache_max_bytes=0)
    assert len(fake.specs) == 3, "entries over the cap are gone before the run looks for them"
    assert [p for p in entries.iterdir() if not p.name.startswith(".")] == []


def test_clear_cache_empties_it(project: Path) -> None:
    run(project, engine())
    removed, size = clear_cache(project / ".cit" / "cache")
    assert removed == 3 and size > 0
    fake = engine()
    run(project, fake)
    assert len(fake.specs) == 3


def test_without_the_setting_nothing_is_cached(project: Path) -> None:
    run(project, engine(), step_cache=False)
    fake = engine()
    run(project, fake, step_cache=False)
    assert len(fake.specs) == 3
    assert not (project / ".cit" / "cache").exists()


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "chain.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_cit_clean_cache_empties_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli import app as cli_app

    run(project, engine())
    monkeypatch.setattr(cli_app, "docker", lambda: engine())
    done = CliRunner().invoke(cli_app.app, ["clean", "--cache", "--cit-dir", str(project / ".cit")])
    assert done.exit_code == 0, done.output
    assert "emptied: 3 entries" in done.output
    assert not list((project / ".cit" / "cache" / ENTRIES).iterdir())
    fake = engine()
    run(project, fake)
    assert len(fake.specs) == 3


def test_a_cache_that_cannot_be_written_costs_only_time(project: Path) -> None:
    (project / ".cit" / "cache").mkdir(parents=True)
    (project / ".cit" / "cache" / ENTRIES).write_text("not a folder")
    first = run(project, engine())
    fake = engine()
    second = run(project, fake)
    assert first.ok and second.ok
    assert len(fake.specs) == 3


def test_a_cached_step_shows_as_cached_in_every_view(project: Path) -> None:
    from rich.console import Console

    from orchestrator.report.formats import ReportFormat
    from orchestrator.run.progress import print_summary, step_line
    from orchestrator.suite.pipeline import run_pipeline

    write(project, "chain.yaml", CHAIN)
    formats = [ReportFormat.JUNIT, ReportFormat.HTML]

    def whole_run() -> Any:
        return run_pipeline(
            project / "chain.yaml", engine(), settings=settings(project), formats=formats
        )

    first = whole_run()
    second = whole_run()
    earlier = first.run.run_id
    assert second.exit_code == 0
    report = json.loads((second.run_dir / "report.json").read_text())
    steps = [t for t in report["suites"][0]["tests"] if t["kind"] == "step"]
    assert {t["cached_from"] for t in steps} == {earlier}
    assert all(t["outcome"] == "passed" for t in steps)
    assert steps[0]["message"] == f"cached: not run, outputs of run {earlier}"
    junit = (second.run_dir / "report.xml").read_text()
    assert junit.count(f'<property name="cached_from" value="{earlier}" />') == 3
    html = (second.run_dir / "report.html").read_text()
    assert html.count(f'data-cached-from="{earlier}"') == 3
    assert '<span class="badge tone-ok">cached</span>' in html
    console = Console(width=200, record=True)
    print_summary(console, second.run)
    shown = console.export_text()
    assert shown.count("│ cached ") == 3
    assert f"outputs are those of run {earlier}): prep, train, evaluate" in shown
    assert "step prep cached in" in step_line(second.run.step("prep")).plain
    from orchestrator.report.console import history_table
    from orchestrator.report.history import list_runs

    newest, older = list_runs(project / ".cit" / "runs")
    assert newest.cached == ["prep", "train", "evaluate"] and older.cached == []
    assert newest.duration_seconds == report["duration_seconds"]  # the checks count too
    console = Console(width=200, record=True)
    console.print(history_table([newest]))
    assert "prep cached, train cached, evaluate cached" in console.export_text()


def test_a_damaged_entry_is_dropped_and_the_step_runs(project: Path) -> None:
    run(project, engine())
    for entry in (project / ".cit" / "cache" / ENTRIES).glob(f"*/{ENTRY_FILE}"):
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps({**data, "files": {"out/a.csv": "not a pair"}}))
    fake = engine()
    result = run(project, fake)
    assert result.ok
    assert ran(fake) == ["evaluate", "prep", "train"]


PAIR = """
name: pair
steps:
  a:
    kind: processing
    script: scripts/prep.py
    inputs: {raw: data}
    outputs: [r]
  b:
    kind: processing
    script: scripts/evaluate.py
    inputs: {r: {step: a, output: r}}
    outputs: [s]
"""


def test_a_step_created_ahead_is_still_served_from_the_cache(project: Path) -> None:
    """Its container, created while its upstream reran, made its output folders; the cached
    outputs go into them, and the container goes."""
    write(project, "pair.yaml", PAIR)

    def pair(seconds: float) -> FakeEngine:
        return FakeEngine(
            {
                "a": FakeBehaviour(
                    writes={"/opt/ml/processing/output/r/a.csv": "x\n1\n"}, seconds=seconds
                ),
                "b": FakeBehaviour(writes={"/opt/ml/processing/output/s/s.csv": "y\n2\n"}),
            },
            images={RUNNER_IMAGE: "sha256:runner"},
        )

    execute_pipeline(project / "pair.yaml", pair(0), settings=settings(project))
    (project / "scripts" / "prep.py").write_text("print('refactored')\n")
    fake = pair(1.0)
    result = execute_pipeline(project / "pair.yaml", fake, settings=settings(project))
    assert sorted(spec.labels["cit.step"] for spec in fake.specs) == ["a"]
    assert result.step("b").cached_from is not None
    assert fake.created, "b's container is created while a runs"
    assert set(fake.created) <= set(fake.removed)
    assert (Path(result.step("b").outputs[0].path) / "s.csv").read_text() == "y\n2\n"

"""Part of a pipeline: ``--from STEP``, ``--until STEP``, ``--only A,B``; what the chosen steps
need from the others comes from an earlier run (``--reuse RUN_ID``, else the latest that has it).

    pipeline, taken = select_steps(pipeline, StepSelection(from_step="train"), runs_dir)

The steps left out are reported as skipped (never a failure); each step outside the choice
whose outputs a chosen step reads is *taken*: its outputs are linked from the earlier run,
as the step cache does, and it shows as cached from that run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..container_files import regular_files
from ..errors import CitError
from ..pipeline.graph import ancestors, descendants
from ..pipeline.model import Pipeline, SkippedStep, Step
from ..pipeline.wiring import branches_within
from ..sizes import human_size
from .rundir import LATEST, MANIFEST
from .sagemaker_job import StepPaths


@dataclass(frozen=True)
class StepSelection:
    """Which steps of a pipeline run (``cit run --from/--until/--only``) and where the outputs
    of the others they need come from (``--reuse``)."""

    from_step: str | None = None
    until: str | None = None
    only: tuple[str, ...] = ()
    reuse: str | None = None
    """An earlier run's id: the outputs taken come from it (default: the latest run that has
    each)."""

    def __bool__(self) -> bool:
        return bool(self.from_step or self.until or self.only)


def select_steps(
    pipeline: Pipeline, selection: StepSelection, runs_dir: Path
) -> tuple[Pipeline, dict[str, Path]]:
    """The pipeline cut to ``selection`` and, for each step it takes from an earlier run, that
    run's step folder. A ``CitError`` (exit 2) names an unknown step, or a step whose outputs
    no earlier run has."""
    chosen = chosen_steps(pipeline.steps, selection)
    needed = {up for name in chosen for up in pipeline.steps[name].upstream if up not in chosen}
    for name in sorted(needed):
        if not pipeline.steps[name].kind.runs_container:
            raise CitError(
                f"{_option(selection)}: step '{name}' ({pipeline.steps[name].kind.value}) is "
                "needed and runs no container, so no earlier run holds outputs of it; "
                "choose it too"
            )
    taken = {name: earlier_step(runs_dir, pipeline.name, name, selection) for name in needed}
    steps = {
        name: _standing_alone(step) if name in taken else step
        for name, step in pipeline.steps.items()
        if name in chosen or name in taken
    }
    cut = pipeline.with_steps({n: branches_within(s, steps) for n, s in steps.items()})
    why = f"not chosen ({_option(selection)})"
    cut.skipped += [
        SkippedStep(name, step.kind.value, why)
        for name, step in pipeline.steps.items()
        if name not in steps
    ]
    return cut, taken


def chosen_steps(steps: Mapping[str, Step], selection: StepSelection) -> set[str]:
    """The steps ``selection`` runs."""
    for option, names in (
        ("--from", [selection.from_step] if selection.from_step else []),
        ("--until", [selection.until] if selection.until else []),
        ("--only", list(selection.only)),
    ):
        for name in names:
            if name not in steps:
                raise CitError(f"{option}: no step named '{name}'; steps: {', '.join(steps)}")
    if selection.only:
        if selection.from_step or selection.until:
            raise CitError("--only names every step to run: give it without --from and --until")
        return set(selection.only)
    chosen = set(steps)
    if selection.from_step:
        chosen &= {selection.from_step} | descendants(steps, selection.from_step)
    if selection.until:
        chosen &= {selection.until} | ancestors(steps, [selection.until])
    if not chosen:
        raise CitError(
            f"--from {selection.from_step} --until {selection.until}: "
            f"'{selection.until}' does not come after '{selection.from_step}'; no step to run"
        )
    return chosen


def earlier_step(runs_dir: Path, pipeline: str, step: str, selection: StepSelection) -> Path:
    """The folder of ``step`` in the run ``--reuse`` names, else in the latest run of
    ``pipeline`` where it passed and its outputs are still there."""
    if selection.reuse:
        folder = runs_dir / selection.reuse
        if not (folder / MANIFEST).is_file():
            raise CitError(f"--reuse {selection.reuse}: no such run in {runs_dir}")
        problem = _unusable(folder, pipeline, step)
        if problem:
            raise CitError(
                f"--reuse {selection.reuse}: {problem}; choose '{step}' too, or another run"
            )
        return _unchanged_since(folder, step)
    for folder in sorted(_run_folders(runs_dir), key=_started_at, reverse=True):
        if _unusable(folder, pipeline, step) is None:
            return _unchanged_since(folder, step)
    raise CitError(
        f"{_option(selection)}: step '{step}' is needed, and no earlier run of '{pipeline}' in "
        f"{runs_dir} has its outputs (it must have succeeded); choose '{step}' too "
        f"(--from {step}), or run the whole pipeline first"
    )


def _run_folders(runs_dir: Path) -> list[Path]:
    try:
        return [p for p in runs_dir.iterdir() if p.name != LATEST and not p.name.startswith(".")]
    except OSError:
        return []


def _started_at(run_dir: Path) -> tuple[str, float]:
    """When a run started: its id's second, then its manifest's exact time (two runs can
    start in the same second)."""
    try:
        started = float(json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        started = 0.0
    return run_dir.name[:15], started


def _unusable(run_dir: Path, pipeline: str, step: str) -> str | None:
    """Why ``run_dir`` cannot give the outputs of ``step``; None when it can."""
    try:
        manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no run at {run_dir}"
    if not isinstance(manifest, dict) or manifest.get("pipeline") != pipeline:
        return f"run {run_dir.name} is not of pipeline '{pipeline}'"
    record = next((s for s in manifest.get("steps", []) if s.get("name") == step), None)
    if record is None or record.get("status") != "succeeded" or record.get("findings"):
        status = record.get("status") if record else "not in it"
        return f"step '{step}' did not succeed in run {run_dir.name} ({status})"
    paths = StepPaths(run_dir / "steps" / step)
    for output in record.get("outputs", []):
        if not paths.output(str(output.get("name"))).is_dir():
            return f"the outputs of step '{step}' in run {run_dir.name} are gone"
    return None


def _unchanged_since(run_dir: Path, step: str) -> Path:
    """The folder of ``step`` in ``run_dir`` when each of its outputs still holds the files
    and bytes the run recorded; else a ``CitError`` naming the output that changed."""
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    record = next(s for s in manifest["steps"] if s.get("name") == step)
    paths = StepPaths(run_dir / "steps" / step)
    for output in record.get("outputs", []):
        recorded = (int(output.get("files", 0)), int(output.get("bytes", 0)))
        found = regular_files(paths.output(str(output.get("name"))))
        now = (len(found), sum(f.size for f in found))
        if now != recorded:
            raise CitError(
                f"outputs of {step}.{output.get('name')} in run {run_dir.name} changed since it "
                f"ran: {_amount(*recorded)} recorded, {_amount(*now)} now; rerun it or pick "
                "another with --reuse"
            )
    return paths.root


def _amount(files: int, size: int) -> str:
    if files == 0:
        return "0"
    return f"{files} file{'' if files == 1 else 's'}, {human_size(size)}"


def _standing_alone(step: Step) -> Step:
    """A step taken from an earlier run: it runs nothing, so it reads and waits for nothing."""
    return step.model_copy(update={"inputs": {}, "depends_on": []})


def _option(selection: StepSelection) -> str:
    """The options as given: ``--from train --until evaluate``, ``--only a,b``."""
    if selection.only:
        return f"--only {','.join(selection.only)}"
    given = [("--from", selection.from_step), ("--until", selection.until)]
    return " ".join(f"{option} {name}" for option, name in given if name)

"""``cit shell``: a container like the one a step of an earlier run had — its image, mounts
(inputs read-only), environment, user, limits and network — rebuilt from the run's manifest.

The manifest records the spec with secrets' values masked and, for each secret, the host
variable it came from: the values are read from the host environment again now, and one the
host no longer has is left out (and said so). Every folder of the run directory it mounts must
still be a real folder (a link a step wrote is never followed). A writable folder holding a file
shared with the step cache or another run (a hard link) is mounted read-only: the container
runs as root, which a file's read-only mode does not stop, and a write there would change every
run that shares it.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..container_files import is_real_dir_inside
from ..engines.base import PROCESS_IMAGE_ID
from ..engines.spec import ContainerSpec, Mount
from ..errors import RunDirectoryError
from .plan import owner_label, run_labels
from .results import RunResult, Status, StepResult
from .rundir import read_manifest

SHELL_LABEL = "cit.shell"
LOGIN_SHELL = ("/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh")
"""What ``cit shell`` runs without a command: bash where the image has it, else sh."""
CLIENT_VARIABLE_PREFIX = "DOCKER_"
"""Variables the engine's command-line client reads itself: a secret of that name is not
handed on through the client's environment."""


@dataclass(frozen=True)
class ShellSpec:
    """The container to open, and what differs from the step's (one line each)."""

    spec: ContainerSpec
    image_choices: tuple[str, ...]
    """The image to run, best first: the exact image the step ran on, then its tag."""
    notes: list[str] = field(default_factory=list)


def shell_spec(
    run_dir: Path,
    step_name: str,
    command: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> ShellSpec:
    """The container for a shell (or ``command``) in step ``step_name`` of the run in
    ``run_dir``; a ``RunDirectoryError`` saying why when there cannot be one."""
    run = read_manifest(run_dir)
    step = _step(run, step_name)
    recorded = step.container
    root = run_dir.resolve()
    mounts = _mounts(recorded.get("mounts") or [], root, run.run_id, step_name)
    mounts, shared_notes = _shared_read_only(mounts, root)
    secret_env, notes = _secrets(step, os.environ if environ is None else environ)
    notes = shared_notes + notes
    line = list(command) or list(LOGIN_SHELL)
    spec = ContainerSpec(
        name=f"{recorded['name']}-shell-{secrets.token_hex(3)}",
        image=str(recorded["image"]),
        entrypoint=(line[0],),
        command=tuple(line[1:]),
        env={str(k): str(v) for k, v in (recorded.get("env") or {}).items()},
        secret_env=secret_env,
        mounts=mounts,
        labels=_labels(run, step_name),
        network=bool(recorded.get("network")),
        cpus=recorded.get("cpus"),
        memory_bytes=recorded.get("memory_bytes"),
        pids_limit=recorded.get("pids_limit"),
        user=recorded.get("user"),
        working_dir=recorded.get("working_dir"),
        hostname=recorded.get("hostname"),
        loopback_ports=tuple(recorded.get("loopback_ports") or ()),
    )
    choices = tuple(dict.fromkeys(filter(None, [step.image_id, spec.image])))
    return ShellSpec(spec, choices, notes)


def _step(run: RunResult, name: str) -> StepResult:
    try:
        step = run.step(name)
    except KeyError:
        known = ", ".join(s.name for s in run.steps) or "none"
        raise RunDirectoryError(
            f"run {run.run_id} has no step '{name}' (its steps: {known})"
        ) from None
    if step.cached_from is not None:  # it did not run here: its config folder was never made
        raise RunDirectoryError(
            f"step '{name}' of run {run.run_id} was taken from the step cache and ran in run "
            f"{step.cached_from}: cit shell {step.cached_from} {name}"
        )
    if not step.container:
        raise RunDirectoryError(f"step '{name}' of run {run.run_id} runs no container")
    if step.image_id == PROCESS_IMAGE_ID:
        raise RunDirectoryError(
            f"step '{name}' of run {run.run_id} ran as a host process (process isolation): "
            "there is no container to open; run it with --isolation container"
        )
    if step.status in (Status.PENDING, Status.SKIPPED):
        raise RunDirectoryError(
            f"step '{name}' of run {run.run_id} never ran ({step.status.value}): its folders "
            "were never made; open a step that ran"
        )
    return step


def _mounts(
    recorded: list[dict[str, Any]], run_dir: Path, run_id: str, step: str
) -> tuple[Mount, ...]:
    mounts = tuple(
        Mount(str(m["source"]), str(m["target"]), bool(m["read_only"])) for m in recorded
    )
    for mount in mounts:
        if not _still_there(Path(mount.source), run_dir):
            raise RunDirectoryError(
                f"run {run_id}, step '{step}': {mount.source} (its {mount.target}) is gone "
                "or is no longer a real folder; cit shell needs what the step had"
            )
    return mounts


def _still_there(source: Path, run_dir: Path) -> bool:
    """A folder of the run directory must be a real folder all the way down (a step may have
    written a link there); anything else (the user's data, code) must exist."""
    try:
        inside = source.relative_to(run_dir)
    except ValueError:
        return source.exists()
    return is_real_dir_inside(run_dir, inside.as_posix()) if inside.parts else True


SHARED_SCAN_LIMIT = 100_000
"""The most entries looked at under one mounted folder for files shared by hard link; a bigger
folder is mounted read-only, as one whose files cannot all be checked."""


def _shared_read_only(
    mounts: tuple[Mount, ...], run_dir: Path
) -> tuple[tuple[Mount, ...], list[str]]:
    """``mounts`` with every writable folder of the run directory that holds a file shared by
    hard link (with the step cache, another run) made read-only; a note for each."""
    kept, notes = [], []
    for mount in mounts:
        if not mount.read_only and Path(mount.source).is_relative_to(run_dir):
            shares = _holds_shared_file(Path(mount.source))
            if shares is not False:
                mount = Mount(mount.source, mount.target, True)
                why = "holds files shared with" if shares else "is too big to check for files of"
                notes.append(
                    f"{mount.target} is mounted read-only: it {why} the step cache or other "
                    "runs; for writable outputs rerun the step with --no-cache, or copy them"
                )
        kept.append(mount)
    return tuple(kept), notes


def _holds_shared_file(folder: Path) -> bool | None:
    """Whether a file under ``folder`` has other hard links (links never followed); None when
    the folder has more than ``SHARED_SCAN_LIMIT`` entries."""
    pending, seen = [folder], 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > SHARED_SCAN_LIMIT:
                    return None
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    pending.append(Path(entry.path))
                elif info.st_nlink > 1:
                    return True
    return False


def _secrets(step: StepResult, environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The step's secrets, read from ``environ`` again by host variable; what is left out."""
    values, notes = {}, []
    unknown = [v for v in step.container.get("secret_env") or {} if v not in step.secret_variables]
    for variable in unknown:  # a run recorded before cit kept their host variables
        notes.append(f"secret {variable} is left out: the run does not say which host variable")
    for variable, host in step.secret_variables.items():
        if host not in environ:
            notes.append(f"secret {variable} is left out: the host has no variable {host} now")
        elif variable.startswith(CLIENT_VARIABLE_PREFIX):
            notes.append(f"secret {variable} is left out: the docker client would read it")
        else:
            values[variable] = environ[host]
    return values, notes


def _labels(run: RunResult, step: str) -> dict[str, str]:
    """Found by ``cit clean`` and by the sweep when the cit that opened it is gone."""
    return {**run_labels(run.run_id, run.pipeline, step, owner_label()), SHELL_LABEL: "true"}

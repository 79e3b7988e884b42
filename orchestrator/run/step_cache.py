"""The step cache: a step whose key is unchanged takes the outputs an earlier run left.

``<cit dir>/cache/entries/<key>/`` holds a step's outputs as hard links to the files its run
wrote (a copy where the file system has none) and ``entry.json``: the run they came from, each
file's size, times and digest, the captured schemas. An entry stands alone, so deleting old runs
loses nothing; a file cached is made read-only, and reaches a later run as another hard link that
its steps mount read-only, so no step can change what the cache holds. The oldest-used
entries go once the cache outgrows its cap.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engines.base import Engine
from ..files import write_json_atomic
from .cache_key import key_material, step_key
from .digests import MEMO_FILE, DigestMemo, file_digest
from .plan import PlannedStep, RunPlan
from .results import OutputSummary, Status, StepResult
from .rundir import MANIFEST
from .sagemaker_job import StepPaths
from .settings import DEFAULT_CACHE_MAX_BYTES, RunSettings
from .step_runner import SCHEMAS_FOLDER, save_profile, step_record

ENTRIES = "entries"
ENTRY_FILE = "entry.json"
ENTRY_OUTPUTS = "outputs"
READ_ONLY = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


@dataclass
class StepCache:
    """The cache of one run: ``reuse`` before a step starts, ``keep`` after it succeeded.

    With ``read`` off (``--no-cache``) nothing is reused, but what runs is still kept."""

    root: Path
    engine: Engine
    read: bool = True
    max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    _image_ids: dict[str, str | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.memo = DigestMemo(self.root / MEMO_FILE)

    @property
    def entries(self) -> Path:
        return self.root / ENTRIES

    def key(self, planned: PlannedStep, plan: RunPlan) -> str | None:
        """The step's key, from what its container would see now (its upstream ran); None
        for a step that is never cached (``cache: false``, no container)."""
        if planned.job is None or not planned.step.cache:
            return None
        image = planned.job.container.image
        material = key_material(
            planned, plan.run_id, plan.run_dir, self._image_id(image), self.memo.digest
        )
        return step_key(material)

    def _image_id(self, ref: str) -> str | None:
        with self._lock:
            if ref not in self._image_ids:
                self._image_ids[ref] = self.engine.image_id(ref)
            return self._image_ids[ref]

    def reuse(self, planned: PlannedStep, key: str) -> StepResult | None:
        """The step's result with the entry's outputs linked into its folders; None on a miss
        (or an entry found changed or gone, which is then dropped)."""
        if not self.read:
            return None
        started = time.time()
        try:
            entry = self._valid_entry(key)
            if entry is None:
                return None
            _link_tree(self.entries / key / ENTRY_OUTPUTS, planned.paths.outputs_dir, freeze=False)
            with contextlib.suppress(OSError):
                os.utime(self.entries / key)  # last used: eviction goes by it
            return cached_result(planned, entry, key, started)
        except Exception:  # removed meanwhile (another cit evicting it), or unreadable: run it
            shutil.rmtree(planned.paths.outputs_dir, ignore_errors=True)
            return None

    def _valid_entry(self, key: str) -> dict[str, Any] | None:
        folder = self.entries / key
        try:
            entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not _unchanged(folder / ENTRY_OUTPUTS, entry):
            _remove(folder)
            return None
        return entry

    def keep(self, planned: PlannedStep, key: str, result: StepResult, run_id: str) -> None:
        """Cache what a step that passed left; a step that left anything cit had to secure
        (links, special files) is not cached. A cache that cannot be written costs nothing
        but the next run's time."""
        if not result.passed or result.findings:
            return
        # The cache only saves time: whatever goes wrong keeping an entry, the step's result stands.
        with contextlib.suppress(Exception):
            self._store(planned, key, result, run_id)
            self.evict()

    def _store(self, planned: PlannedStep, key: str, result: StepResult, run_id: str) -> None:
        final = self.entries / key
        staging = self.entries / f".{key}.{secrets.token_hex(4)}.partial"
        try:
            files = _link_tree(
                planned.paths.outputs_dir, staging / ENTRY_OUTPUTS, freeze=True, stamp=True
            )
            entry = {
                "key": key,
                "step": planned.name,
                "run_id": run_id,
                "created_at": time.time(),
                "bytes": sum(int(stamp[0]) for stamp in files.values()),
                "files": files,
                "image_id": result.image_id,
                "message": result.message,
                "log_tail": result.log_tail,
                "outputs": [_relative_output(o) for o in result.outputs],
            }
            write_json_atomic(staging / ENTRY_FILE, entry)
            _remove(final)  # the step ran again (--no-cache): its latest outputs stand
            os.rename(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not final.exists():
                raise

    def evict(self) -> list[str]:
        """Drop the least recently used entries until the cache fits its cap; their keys."""
        with self._lock:
            sizes = _entry_sizes(self.entries)
            total = sum(size for _, size, _ in sizes)
            dropped = []
            for _, size, folder in sorted(sizes):
                if total <= self.max_bytes:
                    break
                _remove(folder)
                total -= size
                dropped.append(folder.name)
            return dropped

    def close(self) -> None:
        self.memo.save()


def cached_result(
    planned: PlannedStep, entry: dict[str, Any], key: str, started: float
) -> StepResult:
    """The result of a step not run: succeeded, its outputs those linked from the entry."""
    run_id = str(entry.get("run_id", "?"))
    note = f"[cit] not run: outputs reused from run {run_id} (step cache, key {key[:12]})\n"
    result = reused_result(planned, entry, run_id, note, started)
    result.cache_key = key
    return result


def taken_result(planned: PlannedStep, earlier: Path, started: float) -> StepResult:
    """The result of a step whose outputs are taken from its folder ``earlier`` in an earlier
    run (``cit run --from/--only/--until``), linked into this run's folder; ``cached_from``
    names the run whose container made them (that run may itself have taken them)."""
    run_dir = earlier.parent.parent
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    record = next(s for s in manifest["steps"] if s["name"] == planned.name)
    _link_tree(StepPaths(earlier).outputs_dir, planned.paths.outputs_dir, freeze=True)
    origin = str(record.get("cached_from") or run_dir.name)  # where its container ran
    via = "" if origin == run_dir.name else f", via run {run_dir.name}"
    note = f"[cit] not run: outputs taken from run {origin} (not chosen to run{via})\n"
    return reused_result(planned, record, origin, note, started)


def reused_result(
    planned: PlannedStep, earlier: dict[str, Any], run_id: str, note: str, started: float
) -> StepResult:
    """Succeeded without running: the outputs (already linked into the step's folder) and
    message of an ``earlier`` record, from run ``run_id``."""
    result = step_record(planned, Status.SUCCEEDED)
    with contextlib.suppress(OSError):
        planned.paths.log_file.write_text(note, encoding="utf-8")
    outputs = []
    for raw in earlier.get("outputs", []):
        output = OutputSummary.model_validate(raw)
        folder = planned.paths.output(output.name)
        profile = output.profile
        if profile is not None:
            profile = profile.model_copy(update={"folder": str(folder)})
        schema = (
            save_profile(profile, planned.paths.root / SCHEMAS_FOLDER / f"{output.name}.json")
            if profile is not None
            else None
        )
        update = {"path": str(folder), "profile": profile, "schema_file": schema}
        outputs.append(output.model_copy(update=update))
    finished = time.time()
    return result.model_copy(
        update={
            "exit_code": 0,
            "started_at": started,
            "finished_at": finished,
            "duration_seconds": round(finished - started, 3),
            "image_id": earlier.get("image_id"),
            "message": earlier.get("message"),
            "log_tail": [*earlier.get("log_tail", []), note.rstrip("\n")],
            "outputs": outputs,
            "cached_from": run_id,
        }
    )


def _relative_output(output: OutputSummary) -> dict[str, Any]:
    data = output.model_dump(mode="json")
    data["path"] = output.name
    data["schema_file"] = None
    return data


def _link_tree(
    source: Path, target: Path, *, freeze: bool, stamp: bool = False
) -> dict[str, list[int | str]]:
    """Hard-link every regular file under ``source`` into ``target`` (copy where links fail),
    folders made anew; ``freeze`` makes each file read-only first; ``stamp`` returns each
    file's ``_stamp`` (which reads it whole) by its path under ``source``. Anything but folders
    and regular files (a link the container made) refuses the whole tree: ``OSError``."""
    files: dict[str, list[int | str]] = {}
    target.mkdir(parents=True, exist_ok=True)
    for folder, dirs, names in os.walk(source, followlinks=False):
        here = Path(folder)
        relative = here.relative_to(source)
        for name in dirs:
            if os.path.islink(here / name):
                raise OSError(f"{here / name} is a link")
            _make_empty_folder(target / relative / name)
        for name in names:
            path = here / name
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(f"{path} is not a regular file")
            if freeze:
                os.chmod(path, stat.S_IMODE(info.st_mode) & READ_ONLY, follow_symlinks=False)
            _link_or_copy(path, target / relative / name)
            if stamp:
                files[(relative / name).as_posix()] = _stamp(target / relative / name)
    return files


def _make_empty_folder(folder: Path) -> None:
    """Make ``folder``, or take it as it is when it is already an empty folder (one the
    step's container made when it was created ahead); never merge into one that holds anything."""
    try:
        folder.mkdir()
    except FileExistsError:
        if os.path.islink(folder) or not folder.is_dir() or any(folder.iterdir()):
            raise


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target, follow_symlinks=False)


def _stamp(path: Path) -> list[int | str]:
    """What ``_unchanged`` checks a cached file by: ``[size, mtime_ns, ctime_ns, sha256]``."""
    info = os.lstat(path)
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, file_digest(path)]


def _unchanged(outputs: Path, entry: dict[str, Any]) -> bool:
    """Every file the entry recorded is there, a regular file of its size and mtime, and of
    its ctime or else (its links were counted anew: a run linked or deleted it) its content.
    The ctime, which no user can set back, catches an edit that restored size and mtime; an
    entry recorded without one counts as changed."""
    files = entry.get("files")
    if not isinstance(files, dict):
        return False
    for relative, stamp in files.items():
        if not isinstance(stamp, list) or len(stamp) != 4:
            return False
        size, mtime_ns, ctime_ns, digest = stamp
        path = outputs / relative
        try:
            info = os.lstat(path)
            same = (info.st_size, info.st_mtime_ns) == (size, mtime_ns)
            if not stat.S_ISREG(info.st_mode) or not same:
                return False
            if info.st_ctime_ns != ctime_ns and file_digest(path) != digest:
                return False
        except OSError:
            return False
    return True


def _entry_sizes(entries: Path) -> list[tuple[float, int, Path]]:
    """(last used, bytes, folder) of every entry."""
    found = []
    try:
        folders = [p for p in entries.iterdir() if not p.name.startswith(".")]
    except OSError:
        return []
    for folder in folders:
        try:
            used = folder.stat().st_mtime
            size = int(json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))["bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            size, used = 0, 0.0
        found.append((used, size, folder))
    return found


def _remove(folder: Path) -> None:
    """Remove an entry: renamed away first, so no reader sees half of one."""
    trash = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.removed")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def step_cache(settings: RunSettings, engine: Engine) -> StepCache | None:
    """The run's step cache, when ``settings`` use one."""
    if not settings.step_cache:
        return None
    return StepCache(
        settings.cache_dir, engine, read=settings.reuse_cached, max_bytes=settings.cache_max_bytes
    )


def clear_cache(root: Path) -> tuple[int, int]:
    """Empty the step cache in ``root`` (``RunSettings.cache_dir``): (entries, bytes) removed."""
    entries = root / ENTRIES
    sizes = _entry_sizes(entries)
    for _, _, folder in sizes:
        _remove(folder)
    with contextlib.suppress(OSError):
        for leftover in entries.iterdir():  # halves of entries a killed cit left
            shutil.rmtree(leftover, ignore_errors=True)
    (root / MEMO_FILE).unlink(missing_ok=True)
    return len(sizes), sum(size for _, size, _ in sizes)

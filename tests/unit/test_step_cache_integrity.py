"""The step cache notices what its quick checks could miss: an edit that restored a file's
size and mtime, a secret taken from another host variable."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from orchestrator.run import digests
from orchestrator.run.digests import DigestMemo
from orchestrator.run.step_cache import ENTRIES, ENTRY_FILE

from .test_step_cache import SECRET, _edit, engine, keys, ran, run


def rewrite_keeping_size_and_mtime(path: Path, text: str) -> None:
    """What ``touch -r`` after an in-place edit does: only the ctime tells."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.chmod(0o644)
    time.sleep(0.01)  # a ctime tick apart from the last change
    path.write_text(text)
    path.chmod(before.st_mode & 0o777)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_the_memo_notices_an_edit_that_restored_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "SETTLE_NS", -(10**18))  # remember even a fresh file
    data = tmp_path / "raw.csv"
    data.write_text("a,b\n1,2\n")
    memo = DigestMemo(tmp_path / "memo.json")
    before = memo.digest(data)
    memo.save()
    rewrite_keeping_size_and_mtime(data, "a,b\n9,9\n")
    assert DigestMemo(tmp_path / "memo.json").digest(data) != before


def test_a_memo_record_without_ctime_is_not_trusted(tmp_path: Path) -> None:
    data = tmp_path / "raw.csv"
    data.write_text("a,b\n1,2\n")
    info = data.stat()
    old_key = f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
    (tmp_path / "memo.json").write_text(json.dumps({old_key: "stale"}))
    assert DigestMemo(tmp_path / "memo.json").digest(data) != "stale"


def test_an_input_edited_with_its_mtime_restored_reruns_the_step(project: Path) -> None:
    raw = project / "data" / "raw.csv"
    old = time.time_ns() - 3600 * 10**9  # settled: the memo remembers it
    os.utime(raw, ns=(old, old))
    run(project, engine())
    rewrite_keeping_size_and_mtime(raw, "a,b\n9,9\n")
    fake = engine()
    run(project, fake)
    assert "prep" in ran(fake)


def test_a_cached_output_edited_with_its_mtime_restored_is_not_reused(project: Path) -> None:
    first = run(project, engine())
    cached = Path(first.step("prep").outputs[0].path) / "a.csv"
    rewrite_keeping_size_and_mtime(cached, "x,y\n6,6\n")
    fake = engine()
    second = run(project, fake)
    assert "prep" in ran(fake)
    assert (Path(second.step("prep").outputs[0].path) / "a.csv").read_text() == "x,y\n1,2\n"


def test_reuse_goes_on_after_runs_linked_and_deleted_the_cached_files(project: Path) -> None:
    """Linking a cached file into a run, or deleting a run, changes its ctime but not its
    content: the entry is checked by content then, and still reused."""
    first = run(project, engine())
    run(project, engine())
    shutil.rmtree(first.run_dir)
    fake = engine()
    third = run(project, fake)
    assert fake.specs == [] and third.ok


def test_an_entry_recorded_without_ctimes_counts_as_changed(project: Path) -> None:
    run(project, engine())
    for entry in (project / ".cit" / "cache" / ENTRIES).glob(f"*/{ENTRY_FILE}"):
        data = json.loads(entry.read_text())
        data["files"] = {name: stamp[:2] for name, stamp in data["files"].items()}
        entry.write_text(json.dumps(data))
    fake = engine()
    assert run(project, fake).ok
    assert ran(fake) == ["evaluate", "prep", "train"]


def test_the_host_variable_behind_a_secret_changes_the_key(project: Path) -> None:
    before = keys(run(project, engine()))
    _edit(project, "TOKEN: HOST_TOKEN", "TOKEN: OTHER_TOKEN")
    both = {"HOST_TOKEN": SECRET, "OTHER_TOKEN": SECRET}  # the same value: only the name differs
    fake = engine()
    after = keys(run(project, fake, secrets=both))
    assert after["prep"] != before["prep"]
    assert "prep" in ran(fake)
    for path in (project / ".cit").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

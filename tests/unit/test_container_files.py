"""What a container wrote, handled on the host: secured once, never followed, read in bounds.

The attacks with real containers are in ``tests/integration/test_sandbox.py``; these pin the
pieces on files the test makes itself.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from orchestrator.container_files import (
    LINK_INSIDE,
    LINK_OUTSIDE,
    SETID_BIT_REMOVED,
    SPECIAL_FILE_REMOVED,
    NotARegularFile,
    points_inside,
    read_bounded,
    read_text_bounded,
    regular_files,
    secure_folder,
    secure_written_folders,
    tail_lines,
    walk,
)
from orchestrator.engines.spec import Mount, writable_folders
from orchestrator.issues import Severity


@pytest.fixture
def host_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("host secret\n")
    return secret


@pytest.fixture
def written(tmp_path: Path, host_secret: Path) -> Path:
    """A folder as a hostile step leaves it."""
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "real.csv").write_text("a\n1\n")
    (out / "sub" / "deep.csv").write_text("a\n2\n")
    os.symlink(host_secret, out / "secret.csv")
    os.symlink(host_secret.parent, out / "hostdir")
    os.symlink("real.csv", out / "latest.csv")
    os.mkfifo(out / "pipe.csv")
    tool = out / "tool"
    tool.write_bytes(b"\x7fELF")
    tool.chmod(0o6755)
    return out


def test_walk_lists_regular_files_and_folders_and_follows_no_link(written: Path) -> None:
    found = walk(written)
    assert [f.rel for f in found.files] == ["real.csv", "sub/deep.csv", "tool"]
    assert found.folders == ["sub"]
    assert sorted(rel for rel, _ in found.links) == ["hostdir", "latest.csv", "secret.csv"]
    assert found.special == [("pipe.csv", "FIFO")]
    assert found.setid == ["tool"]


def test_walk_of_a_link_or_a_missing_folder_is_empty(written: Path, tmp_path: Path) -> None:
    os.symlink(written, tmp_path / "link")
    assert walk(tmp_path / "link").files == []
    assert walk(tmp_path / "missing").files == []
    assert regular_files(tmp_path / "link") == []
    assert [e.rel for e in regular_files(written / "real.csv")] == ["real.csv"]
    assert regular_files(written / "secret.csv") == []


@pytest.mark.parametrize(
    ("rel", "target", "inside"),
    [
        ("latest.csv", "real.csv", True),
        ("a/b.csv", "../c.csv", True),
        ("a/b.csv", "/opt/ml/processing/output/data/c.csv", True),
        ("a.csv", "/etc/passwd", False),
        ("a.csv", "../train/x.csv", False),
        ("a/b.csv", "../../data2/x", False),
        ("failure", "/proc/self/environ", False),
        ("x", ".", True),
    ],
)
def test_a_link_points_inside_when_its_text_resolves_within_the_folder(
    rel: str, target: str, inside: bool
) -> None:
    assert points_inside("/opt/ml/processing/output/data", rel, target) is inside


def test_securing_removes_special_files_clears_setid_bits_and_reports_links(
    written: Path,
) -> None:
    findings = secure_folder(written, "/opt/ml/processing/output/data", "prep")
    by_rule = {f.rule: f for f in findings}
    assert set(by_rule) == {LINK_OUTSIDE, LINK_INSIDE, SPECIAL_FILE_REMOVED, SETID_BIT_REMOVED}
    assert by_rule[LINK_OUTSIDE].severity is Severity.ERROR
    assert all(by_rule[r].severity is Severity.WARNING for r in set(by_rule) - {LINK_OUTSIDE})
    assert all(f.step == "prep" for f in findings)
    outside = by_rule[LINK_OUTSIDE].description
    assert "'/opt/ml/processing/output/data/secret.csv' ->" in outside
    assert "'/opt/ml/processing/output/data/hostdir' ->" in outside
    assert "latest.csv" not in outside and "latest.csv" in by_rule[LINK_INSIDE].description
    assert not os.path.lexists(written / "pipe.csv")
    mode = os.lstat(written / "tool").st_mode
    assert not mode & (stat.S_ISUID | stat.S_ISGID) and stat.S_IMODE(mode) == 0o755
    assert os.path.islink(written / "secret.csv")  # kept, never followed


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_securing_removes_device_nodes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mknod(out / "disk", 0o600 | stat.S_IFBLK, os.makedev(8, 0))
    [finding] = secure_folder(out, "/opt/ml/model", "train")
    assert finding.rule == SPECIAL_FILE_REMOVED
    assert "'/opt/ml/model/disk' (block device)" in finding.description
    assert not os.path.lexists(out / "disk")


def test_only_writable_mounts_are_secured(written: Path, tmp_path: Path) -> None:
    mounts = [
        Mount(str(written), "/opt/ml/processing/input/data", read_only=True),
        Mount(str(tmp_path / "host"), "/opt/ml/processing/output/x", read_only=False),
    ]
    assert secure_written_folders(writable_folders(mounts), "s") == []
    assert os.path.lexists(written / "pipe.csv")


def test_a_finding_names_a_few_items_and_counts_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for index in range(8):
        os.symlink(f"/etc/file{index}", out / f"l{index}")
    [finding] = secure_folder(out, "/opt/ml/model", "train")
    assert finding.description.count("->") == 5
    assert "and 3 more:" in finding.description


def test_read_bounded_stops_at_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "failure"
    with big.open("wb") as handle:
        handle.write(b"reason first")
        handle.truncate(2**30)  # sparse
    data, cut = read_bounded(big, 100)
    assert data.startswith(b"reason first") and len(data) == 100 and cut
    small = tmp_path / "message"
    small.write_text("done")
    assert read_text_bounded(small, 100) == ("done", False)


def test_read_bounded_follows_no_link_on_the_way(written: Path, host_secret: Path) -> None:
    with pytest.raises(NotARegularFile):
        read_bounded(written / "secret.csv", 100)
    with pytest.raises(NotARegularFile):
        read_bounded(written / "hostdir" / "secret.txt", 100, root=written)
    with pytest.raises(NotARegularFile):
        read_bounded(written / "pipe.csv", 100)  # a FIFO: not waited on, not read
    with pytest.raises(NotARegularFile):
        read_bounded(written / "sub", 100)
    assert read_bounded(written / "sub" / "deep.csv", 100, root=written) == (b"a\n2\n", False)


def test_tail_lines_reads_the_end_of_a_log_only(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert tail_lines(log, 3) == ["line 99997", "line 99998", "line 99999"]
    assert tail_lines(log, 3, limit=20) == ["line 99999"]  # the cut line is left out
    assert tail_lines(tmp_path / "none", 3) == []

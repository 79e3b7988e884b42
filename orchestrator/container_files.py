"""What a container wrote, handled on the host as untrusted: checked once, never followed, read
within bounds.

A step's script is untrusted code, and cit may run as root. After a container ends,
``secure_written_folders`` goes once through every folder it could write: set-user-ID and
set-group-ID bits are cleared, device nodes, FIFOs and sockets are removed, and every link is
reported (one that points outside its folder as an error). Links stay where they are (a folder
handed downstream keeps them, and archives keep them as links) but nothing on the host follows
them: ``walk`` lists only regular files and real folders, and ``read_bounded`` opens a file
without following a link at any part of its path and reads no more than it is told.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .issues import Issue, Severity

LINK_OUTSIDE = "link_outside_output"
LINK_INSIDE = "link_in_output"
SPECIAL_FILE_REMOVED = "special_file_removed"
SETID_BIT_REMOVED = "setid_bit_removed"
SANDBOX_RULES = {
    LINK_OUTSIDE: Severity.ERROR,
    LINK_INSIDE: Severity.WARNING,
    SPECIAL_FILE_REMOVED: Severity.WARNING,
    SETID_BIT_REMOVED: Severity.WARNING,
}
EXAMPLES_PER_FINDING = 5
SETID_BITS = stat.S_ISUID | stat.S_ISGID


@dataclass(frozen=True)
class Entry:
    """A regular file found by ``walk``: its path relative to the root, and its size."""

    rel: str
    path: Path
    size: int


@dataclass
class Walk:
    """What a folder holds, its links left unfollowed."""

    files: list[Entry] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(relative path, where the link points)."""
    special: list[tuple[str, str]] = field(default_factory=list)
    """(relative path, kind) of device nodes, FIFOs and sockets."""
    setid: list[str] = field(default_factory=list)
    """Regular files with a set-user-ID or set-group-ID bit."""
    unreadable: list[str] = field(default_factory=list)
    """Folders that could not be listed (their content is missing from the walk)."""


def walk(root: Path) -> Walk:
    """Everything under ``root``, sorted, without following a link; an empty ``Walk`` when
    ``root`` is not a real folder (missing, a file, or a link)."""
    found = Walk()
    if is_real_dir(root):
        _walk_into(root, "", found)
    return found


def _walk_into(folder: Path, prefix: str, found: Walk) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:  # unreadable or gone: nothing in it is used
        found.unreadable.append(prefix.rstrip("/") or ".")
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            found.links.append((rel, _link_target(entry.path)))
        elif stat.S_ISDIR(mode):
            found.folders.append(rel)
            _walk_into(Path(entry.path), f"{rel}/", found)
        elif stat.S_ISREG(mode):
            found.files.append(Entry(rel, Path(entry.path), info.st_size))
            if mode & SETID_BITS:
                found.setid.append(rel)
        else:
            found.special.append((rel, _special_kind(mode)))


def regular_files(root: Path) -> list[Entry]:
    """The regular files under ``root`` (a real folder), or ``root`` itself when it is a
    regular file; links are never followed."""
    if is_regular_file(root):
        return [Entry(root.name, root, root.lstat().st_size)]
    return walk(root).files


def is_real_dir(path: Path) -> bool:
    """A folder, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_dir_inside(root: Path, rel: str) -> bool:
    """``root`` and every folder down to ``root/rel`` ('train', 'splits/train') are folders, none
    a link to one: a path a container wrote resolves to nothing outside it."""
    folder = root
    if not is_real_dir(folder):
        return False
    for part in rel.split("/"):
        folder = folder / part
        if not is_real_dir(folder):
            return False
    return True


def is_regular_file(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


# --- reading -----------------------------------------------------------------------------------


class NotARegularFile(OSError):
    """The path is a link (at any part), a folder or a special file: it is not read."""


def read_bounded(path: Path, limit: int, *, root: Path | None = None) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the regular file ``path`` and whether there was more.

    No link is followed: not ``path`` itself and, when ``root`` is given, no folder between
    ``root`` and ``path`` either. ``NotARegularFile`` when it is not a plain file.
    """
    with open_regular(path, root=root) as handle:
        data = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def read_text_bounded(path: Path, limit: int, *, root: Path | None = None) -> tuple[str, bool]:
    """``read_bounded`` decoded as UTF-8 (bad bytes replaced)."""
    data, cut = read_bounded(path, limit, root=root)
    return data.decode("utf-8", errors="replace"), cut


def tail_lines(path: Path, lines: int, limit: int = 2**20) -> list[str]:
    """The last ``lines`` lines of a text file, read from no more than its last ``limit``
    bytes; none when it cannot be read."""
    try:
        with open_regular(path) as handle:
            start = max(0, os.fstat(handle.fileno()).st_size - limit)
            handle.seek(start)
            data = handle.read(limit)
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    return (text[1:] if start else text)[-lines:]  # a line cut by the start is left out


@contextlib.contextmanager
def open_regular(
    path: Path, *, root: Path | None = None, buffered: bool = True
) -> Iterator[io.BufferedReader[io.FileIO] | io.FileIO]:
    """The regular file ``path`` opened for reading without following any link."""
    fd = _open_no_follow(path, root)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
        raw = io.FileIO(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with io.BufferedReader(raw) if buffered else raw as handle:
        yield handle



def _open_no_follow(path: Path, root: Path | None) -> int:
    """A descriptor of ``path``; every folder from ``root`` down is opened without following
    a link, so a link anywhere on the way fails instead of leading elsewhere."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if root is None:
        return _open(str(path), flags, None, path)
    parts = path.relative_to(root).parts
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts[:-1]:
            inner = _open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, folder, path)
            os.close(folder)
            folder = inner
        return _open(parts[-1] if parts else ".", flags, folder, path)
    finally:
        os.close(folder)


def _open(name: str, flags: int, dir_fd: int | None, path: Path) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a link where a file or folder was
            raise NotARegularFile(errno.ELOOP, "a link is not followed", str(path)) from None
        raise


# --- securing what a container left ------------------------------------------------------------


def secure_written_folders(folders: Iterable[tuple[Path, str]], step: str) -> list[Issue]:
    """Make every folder the container could write (host path, path inside) safe to handle on
    the host, and report what had to be done: links (an error when one points outside its
    folder), removed special files, cleared set-ID bits. Runs once, after the container ended and
    before anything reads."""
    findings: list[Issue] = []
    for host, container in folders:
        findings.extend(secure_folder(host, container, step))
    return findings


def secure_folder(host: Path, container: str, step: str) -> list[Issue]:
    """``secure_written_folders`` for one folder, bound at ``container`` inside."""
    found = walk(host)
    for rel, _ in found.special:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(host / rel)
    for rel in found.setid:
        path = host / rel
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~SETID_BITS)
    outside = [(rel, to) for rel, to in found.links if not points_inside(container, rel, to)]
    inside = [(rel, to) for rel, to in found.links if points_inside(container, rel, to)]
    findings = [
        _finding(LINK_OUTSIDE, step, container, outside, _link_words, _OUTSIDE_TAIL),
        _finding(LINK_INSIDE, step, container, inside, _link_words, _INSIDE_TAIL),
        _finding(
            SPECIAL_FILE_REMOVED, step, container, found.special, _special_words, _SPECIAL_TAIL
        ),
        _finding(
            SETID_BIT_REMOVED,
            step,
            container,
            [(rel, "") for rel in found.setid],
            _setid_words,
            _SETID_TAIL,
        ),
    ]
    return [f for f in findings if f is not None]


def points_inside(container: str, rel: str, target: str) -> bool:
    """Whether a link at ``container/rel`` names something in ``container``, resolving its
    target as the container would (by its text: the link is never followed here)."""
    here = posixpath.dirname(posixpath.join(container, rel))
    resolved = posixpath.normpath(posixpath.join(here, target))
    return resolved == container or resolved.startswith(container.rstrip("/") + "/")


_Words = Callable[[str, str, str], str]
_OUTSIDE_TAIL = "points outside the folder; cit does not follow it on the host"
_INSIDE_TAIL = "kept as a link: cit does not read, capture or upload it"
_SPECIAL_TAIL = "removed: outputs may not carry them onto the host"
_SETID_TAIL = "set-user-ID/set-group-ID bits cleared"


def _link_words(container: str, rel: str, target: str) -> str:
    return f"'{posixpath.join(container, rel)}' -> '{target}'"


def _special_words(container: str, rel: str, kind: str) -> str:
    return f"'{posixpath.join(container, rel)}' ({kind})"


def _setid_words(container: str, rel: str, _: str) -> str:
    return f"'{posixpath.join(container, rel)}'"


def _finding(
    rule: str,
    step: str,
    container: str,
    items: list[tuple[str, str]],
    words: _Words,
    tail: str,
) -> Issue | None:
    """One finding per rule and folder, naming a few of its items."""
    if not items:
        return None
    named = [words(container, rel, detail) for rel, detail in items[:EXAMPLES_PER_FINDING]]
    more = len(items) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if more else "")
    return Issue(
        rule=rule,
        severity=SANDBOX_RULES[rule],
        description=f"{listed}: {tail}",
        step=step,
    )


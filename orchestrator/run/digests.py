"""Content digests of files and folders for the step cache, each file read once.

A memo of (device, inode, size, mtime, ctime) → digest, kept in the cache folder between runs,
spares re-reading an unchanged input: a big data file is hashed the first time a run needs it,
and later runs only look at its metadata. The ctime is there because no user can set it back:
an edit that keeps the size and restores the mtime (``touch -r``) still changes it. Links are
never followed: a link's digest is its target text, as a container that mounts the folder sees
the link itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
import time
from pathlib import Path

from ..files import write_text_atomic

MEMO_FILE = "digests.json"
MEMO_LIMIT = 200_000
"""The most files the memo remembers; the oldest are forgotten first."""
SETTLE_NS = 2_000_000_000
"""A file changed this recently may still be changing within one mtime tick: it is hashed,
not memoised (as git treats a "racy" index entry)."""
CHUNK = 1 << 20


class DigestMemo:
    """Digests of files and folders, remembered by their metadata in ``path`` (none without)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.known: dict[str, str] = _load(path) if path is not None else {}
        self.changed = False
        self._lock = threading.Lock()

    def digest(self, path: Path) -> str:
        """The digest of the file or folder at ``path`` (its name not included)."""
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            return self._tree(path)
        return self._entry(path, info)

    def _tree(self, root: Path) -> str:
        lines = hashlib.sha256(b"tree\n")
        for relative, kind, digest in self._walk(root, ""):
            lines.update(f"{kind} {relative} {digest}\n".encode("utf-8", "surrogateescape"))
        return lines.hexdigest()

    def _walk(self, folder: Path, prefix: str) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
        for entry in ordered:
            relative = f"{prefix}{entry.name}"
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                found.append((relative, "d", ""))
                found += self._walk(Path(entry.path), f"{relative}/")
            else:
                found.append((relative, "f", self._entry(Path(entry.path), info)))
        return found

    def _entry(self, path: Path, info: os.stat_result) -> str:
        if stat.S_ISLNK(info.st_mode):
            return "link:" + os.readlink(path)
        if not stat.S_ISREG(info.st_mode):
            return f"special:{stat.S_IFMT(info.st_mode)}"
        key = f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
        with self._lock:
            known = self.known.get(key)
        if known is not None:
            return known
        digest = file_digest(path)
        if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > SETTLE_NS:
            with self._lock:
                self.known[key] = digest
                self.changed = True
        return digest

    def save(self) -> None:
        """Keep what was learnt for the next run; a memo that cannot be written costs only time."""
        if self.path is None or not self.changed:
            return
        with self._lock:
            kept = dict(list(self.known.items())[-MEMO_LIMIT:])
        with contextlib.suppress(OSError):  # compact: read at the start of every run
            write_text_atomic(self.path, json.dumps(kept, separators=(",", ":")))
        self.changed = False


def file_digest(path: Path) -> str:
    """SHA-256 of a regular file, opened without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

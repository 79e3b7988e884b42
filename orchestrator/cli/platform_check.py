"""The platforms cit runs on: Linux and macOS, and Windows through WSL2. Native Windows lacks
what cit stops and isolates steps with (``signal.SIGHUP``, ``fcntl``, ``os.getuid``), so it is
refused in one line before any of that is imported."""

from __future__ import annotations

import sys

UNSUPPORTED = (
    "cit runs on Linux and macOS; on Windows, run it inside WSL2 "
    "(https://learn.microsoft.com/windows/wsl/install) with Docker Desktop's WSL2 engine"
)
EXIT_UNSUPPORTED = 2


def refuse_native_windows() -> None:
    """On native Windows: the one line saying where cit runs, and exit code 2."""
    if sys.platform == "win32":
        print(f"error: {UNSUPPORTED}", file=sys.stderr)
        raise SystemExit(EXIT_UNSUPPORTED)

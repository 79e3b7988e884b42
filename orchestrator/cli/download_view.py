"""A large S3 download as it happens: in a terminal a live line (files, bytes, rate), elsewhere
(a CI log) a line every ``CIT_PROGRESS_INTERVAL`` seconds; the line naming what was fetched
comes at its end (``show_download``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.live import Live

from ..run.progress import REFRESH_SECONDS
from ..sizes import human_size
from ..terminal_text import plain, progress_interval
from .command import console

if TYPE_CHECKING:
    from ..aws.s3 import DownloadProgress


def describe(uri: str, progress: DownloadProgress) -> str:
    """``downloading s3://b/p: 120 of 500 files, 412.3 MiB of 1.0 GiB, 98.1 MiB/s``."""
    if not progress.listed:
        return f"listing {uri} \u2026"
    files = f"{progress.files_done} of {progress.files} file(s)"
    size = f"{human_size(progress.bytes_done)} of {human_size(progress.bytes)}"
    return f"downloading {uri}: {files}, {size}, {human_size(int(progress.rate))}/s"


@contextmanager
def follow_download(uri: str, progress: DownloadProgress) -> Iterator[None]:
    """Show the download of ``uri`` while the block runs."""
    if console.is_terminal:
        live = Live(
            get_renderable=lambda: plain(describe(uri, progress), "dim"),
            console=console,
            refresh_per_second=1 / REFRESH_SECONDS,
            transient=True,
        )
        with live:
            yield
        return
    every = progress_interval()
    stop = threading.Event()

    def say_now_and_then() -> None:
        while not stop.wait(every):
            console.print(plain(describe(uri, progress)), soft_wrap=True, highlight=False)

    reporter = threading.Thread(target=say_now_and_then, name="cit-download", daemon=True)
    reporter.start()
    try:
        yield
    finally:
        stop.set()
        reporter.join()

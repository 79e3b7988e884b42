"""A large S3 download shows how far it is while it runs: counted by the downloader's
threads, shown as a live line in a terminal and as a line now and then in a CI log."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from orchestrator.aws.s3 import DownloadProgress, S3Settings, download
from orchestrator.cli import download_view
from orchestrator.terminal_text import TerminalConsole
from tests.s3_server import S3Server


def test_the_downloader_counts_files_and_bytes_as_it_fetches(
    s3_server: S3Server, tmp_path: Path
) -> None:
    files = {f"data/part-{i:02}.bin": bytes(1000 + i) for i in range(30)}
    bucket = s3_server.bucket(files)
    settings = S3Settings(cache_dir=tmp_path / "cache")
    progress = DownloadProgress()
    download(f"s3://{bucket}/data", settings, progress)
    total = sum(len(body) for body in files.values())
    assert progress.listed and (progress.files, progress.bytes) == (30, total)
    assert (progress.files_done, progress.bytes_done) == (30, total)
    again = DownloadProgress()
    download(f"s3://{bucket}/data", settings, again)
    assert (again.files, again.files_done, again.bytes_done) == (0, 0, 0)  # all cached


def test_a_download_is_described_by_files_bytes_and_rate() -> None:
    progress = DownloadProgress()
    assert download_view.describe("s3://b/p", progress) == "listing s3://b/p \u2026"
    progress.expect(500, 2**30)
    progress.received(412 * 2**20)
    for _ in range(120):
        progress.fetched()
    line = download_view.describe("s3://b/p", progress)
    assert line.startswith("downloading s3://b/p: 120 of 500 file(s), 412.0 MiB of 1.0 GiB, ")
    assert line.endswith("/s")


def test_a_ci_log_gets_a_progress_line_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(download_view, "console", TerminalConsole(file=out))
    monkeypatch.setenv("CIT_PROGRESS_INTERVAL", "0.05")
    progress = DownloadProgress()
    with download_view.follow_download("s3://b/p", progress):
        progress.expect(2, 2048)
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 7
    assert lines[-1].startswith("downloading s3://b/p: 0 of 2 file(s), 0 B of 2.0 KiB, ")

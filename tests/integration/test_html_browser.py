"""The HTML report of a real failing run, opened in a real headless browser (Debian's chromium):
the page runs without a console message, shows the failing step as failed, colours its box,
fits a narrow window, and a screenshot of it is taken."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from orchestrator.engines.docker_engine import DockerEngine

from .conftest import EXAMPLE, the_run

INSTALL = "install Debian's chromium first: apt-get install -y chromium"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROBE = """<script>
document.addEventListener("DOMContentLoaded", function () {
  var found = {overflow: document.documentElement.scrollWidth - window.innerWidth, fills: {}};
  document.querySelectorAll("g.dag-node").forEach(function (g) {
    found.fills[g.getAttribute("data-step")] = getComputedStyle(g.querySelector("rect")).fill;
  });
  document.body.setAttribute("data-probe", JSON.stringify(found));
});
</script></body>"""
"""Added to a copy of the page only: what the browser computed, where --dump-dom shows it."""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(f"no chromium on PATH; {INSTALL}")
    return found


def browse(page: Path, profile: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Debian's chromium, headless, on ``page``; its console messages go to stderr."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *options,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    return done


def console_lines(stderr: str) -> list[str]:
    """What the page said on its console (each message is logged as 'CONSOLE'), or threw."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def failing_report(tmp_path: Path) -> Path:
    """The HTML report `cit run --format html` writes for the example pipeline with 'evaluate'
    made to exit 3, as a user runs it."""
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    script = example / "scripts" / "evaluate.py"
    script.write_text(script.read_text() + "\nraise SystemExit(3)\n")
    cit_dir = tmp_path / ".cit"
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(example / "pipeline.py")]
    command += ["--cit-dir", str(cit_dir), "-q", "--format", "html"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    run_dir, _ = the_run(cit_dir)
    assert f"report: {run_dir / 'report.json'} (and report.html)" in done.stdout
    return run_dir / "report.html"


def section(dom: str, step: str) -> str:
    """The markup of a step's section in the dumped DOM."""
    start = re.search(rf'<section [^>]*data-step="{step}"[^>]*>', dom)
    assert start, f"no section of step {step}"
    end = dom.find("</section>", start.end())
    return dom[start.start() : end]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_pixels(data: bytes) -> bytes:
    """The PNG's image data, decompressed (still filtered, enough to tell a blank page)."""
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_the_report_of_a_failing_run_in_a_real_browser(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    chromium()
    page = failing_report(tmp_path)
    profile = tmp_path / "chromium-profile"

    shown = browse(page, profile, "--window-size=1280,1600", "--dump-dom")
    assert console_lines(shown.stderr) == []
    dom = shown.stdout
    opening = re.search(r"<html[^>]*>", dom)
    assert opening and 'data-ready="1"' in opening.group(), "the page's script did not run"
    assert "data-js-error" not in opening.group()
    evaluate = section(dom, "evaluate")
    assert 'data-status="failed"' in evaluate
    assert '<span class="exit-code">3</span>' in evaluate
    assert "INFO wrote 357 predictions" in evaluate
    assert re.search(r'<details class="log" open="?"?>', evaluate)
    assert 'data-status="succeeded"' in section(dom, "train")
    assert re.search(r'class="dag-node status-failed tone-bad" data-step="evaluate"', dom)
    assert '<span id="outcome" class="tone-text-bad">failed</span>' in dom

    shot = tmp_path / "report.png"
    taken = browse(page, profile, "--window-size=1280,1600", f"--screenshot={shot}")
    assert console_lines(taken.stderr) == []
    data = shot.read_bytes()
    assert png_size(data) == (1280, 1600)
    assert len(data) > 30_000, f"a {len(data)}-byte screenshot is too plain to be the report"
    assert len(set(png_pixels(data))) > 64, "the screenshot is blank"

    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    narrow = browse(probe, profile, "--window-size=400,900", "--dump-dom")
    assert console_lines(narrow.stderr) == []
    written = re.search(r'data-probe="([^"]*)"', narrow.stdout)
    assert written, "the probe did not run"
    found = json.loads(html.unescape(written.group(1)))
    assert found["fills"] == {
        "preprocess": "rgb(220, 252, 231)",
        "train": "rgb(220, 252, 231)",
        "evaluate": "rgb(254, 226, 226)",
    }
    assert found["overflow"] <= 0, f"a 400 px window scrolls sideways by {found['overflow']} px"

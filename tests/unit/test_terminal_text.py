"""What users and containers write reaches the terminal as text: Rich markup in a name is shown,
not obeyed, and control characters from a step's log are made visible, not sent raw."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from rich.console import Console

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.dataflow import tester as dataflow
from orchestrator.issues import Issue, Severity
from orchestrator.report.console import print_flow
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.progress import ConsoleObserver, finding_line
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.terminal_text import markup_safe, plain, visible

PIPELINE = """
    name: "markup[/]"
    steps:
      prep: {kind: processing, script: prep.py, outputs: [out]}
      use: {kind: processing, script: use.py, inputs: {data: {step: prep, output: out}}}
"""
CLEAR_SCREEN = "\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x00", "\x9b", "\x7f")


def run_and_print(tmp_path: Path, use: FakeBehaviour) -> tuple[str, Path]:
    """The pipeline run on the fake engine as `cit run` shows it; what the terminal got and
    the run directory."""
    for name in ("prep.py", "use.py"):
        (tmp_path / name).write_text("print('hi')\n")
    file = tmp_path / "pipeline.yaml"
    file.write_text(textwrap.dedent(PIPELINE))
    engine = FakeEngine(
        {
            "prep": FakeBehaviour(writes={"/opt/ml/processing/output/out/d.csv": "a,b\n1,2\n"}),
            "use": use,
        },
        images={RUNNER_IMAGE: "sha256:runner"},
    )
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    settings = RunSettings(cit_dir=tmp_path / ".cit", max_workers=1)
    flow = dataflow.test_flow(
        load_and_validate(file),
        file,
        RunContext(engine=engine, settings=settings, observer=ConsoleObserver(console)),
    )
    print_flow(console, flow)
    return out.getvalue(), Path(flow.run_dir)


def test_a_pipeline_named_with_markup_keeps_its_tables_and_failure_panels(
    tmp_path: Path,
) -> None:
    shown, _ = run_and_print(tmp_path, FakeBehaviour(exit_code=3, logs=["[red]no[/red] label"]))
    assert "of markup[/]" in shown
    assert "· markup[/]" in shown  # the summary table's title, and the table
    assert "│ prep │ processing │ succeeded │    0 │" in shown
    assert "─ use: failed ─" in shown and "│ [red]no[/red] label" in shown  # the failure panel
    assert "│ prep.out -> use.data │ csv, 1 rows, 2 cols │" in shown  # the data-flow table


def test_control_characters_from_a_step_reach_the_terminal_visible(tmp_path: Path) -> None:
    line = f"progress {CLEAR_SCREEN}done\x00 nul \x9b csi\x7f"
    shown, run_dir = run_and_print(tmp_path, FakeBehaviour(exit_code=1, logs=[line]))
    assert not [c for c in RAW_CONTROLS if c in shown], repr(shown)
    assert shown.count("progress \\x1b[2Jdone\\x00 nul \\x9b csi\\x7f") == 2  # streamed + panel
    saved = (run_dir / "steps" / "use" / "log.txt").read_text(encoding="utf-8")
    assert line in saved  # the file keeps what the step wrote


def test_a_finding_about_a_file_a_step_named_shows_its_controls() -> None:
    finding = Issue(
        rule="link_out", severity=Severity.ERROR, description="out/\x1b[2Jx -> /etc/passwd"
    )
    text = finding_line("prep", finding).plain
    assert "\x1b" not in text and "out/\\x1b[2Jx -> /etc/passwd" in text


def test_visible_keeps_tabs_and_line_breaks() -> None:
    assert visible("a\tb\nc\r\nd\re\x07") == "a\tb\nc\nd\\x0de\\x07"
    assert plain("[bold]x\x1b").plain == "[bold]x\\x1b"
    assert markup_safe("markup[/]\x00") == "markup\\[/]\\x00"

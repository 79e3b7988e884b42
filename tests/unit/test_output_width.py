"""How wide cit prints: ``COLUMNS`` when it is a positive number, else the terminal's, else wide;
a ``COLUMNS`` that is not a positive number never silences cit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.terminal_text import NON_TERMINAL_WIDTH, TerminalConsole, output_width


def cit(*args: str, columns: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": columns}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("columns", ["0", "-5", "abc", " ", "00"])
def test_a_columns_that_is_no_positive_number_is_as_if_unset(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert output_width(is_terminal=False) == NON_TERMINAL_WIDTH
    with open(os.devnull, "w") as devnull:
        assert TerminalConsole(file=devnull).width == NON_TERMINAL_WIDTH


def test_a_positive_columns_is_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "77")
    assert output_width(is_terminal=False) == 77
    assert output_width(is_terminal=True) == 77


def test_a_terminal_without_columns_is_left_to_follow_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output_width(is_terminal=True) is None
    monkeypatch.setenv("COLUMNS", "0")
    assert output_width(is_terminal=True) == 80  # the test's stdout is no terminal to ask


def test_columns_zero_still_shows_errors_and_help() -> None:
    failed = cit("run", "--dag", "/nonexistent.py", columns="0")
    assert failed.returncode == 2
    assert "/nonexistent.py: no such file" in failed.stderr
    shown = cit("-h", columns="0")
    assert shown.returncode == 0 and "Example:" in shown.stdout
    usage = cit("run", "--no-such-option", columns="0")
    assert usage.returncode == 2 and "No such option" in usage.stderr

"""Help at 80 columns (a pipe with ``COLUMNS=80``, an 80-column terminal): option names whole,
no word cut off, examples that can be pasted, ``[tool.cit]`` shown, one-line descriptions."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.cli.help import EXAMPLE_WIDTH, example, one_line_paragraphs

COMMANDS = [["run"], ["test-script"], ["test-s3"], ["test-all"], ["report"], ["image", "build"]]


def help_of(*path: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*path, "-h"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS)
def test_option_names_are_never_cut_at_80_columns(path: list[str]) -> None:
    shown = help_of(*path)
    assert "…" not in shown
    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        for option in param.opts:
            assert re.search(rf"(^|[\s,]){re.escape(option)}([\s,]|$)", shown, re.M), option


def test_the_configuration_help_names_tool_cit() -> None:
    assert "[tool.cit]" in help_of("run", columns=200)
    assert "[tool.cit]" in help_of("test-all", columns=200)


def test_a_long_example_goes_on_over_lines_that_can_be_pasted() -> None:
    lines = example("test-s3").splitlines()[2:]
    assert all(len(line) <= EXAMPLE_WIDTH for line in lines)
    assert [line.endswith(" \\") for line in lines] == [True] * (len(lines) - 1) + [False]
    joined = " ".join(line.removesuffix(" \\").strip() for line in lines)
    assert joined == (
        "cit test-s3 --script preprocess --dag examples/tabular/pipeline.py "
        "--s3-bucket my-bucket --s3-prefix raw/"
    )


def test_a_docstring_wrapped_in_the_source_is_one_line_of_help() -> None:
    assert one_line_paragraphs("Run every step, and check\n    the data.\n\n    More.") == (
        "Run every step, and check the data.\n\nMore."
    )
    shown = " ".join(help_of(columns=200).split())
    assert "DAG order, and check the data that flows along each edge." in shown
    assert "scratch folders (found by marker), that" in shown

"""How cit's help reads: ``-h`` beside ``--help``, flags shown without a value, and an example
under every command."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import UsageError  # typer 0.29 vendors click (pyproject pins it)
from typer.core import TyperCommand, TyperGroup

from ..terminal_text import output_width
from .command import json_mode

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
"""Given to the root app: every command inherits it from its parent's context."""

EXAMPLES: dict[str, list[str]] = {
    "cit": ["cit run --dag examples/tabular/pipeline.py --quiet", "cit report --format html"],
    "run": [
        "cit run --dag examples/tabular/pipeline.py --quiet --format junit --format html",
        "cit run --dag examples/tabular/pipeline.py --from train",
    ],
    "test-flow": ["cit test-flow --dag examples/tabular/pipeline.py --path preprocess,train"],
    "validate-contracts": ["cit validate-contracts --dag examples/tabular/pipeline.py"],
    "test-script": [
        "cit test-script --script preprocess --test-cases examples/tabular/test_cases/"
        "preprocess.yaml",
    ],
    "test-s3": [
        "cit test-s3 --script preprocess --dag examples/tabular/pipeline.py "
        "--s3-bucket my-bucket --s3-prefix raw/",
    ],
    "generate-data": [
        "cit generate-data --schema examples/tabular/schemas/raw.yaml --rows 100 --output data/",
    ],
    "test-all": ["cit test-all --config examples/tabular/integration_test_config.yaml"],
    "report": ["cit report --format junit", "cit report --test-results .cit/runs/ID --json"],
    "history": ["cit history --name tabular-xgboost --limit 5"],
    "clean": ["cit clean", "cit clean --cache"],
    "shell": ["cit shell train", "cit shell 20260101-120000-a1b2c3 train -- ls /opt/ml/input"],
    "version": ["cit version"],
    "image": ["cit image build"],
    "image build": ["cit image build --mode bootstrap", "cit image build --add lightgbm==4.5.0"],
    "image key": ["cit image key"],
    "import": ["cit import sagemaker pipeline.definition.json -o pipeline.yaml"],
    "import sagemaker": [
        "cit import sagemaker examples/tabular/sagemaker_pipeline.py -o tabular.yaml",
    ],
}
"""The example shown under each command's help, by its path after ``cit``."""


EXAMPLE_WIDTH = 56
"""The longest line of an example: a longer one goes on over lines ending in ``\\``, so the
command stays whole in an 80-column help and can be pasted as it is."""


def example(command: str) -> str:
    """The help's closing lines for ``command``: its examples, one a line (or a few)."""
    lines = "\n".join(line for shown in EXAMPLES[command] for line in _continued(shown))
    return f"Example:\n\n{lines}"


def _continued(command: str) -> list[str]:
    """``command`` in lines no longer than ``EXAMPLE_WIDTH`` where it can, broken before an
    option; every line but the last ends in ``\\``."""
    first, *options = command.split(" --")
    lines = [first]
    for option in options:
        if len(f"{lines[-1]} --{option} \\") <= EXAMPLE_WIDTH:
            lines[-1] = f"{lines[-1]} --{option}"
        else:
            lines.append(f"    --{option}")
    return [f"{line} \\" for line in lines[:-1]] + lines[-1:]


def one_line_paragraphs(text: str) -> str:
    """A docstring as help: its paragraphs each one line, however the source wrapped them
    (Rich help keeps a single line break, splitting a sentence)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


class OptionsTable(Table):
    """The table of a help's options: the option names never wrapped nor cut (the help text
    beside them wraps instead), and no word of the help cut off with an ellipsis."""

    def add_row(self, *renderables: RenderableType | None, **options: Any) -> None:
        for cell in renderables:
            for text in getattr(cell, "renderables", [cell]):  # the help: Columns of Text
                if isinstance(text, Text):
                    text.overflow = "fold"
        super().add_row(*renderables, **options)
        for column in self.columns[:-2]:  # all but the value and the help: the names
            column.no_wrap = True
        for column in self.columns:
            column.overflow = "fold"


def _flags_without_values(params: list[Any]) -> None:
    """A flag takes no value, so its help names none (Typer would show ``<bool>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


@functools.cache
def _typer_width() -> int | None:
    """The help's width typer read from ``TERMINAL_WIDTH``, if set: it comes first."""
    from typer import rich_utils

    return rich_utils.MAX_WIDTH


def help_width() -> None:
    """Help and usage errors are as wide as cit's tables (``output_width``): in a pipe or a CI
    log not the 80 columns Rich guesses without a terminal, which cut option defaults off with
    an ellipsis, and never the nothing Rich makes of ``COLUMNS=0``. Typer's help renderer is
    imported here, only when help or a usage error is drawn: it costs every command ~0.1 s."""
    from typer import rich_utils

    width = _typer_width()
    rich_utils.MAX_WIDTH = width or output_width(sys.stdout.isatty(), sys.stdout)
    rich_utils.Table = OptionsTable  # type: ignore[attr-defined]  # typer draws help with it


class CitCommand(TyperCommand):
    """A command whose help shows flags as flags, and whose usage errors (a missing option, an
    unknown one, a bad value) still end in a ``--json`` summary when ``--json`` was given."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            help_width()
            if "--json" in given:
                from .summary import emit_error  # deferred: pydantic, only with --json

                command = ctx.command_path.partition(" ")[2]
                emit_error(command, exc.format_message(), exc.exit_code)
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _flags_without_values(self.get_params(ctx))
        help_width()
        super().format_help(ctx, formatter)


class CitGroup(TyperGroup):
    """A group of commands whose help shows flags as flags."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError:
            help_width()
            raise

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError:  # an unknown command
            help_width()
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _flags_without_values(self.get_params(ctx))
        help_width()
        super().format_help(ctx, formatter)


def group(help_text: str, path: str, **settings: Any) -> typer.Typer:
    """A Typer app for ``cit`` or one of its groups (``path`` after ``cit``), with its
    example."""
    return typer.Typer(
        help=help_text,
        epilog=example(path),
        cls=CitGroup,
        no_args_is_help=True,
        **settings,
    )


def add(
    app: typer.Typer, path: str, function: Callable[..., Any], cls: type[TyperCommand] | None = None
) -> None:
    """Register ``function`` as the command at ``path`` ("run", "image build"), its help ending
    with an example; with ``--json`` (its ``json_output``) its human output goes to stderr."""

    @functools.wraps(function)
    def command(**options: Any) -> Any:
        if not options.get("json_output"):
            return function(**options)
        with json_mode(path):
            return function(**options)

    name = path.split()[-1]
    help_text = one_line_paragraphs(function.__doc__ or "")
    app.command(name, cls=cls or CitCommand, help=help_text, epilog=example(path))(command)

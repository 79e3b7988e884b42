"""``cit shell [RUN] STEP [-- CMD ARGS]``: a shell, or one command, in a container like the one
a step of a run had (``run.shell``), started with the docker client (``docker_cli``)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Annotated, Any

import typer

from ..errors import CitError, ImageError
from . import options
from .command import docker, emit_summary, errors, runs_dir_of, user_errors
from .help import CitCommand

AFTER_DASHES = "cit.after-dashes"


class CommandAfterDashes(CitCommand):
    """A command whose words after ``--`` are kept apart (``ctx.meta[AFTER_DASHES]``), not
    mixed into its own arguments."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta[AFTER_DASHES] = args[at + 1 :]
            args = args[:at]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["[OPTIONS]", "[RUN] STEP", "[-- CMD ARGS]"]


def shell(
    ctx: typer.Context,
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="[RUN] STEP",
            help="The step, of run RUN (a run id or a run's folder; default: the latest run). "
            "After '--': a command to run instead of a shell; its exit code is cit's.",
            show_default=False,
        ),
    ],
    cit_dir: options.CitDir = None,
    json_output: options.Json = False,
) -> None:
    """Open a shell (or run '-- CMD ARGS') in a container like the one a step of a run had:
    its image, mounts (inputs read-only), environment, user, limits and network."""
    from ..engines.docker_cli import client_environment, run_argv, run_client, terminal_attached
    from ..run.rundir import find_run
    from ..run.shell import shell_spec

    command: list[str] = ctx.meta.get(AFTER_DASHES, [])
    with user_errors():
        run, step = _run_and_step(names)
        run_dir = find_run(runs_dir_of(cit_dir), run).resolve()
        opened = shell_spec(run_dir, step, command)
        tty = terminal_attached()
        if not command and not tty:
            raise CitError(
                "an interactive shell needs a terminal; run a command instead: "
                f"cit shell {' '.join(names)} -- CMD ARGS"
            )
        spec = replace(opened.spec, image=_present_image(opened.image_choices, opened.notes))
        for note in opened.notes:
            errors.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
        if not command:
            errors.print(
                f"shell in step {step} of run {run_dir.name} ({opened.spec.image}); "
                "'exit' leaves it",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        code = run_client(
            run_argv(spec, interactive=True, tty=tty),
            client_environment(spec, os.environ),
            output_to_stderr=json_output,
        )
    details = {"step": step, "image": spec.image, "container": spec.name, "command": command}
    emit_summary(
        "shell", exit_code=code, run_id=run_dir.name, run_dir=str(run_dir), details=details
    )
    raise typer.Exit(code)


def _run_and_step(names: list[str]) -> tuple[str | None, str]:
    if len(names) == 1:
        return None, names[0]
    if len(names) == 2:
        return names[0], names[1]
    raise CitError(
        f"cit shell takes [RUN] STEP, then '--' before a command; got {len(names)} names "
        f"({' '.join(names)})"
    )


def _present_image(choices: Any, notes: list[str]) -> str:
    """The first of ``choices`` the engine has: the exact image the step ran on, else its tag
    (said so: it may have changed since)."""
    engine = docker()
    for choice in choices:
        if engine.image_id(choice) is not None:
            if choice != choices[0]:
                notes.append(f"the image the step ran on is gone; using {choice} as it is now")
            return str(choice)
    raise ImageError(
        f"the step's image ({' or '.join(choices)}) is no longer on the local engine; "
        "build or pull it again"
    )

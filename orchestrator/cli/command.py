"""What every command shares: the console, errors as exit codes, Ctrl-C, the engine reached when
needed, and the skeleton of a command that runs something (settings, configuration, the one
way its reports are written, its exit code)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ..engines.base import Isolation
from ..engines.image_build import RequestedMode, build_runner_image
from ..errors import CitError
from ..report.formats import ReportFormat
from ..run.settings import RUNNER_IMAGE, RunSettings
from ..sizes import human_size
from ..terminal_text import TerminalConsole, markup_safe, plain, progress_interval

if TYPE_CHECKING:
    from ..aws.s3 import Download
    from ..engines.docker_engine import DockerEngine
    from ..engines.image_additions import Additions
    from ..report.config import ReportingConfig
    from ..report.model import Report
    from ..run.progress import ConsoleObserver
    from ..suite.config import IntegrationTestConfig
    from .defaults import Choices

console = TerminalConsole()
errors = TerminalConsole(stderr=True)

JSON = ReportFormat.JSON
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
JSON_COMMANDS: list[str] = []
"""The command running with ``--json``, if one is (see ``json_mode``)."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a CitError into one line on stderr and exit code 2 (and, with ``--json``, a
    summary saying so on stdout)."""
    try:
        yield
    except CitError as exc:
        print_error(exc)
        if JSON_COMMANDS:
            from .summary import emit_error  # deferred: pydantic, only with --json

            emit_error(JSON_COMMANDS[-1], str(exc), exc.exit_code)
        raise typer.Exit(exc.exit_code) from None


def print_error(exc: CitError) -> None:
    errors.print(f"[bold red]error:[/] {markup_safe(exc)}", highlight=False, soft_wrap=True)


@contextmanager
def json_mode(command: str) -> Iterator[None]:
    """While ``command`` runs with ``--json``, its human output goes to stderr and stdout is
    left for its summary."""
    before = console._file  # None: whatever sys.stdout is when it prints
    console.file = sys.stderr
    JSON_COMMANDS.append(command)
    try:
        yield
    finally:
        JSON_COMMANDS.pop()
        console._file = before


def emit_summary(command: str, **fields: Any) -> None:
    """With ``--json``: the summary of ``command``, ``fields`` as ``summary.Summary`` names
    them."""
    if JSON_COMMANDS:
        from .summary import Summary, emit  # deferred: pydantic, only with --json

        emit(Summary(command=command, **fields))


def emit_report_summary(
    command: str, report: Report, run_dir: Path | None, written: list[Path]
) -> None:
    """With ``--json``: the summary of a command that wrote ``report`` into ``run_dir``."""
    if JSON_COMMANDS:
        from .summary import emit, of_report  # deferred: as above

        emit(of_report(command, report, run_dir, written))


def say(text: str) -> None:
    console.print(plain(text), highlight=False, soft_wrap=True)


def show_download(done: Download) -> None:
    files = "1 file" if done.files == 1 else f"{done.files} files"
    console.print(
        f"[bold]{markup_safe(done.uri)}[/]: {files}, {human_size(done.bytes)} "
        f"({done.fetched} downloaded, {done.cached} from the cache)",
        highlight=False,
        soft_wrap=True,
    )


def stop_on_signals(cancel: threading.Event, observer: ConsoleObserver) -> None:
    """Ctrl-C, SIGTERM or a closed terminal stop the run once, and never interrupt clean-up.

    Before the run starts (loading, building the image) the signal interrupts what is going
    on; once steps run it only sets ``cancel``, and the executor stops them and tidies up.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            return
        cancel.set()
        if not observer.started:
            raise KeyboardInterrupt

    for number in STOP_SIGNALS:
        signal.signal(number, handler)


def image_builder(
    engine: DockerEngine, mode: RequestedMode = "auto", requirements: Path | None = None
) -> Callable[[str], None]:
    """Build the runner image with its progress shown line by line."""

    def show(line: str) -> None:
        console.print(plain(f"  {line}", "dim"), highlight=False)

    def build(tag: str) -> None:
        console.print(
            f"[bold]building runner image {markup_safe(tag)}[/] (once; later runs reuse it)"
        )
        build_runner_image(
            engine.image_tools(), tag=tag, mode=mode, requirements=requirements, on_line=show
        )

    return build


def additions_builder(
    engine: DockerEngine, mode: RequestedMode = "auto"
) -> Callable[[Additions, str | None], str]:
    """Build the runner plus added packages, progress shown line by line; return the tag."""

    def show(line: str) -> None:
        console.print(plain(f"  {line}", "dim"), highlight=False)

    def build(additions: Additions, tag: str | None) -> str:
        from ..engines.image_additions import build_with_additions  # deferred: only --add

        console.print(f"[bold]adding packages to {markup_safe(RUNNER_IMAGE)}[/]")
        return build_with_additions(
            engine.image_tools(),
            base_tag=RUNNER_IMAGE,
            additions=additions,
            tag=tag,
            mode=mode,
            on_line=show,
        )

    return build


def connect() -> DockerEngine:
    """The Docker engine of the environment (``EngineUnavailable`` when none answers)."""
    # deferred: the docker SDK takes ~60 ms to import, and cit --help needs none of it
    from ..engines.docker_engine import connect as connect_to_docker

    engine = connect_to_docker()
    engine.pull_progress = show_progress
    return engine


def show_progress(line: str) -> None:
    """A line of an image pull's or a download's progress, dimmed, never wrapped."""
    console.print(plain(f"  {line}", "dim"), highlight=False, soft_wrap=True)


def docker() -> DockerEngine:
    """The Docker engine of the environment, connected now."""
    return connect()


class Docker:
    """The Docker engine, reached when a command needs it (after its input is checked), and the
    runner image built on it when missing."""

    def __init__(self) -> None:
        self.engine: DockerEngine | None = None

    def connect(self) -> DockerEngine:
        self.engine = docker()
        return self.engine

    def build(self, tag: str) -> None:
        assert self.engine is not None, "connected before any image is needed"
        image_builder(self.engine)(tag)


def runs_dir_of(cit_dir: Path | None) -> Path:
    """The runs folder of a command that reads earlier runs: its --cit-dir, else ``CIT_DIR``,
    else the configuration file's ``execution.cit_dir``, else .cit."""
    from .defaults import cit_dir_of, config_path, environment, load

    with user_errors():
        env = environment()
        return cit_dir_of(cit_dir, env, load(config_path(None, env))) / "runs"


def say_written(paths: list[Path]) -> None:
    """One line naming the reports a command wrote into its run directory."""
    names = ", ".join(p.name for p in paths[1:])
    say(f"report: {paths[0]}" + (f" (and {names})" if names else ""))


def write_output_report(kind: str, data: dict[str, Any], target: Path | None) -> None:
    """``--output-report``: the command's own result as JSON, when asked for."""
    if target is not None:
        from ..report.write import write_json_report  # deferred: see ``Command.write_reports``

        write_json_report(kind, data, target)


class Command:
    """The skeleton of a command that runs something: its start time, its run settings, the
    configuration it reads, a cancel flag that Ctrl-C sets, the console view of the run, and
    the end: its reports written (one way for every command) and its exit code."""

    def __init__(
        self,
        cit_dir: Path | None,
        image: str | None = None,
        max_workers: int | None = None,
        *,
        cpu_only: bool = False,
    ) -> None:
        from .defaults import Choices, environment  # deferred: pydantic, as below

        self.started = time.time()
        self.flags = Choices(
            cit_dir=cit_dir, image=image, max_workers=max_workers, cpu_only=cpu_only
        )
        with user_errors():
            self.env = environment()
        self.config: IntegrationTestConfig | None = None
        """The configuration file as written (``defaults.settle`` puts ``CIT_*`` before it)."""
        self.debugging: dict[str, Any] = {}
        self.settings = self._settings()
        self.cancel = threading.Event()

    def settled(self, **flags: Any) -> Choices:
        """Each setting from the command's flags (``flags`` in place of some), else ``CIT_*``,
        else the configuration file: ``defaults.settle``, the one place that order is written."""
        from .defaults import settle

        return settle(replace(self.flags, **flags), self.env, self.config)

    def cit_dir(self, flag: Path | None) -> Path:
        """``flag``, else ``CIT_DIR``, else the configuration's ``execution.cit_dir``, else
        .cit; resolved."""
        from .defaults import cit_dir_of

        return cit_dir_of(flag, self.env, self.config).resolve()

    def _settings(self) -> RunSettings:
        """Each setting from its flag, else ``CIT_*``, else the configuration file, else the
        default; the file's execution limits applied."""
        settled, defaults = self.settled(), RunSettings()
        settings = RunSettings(
            cit_dir=self.cit_dir(self.flags.cit_dir),
            image=settled.image or defaults.image,
            max_workers=settled.max_workers or defaults.max_workers,
            cpu_only=bool(settled.cpu_only),
        )
        settings = replace(settings, **self.debugging)
        return self.config.execution.limits_of(settings) if self.config is not None else settings

    def debug(self, keep_on_failure: bool, debug_ports: list[str] | None = None) -> None:
        """--keep-on-failure and --debug-port STEP=PORT (a ``CitError`` when one is not)."""
        from ..run.debug_port import check_ports_free, parse_debug_ports

        ports = parse_debug_ports(debug_ports or [])
        check_ports_free(ports)
        self.debugging = {"keep_on_failure": keep_on_failure, "debug_ports": ports}
        self.settings = replace(self.settings, **self.debugging)

    def watch(self, quiet: bool, view: type[ConsoleObserver] | None = None) -> ConsoleObserver:
        """The console view of the run (default: the live table of steps); from now on Ctrl-C
        stops the run (``cancel``)."""
        from ..run.progress import ConsoleObserver  # deferred: as below

        with user_errors():
            every = progress_interval()
        observer = (view or ConsoleObserver)(console, stream_logs=not quiet, progress_seconds=every)
        stop_on_signals(self.cancel, observer)
        return observer

    def configure(self, path: Path | None) -> IntegrationTestConfig:
        """The configuration file (--config, else ``CIT_CONFIG``, else the one found up the
        folder tree), whose settings come after the flags and ``CIT_*``; returned as the run
        reads it, with what ``CIT_*`` sets in place of its own (``defaults.with_environment``)."""
        from .defaults import config_path, load, with_environment

        self.config = load(config_path(path, self.env))
        self.settings = self._settings()
        return with_environment(self.config, self.env)

    def isolation(self, chosen: Isolation | None) -> Isolation:
        """--isolation, else ``CIT_ISOLATION``, else the file's ``execution.isolation_mode``,
        else container."""
        return self.settled(isolation=chosen).isolation or "container"

    def formats(self, chosen: list[ReportFormat] | None) -> list[ReportFormat]:
        """--format, else ``CIT_FORMAT``, else the file's ``reporting.formats``, else JSON."""
        formats = self.settled(formats=chosen).formats
        return list(formats) if formats is not None else [JSON]

    def reporting(self, chosen: list[ReportFormat] | None) -> ReportingConfig:
        """What the command writes into its run directory: the file's reporting with the
        formats chosen (only test-all copies its reports elsewhere)."""
        from ..report.config import ReportingConfig

        base = self.config.reporting if self.config is not None else ReportingConfig()
        update = {"formats": self.formats(chosen), "output_directory": None}
        return base.model_copy(update=update)

    def write_reports(
        self,
        report: Report,
        run_dir: Path,
        reporting: ReportingConfig,
        source: str | None = None,
    ) -> list[Path]:
        """The command's reports, written the one way every command writes them."""
        # deferred: the report writer and the run's console view load the data models
        # (pydantic), which cit --help and a mistyped option never need
        from ..report.write import write_reports

        with user_errors():
            return write_reports(report, run_dir, reporting, source)

    def finish(
        self, name: str, report: Report, run_dir: Path, reporting: ReportingConfig
    ) -> NoReturn:
        """Write the reports, name them, and exit with the report's verdict."""
        written = self.write_reports(report, run_dir, reporting)
        say_written(written)
        emit_report_summary(name, report, run_dir, written)
        raise typer.Exit(report.exit_code)

"""What every command shares: the console, errors as exit codes, Ctrl-C, the engine reached when
needed, and the skeleton of a command that runs something (settings, configuration, the one
way its reports are written, its exit code)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ..engines.image_additions import Additions, build_with_additions
from ..engines.image_build import RequestedMode, build_runner_image
from ..errors import CitError
from ..run.settings import RUNNER_IMAGE, RunSettings
from ..terminal_text import TerminalConsole, human_size, markup_safe, plain

if TYPE_CHECKING:
    from ..aws.s3 import Download
    from ..engines.docker_engine import DockerEngine
    from ..report.config import ReportingConfig
    from ..report.formats import ReportFormat
    from ..report.model import Report
    from ..run.progress import ConsoleObserver
    from ..suite.config import IntegrationTestConfig

console = TerminalConsole()
errors = TerminalConsole(stderr=True)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a CitError into one line on stderr and exit code 2."""
    try:
        yield
    except CitError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None


def print_error(exc: CitError) -> None:
    errors.print(f"[bold red]error:[/] {markup_safe(exc)}", highlight=False, soft_wrap=True)


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


def configuration(path: Path | None) -> IntegrationTestConfig:
    """The --config file (every default without one); read only by commands that take it."""
    from ..suite.config import config_or_defaults

    return config_or_defaults(path)


def formats_of(
    chosen: list[ReportFormat] | None, config: IntegrationTestConfig
) -> list[ReportFormat]:
    """The formats of --format, else those of the configuration."""
    return list(chosen) if chosen else list(config.reporting.formats)


def reporting_of(
    chosen: list[ReportFormat] | None, config: IntegrationTestConfig
) -> ReportingConfig:
    """What a command writes into its run directory: the configuration's reporting with the
    formats of --format (only test-all copies its reports elsewhere)."""
    update = {"formats": formats_of(chosen, config), "output_directory": None}
    return config.reporting.model_copy(update=update)


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
        self, cit_dir: Path, image: str | None = None, max_workers: int | None = None
    ) -> None:
        self.started = time.time()
        defaults = RunSettings()
        self.settings = RunSettings(
            cit_dir=cit_dir.resolve(),
            image=image or defaults.image,
            max_workers=max_workers or defaults.max_workers,
        )
        self.cancel = threading.Event()

    def watch(self, quiet: bool, view: type[ConsoleObserver] | None = None) -> ConsoleObserver:
        """The console view of the run (default: the live table of steps); from now on Ctrl-C
        stops the run (``cancel``)."""
        from ..run.progress import ConsoleObserver  # deferred: as below

        observer = (view or ConsoleObserver)(console, stream_logs=not quiet)
        stop_on_signals(self.cancel, observer)
        return observer

    def configure(self, path: Path | None) -> IntegrationTestConfig:
        """The --config file, whose execution limits every such command applies."""
        config = configuration(path)
        self.settings = config.execution.limits_of(self.settings)
        return config

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

    def finish(self, report: Report, run_dir: Path, reporting: ReportingConfig) -> NoReturn:
        """Write the reports, name them, and exit with the report's verdict."""
        say_written(self.write_reports(report, run_dir, reporting))
        raise typer.Exit(report.exit_code)

"""What every run of one command shares, in one object built where the command starts.

A command (``cit test-script``, ``cit test-s3``, ``cit test-flow``, ``cit test-all``) or a
Python entry point (``ScriptUnitTester``, ``PipelineDataFlowTester``, ``IntegrationTestSuite``)
builds one ``RunContext`` and hands it down to the functions that run its pipelines and test
cases; each of those reads what it needs, and one that must change a part (the settings with
the secrets of its cases, the engine picked by isolation) passes on a changed copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..engines.base import Engine, Isolation
from ..pipeline.model import Pipeline
from .observer import RunObserver
from .pipeline_run import ImageBuilder, S3Fetcher, run_loaded
from .results import RunResult
from .settings import RunSettings

REGISTRY_FOLDER = "registry"
"""Registered test data lives in ``<cit dir>/registry`` (``TestDataRegistry``'s default)."""


@dataclass(frozen=True)
class RunContext:
    """The engine, settings and hooks the runs of one command share."""

    engine: Engine | None = None
    """What runs the containers (or processes); None where the isolation picks it."""
    settings: RunSettings = field(default_factory=RunSettings)
    observer: RunObserver | None = None
    """Told of each step as it starts and ends."""
    build_default: ImageBuilder | None = None
    """Builds the runner image when the engine lacks it."""
    cancel: threading.Event | None = None
    """Set by Ctrl-C: the running step stops and the rest are interrupted."""
    isolation: Isolation = "container"
    """Where test cases run; recorded in every case's result."""
    fetch_s3: S3Fetcher | None = None
    """Downloads an S3 input (default: ``s3_fetcher()``)."""
    registry_root: Path | None = None
    """Where registered test data is (default: ``<cit dir>/registry``)."""
    run_id: str | None = None
    """The command's run id; a test case it runs is ``<run_id>-<case name>`` (new ids
    without it)."""

    @property
    def registry(self) -> Path:
        """Where registered test data is."""
        return self.registry_root or self.settings.cit_dir / REGISTRY_FOLDER

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def run(self, pipeline: Pipeline, file: Path, *, run_id: str | None = None) -> RunResult:
        """Run the validated ``pipeline`` (read from ``file``) in this context's engine; its
        run directory is named ``run_id`` (a new id without it)."""
        if self.engine is None:
            raise ValueError("a run needs an engine")
        return run_loaded(
            pipeline,
            file,
            self.engine,
            settings=self.settings,
            observer=self.observer,
            build_default=self.build_default,
            cancel=self.cancel,
            fetch_s3=self.fetch_s3,
            run_id=run_id,
        )

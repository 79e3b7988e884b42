"""Running a job's containers: one, or one per host of a training job on several instances.

The hosts of such a job run at once on a private network of their own, created for the step
and removed after it, each reachable by its host name (algo-1, algo-2, …). As on SageMaker the
job fails when any host fails: the first failure stops the other hosts, and decides the step's
status. Each host's output reaches the step's log with its name in front of every line.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from ..engines.base import ContainerOutcome, Engine, LogSink
from ..engines.log_lines import split_lines
from ..engines.spec import ContainerSpec
from .sagemaker_job import CURRENT_HOST, JobSpec

JOIN_SECONDS = 0.1


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: the outcome that decides the step's status, and the host it came from
    when the job had several hosts and one of them failed."""

    outcome: ContainerOutcome
    failed_host: str | None = None


def run_job(job: JobSpec, engine: Engine, on_log: LogSink, cancel: threading.Event) -> JobOutcome:
    """Run every container of ``job`` to its end; Ctrl-C (``cancel``) stops them all."""
    if job.network is None:
        return JobOutcome(engine.run(job.container, on_log=on_log, cancel=cancel))
    started = time.time()
    try:
        engine.create_network(job.network)
    except Exception as exc:  # the engine's answer, as a step error, not a crash of the run
        reason = f"could not create the network of its hosts: {exc}"
        return JobOutcome(ContainerOutcome(None, started, time.time(), error=reason))
    group = HostGroup(job.containers, engine, on_log)
    try:
        return group.run(cancel)
    finally:
        # The network can go only once the containers are gone: each host removed its own
        # as it ended (or kept it, stopped); these are the hosts that never got that far.
        for spec in job.containers:
            if host_of(spec) not in group.outcomes:
                with contextlib.suppress(Exception):
                    engine.remove_container(spec.name)
        with contextlib.suppress(Exception):
            engine.remove_network(job.network.name)


def succeeded(outcome: ContainerOutcome) -> bool:
    return (
        outcome.exit_code == 0
        and not (outcome.timed_out or outcome.oom_killed or outcome.cancelled)
        and outcome.error is None
    )


def host_of(spec: ContainerSpec) -> str:
    return spec.hostname or CURRENT_HOST


class HostGroup:
    """The containers of one job's hosts, run at once; the first to fail stops the rest."""

    def __init__(self, specs: tuple[ContainerSpec, ...], engine: Engine, on_log: LogSink):
        self.specs = specs
        self.engine = engine
        self.on_log = on_log
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: dict[str, ContainerOutcome] = {}
        self.failed: list[str] = []

    def run(self, cancel: threading.Event) -> JobOutcome:
        threads = [
            threading.Thread(target=self._run_host, args=(spec,), name=f"cit-{host_of(spec)}")
            for spec in self.specs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(JOIN_SECONDS)
                if cancel.is_set():
                    self.stop.set()
        return self._decided()

    def _run_host(self, spec: ContainerSpec) -> None:
        host = host_of(spec)
        started = time.time()
        try:
            outcome = self.engine.run(spec, on_log=self._prefixed(host), cancel=self.stop)
        except Exception as exc:  # the engine failed for this host: the job fails with it
            outcome = ContainerOutcome(None, started, time.time(), error=str(exc))
        with self.lock:
            self.outcomes[host] = outcome
            if not succeeded(outcome) and not self.stop.is_set():
                self.failed.append(host)
                self.stop.set()
        # Removed now, beside the other hosts' removals: the network goes only after them. A
        # failed host kept for a look inside (--keep-on-failure) stays, stopped.
        if not outcome.kept:
            with contextlib.suppress(Exception):
                self.engine.remove_container(spec.name)

    def _prefixed(self, host: str) -> LogSink:
        """The step's log sink for one host: its name before each line, one host at a time."""

        def on_log(text: str) -> None:
            lines = split_lines(text)
            with self.lock:
                self.on_log("".join(f"{host} | {line}" for line in lines))

        return on_log

    def _decided(self) -> JobOutcome:
        """The first failure, else a stop by the user, else success over the whole job."""
        if self.failed:
            return JobOutcome(self.outcomes[self.failed[0]], self.failed[0])
        ordered = [self.outcomes[host_of(spec)] for spec in self.specs]
        for outcome in ordered:
            if not succeeded(outcome):
                return JobOutcome(outcome)
        return JobOutcome(
            ContainerOutcome(
                exit_code=0,
                started_at=min(o.started_at for o in ordered),
                finished_at=max(o.finished_at for o in ordered),
                image_id=ordered[0].image_id,
            )
        )

"""The Docker engine: the only module that imports ``docker``.

The SDK is imported when first used (see ``engine_queries``): on a local engine, a run whose
steps all come from the step cache only asks questions, and never needs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from ..aws.ecr import ecr_login
from ..errors import EngineUnavailable, ImageBuildError, ImageError, PullError
from .base import ENGINE_LOST, ContainerInfo, ContainerOutcome, Engine, LogSink, to_keep
from .engine_queries import (
    DEFAULT_CONTEXT,
    EngineQueries,
    EngineRefused,
    Filters,
    SocketQueries,
    current_context,
    local_socket,
)
from .image_build import OnLine, split_ref
from .image_pull import PULL_TIMEOUT_ENV, PullProgress, pull_failure, pull_timeout
from .log_lines import LineSplitter
from .spec import LOOPBACK, ContainerSpec, NetworkSpec

START_HINT = (
    "start it (e.g. 'sudo systemctl start docker', or 'sudo dockerd &'), "
    "or point DOCKER_HOST at a running engine"
)
POLL_SECONDS = 0.05
KILL_GRACE_SECONDS = 10
# SageMaker sends SIGTERM at MaxRuntimeInSeconds and SIGKILL 120 s later.
STOP_GRACE_SECONDS = 120
# After exit the attached stream ends by itself; these bound the wait when the engine stalls.
LOG_IDLE_SECONDS = 30
LOG_IDLE_AFTER_STOP = 2
HTTP_CONFLICT = 409
# Every capability is dropped but these three, which only a container running as root uses
# (cit runs as root, as SageMaker does, when cit itself runs as root; see settings): root
# writing, extracting and chmod-ing files in folders it does not own, as tarfile, pip and
# shutil do. Not kept: MKNOD (device nodes), SETUID/SETGID (su, gosu), FSETID (setuid
# bits survive writes), NET_RAW, NET_BIND_SERVICE, SYS_CHROOT, KILL, SETPCAP, SETFCAP,
# AUDIT_WRITE: no SageMaker script needs them.
KEPT_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER")
NO_NEW_PRIVILEGES = "no-new-privileges:true"
GpuDriver = Literal["nvidia", "cdi"]
"""How the engine hands out GPUs: the NVIDIA runtime (``docker run --gpus``) or CDI devices."""
CDI_GPU_PREFIX = "nvidia.com/gpu="


if TYPE_CHECKING:
    import docker.types


def _sdk() -> Any:
    """The docker SDK, imported on first use."""
    import docker
    import docker.errors
    import docker.types

    return docker


def _sdk_failures() -> tuple[type[Exception], ...]:
    """What an SDK call raises when it fails: the engine's error answers and lost connections."""
    import requests.exceptions

    return (_sdk().errors.DockerException, requests.exceptions.RequestException)


def connect(timeout_seconds: float = 60.0) -> DockerEngine:
    """The engine the environment names (as for `docker`: DOCKER_HOST, the Docker context,
    the default socket), answering."""
    path = local_socket(os.environ)
    if path is not None:
        queries = SocketQueries(path, timeout_seconds)
        try:
            queries.ping()
        except EngineUnavailable as exc:
            raise EngineUnavailable(f"{exc}; {START_HINT}") from None
        return DockerEngine(lambda: _sdk_client(timeout_seconds), queries)
    return DockerEngine.of_client(_sdk_client(timeout_seconds))


def _sdk_client(timeout_seconds: float) -> Any:
    try:
        client = _sdk().from_env(timeout=int(timeout_seconds))
        client.ping()
    except _sdk_failures() as exc:
        where = _engine_named(os.environ)
        raise EngineUnavailable(
            f"no Docker engine answers at {where} ({_short(exc)}); {START_HINT}"
        ) from None
    return client


def _engine_named(environ: Mapping[str, str]) -> str:
    context = current_context(environ)
    if environ.get("DOCKER_HOST"):
        return environ["DOCKER_HOST"]
    if context is not None and context != DEFAULT_CONTEXT:
        return f"the Docker context '{context}'"
    return "the default socket"


class DockerEngine:
    """Runs container specs with the Docker SDK's low-level API (one HTTP call per action);
    asks its questions through ``queries``."""

    def __init__(self, make_client: Callable[[], Any], queries: EngineQueries) -> None:
        """``make_client`` makes the SDK's client the first time it is needed."""
        self._make_client = make_client
        self._client: Any = None
        self._client_failure: EngineUnavailable | None = None
        self._client_lock = threading.Lock()
        self.queries = queries
        self._removals = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cit-remove")
        self._pending: list[Future[None]] = []
        self._created: dict[str, str] = {}
        self._lock = threading.Lock()
        self.pull_progress: OnLine | None = None
        """Where ``pull`` tells its progress, a line at a time (nowhere when None)."""
        self._gpu_driver: GpuDriver | None = None

    @classmethod
    def of_client(cls, client: Any) -> DockerEngine:
        """An engine reached through ``client``, the SDK's, for actions and questions alike."""
        return cls(lambda: client, SdkQueries(client))

    @property
    def client(self) -> Any:
        """The docker SDK's client, made (and the SDK imported) on first use; an engine that
        could not be reached then is not tried again."""
        with self._client_lock:
            if self._client_failure is not None:
                raise self._client_failure
            if self._client is None:
                try:
                    self._client = self._make_client()
                except EngineUnavailable as exc:
                    self._client_failure = exc
                    raise
            return self._client

    def create(self, spec: ContainerSpec) -> None:
        """Create the container ahead of time; ``run`` then only has to start it."""
        with engine_errors():
            container_id = self._create(spec)
        with self._lock:
            self._created[spec.name] = container_id

    def _create(self, spec: ContainerSpec) -> str:
        driver = self.gpu_driver() if spec.gpus else None
        arguments = create_arguments(self.client.api, spec, driver)
        return str(self.client.api.create_container(**arguments)["Id"])

    def gpu_driver(self) -> GpuDriver | None:
        """How this engine gives GPUs, asked once: the NVIDIA runtime, CDI devices, or none."""
        if self._gpu_driver is None:
            self._gpu_driver = gpu_driver_of(self.queries.info())
        return self._gpu_driver

    def has_gpus(self) -> bool:
        return self.gpu_driver() is not None

    def create_network(self, spec: NetworkSpec) -> None:
        with engine_errors():
            self.client.api.create_network(
                spec.name, driver="bridge", internal=spec.internal, labels=dict(spec.labels)
            )

    def remove_network(self, name: str) -> None:
        try:
            with engine_errors():
                self.client.api.remove_network(name)
        except _sdk().errors.NotFound:
            return

    def list_networks(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        found = self.queries.networks(label_filters(labels))
        return [ContainerInfo(n["Name"], dict(n.get("Labels") or {}), "") for n in found]

    def run(
        self, spec: ContainerSpec, *, on_log: LogSink, cancel: threading.Event
    ) -> ContainerOutcome:
        started = time.time()
        with self._lock:
            created = self._created.pop(spec.name, None)
        try:
            container_id = created or self._create(spec)
        except EngineUnavailable as exc:  # the SDK's client could not be made
            return ContainerOutcome(None, started, time.time(), error=str(exc))
        except _sdk_failures() as exc:
            return ContainerOutcome(None, started, time.time(), error=_short(exc))
        try:
            outcome = self._run_created(container_id, spec, on_log, cancel, started)
        except BaseException:
            self._remove_later(container_id)
            raise
        if to_keep(spec, outcome):
            return replace(outcome, kept=True)
        self._remove_later(container_id)
        return outcome

    def _run_created(
        self,
        container_id: str,
        spec: ContainerSpec,
        on_log: LogSink,
        cancel: threading.Event,
        started: float,
    ) -> ContainerOutcome:
        api = self.client.api
        try:
            # Attached before start, as `docker run` does: the stream then holds every byte.
            # demux: stdout and stderr apart, so a line of one never lands inside the other's
            output = api.attach(
                container_id, stdout=True, stderr=True, stream=True, logs=True, demux=True
            )
            api.start(container_id)
            started = time.time()
        except _sdk_failures() as exc:
            return ContainerOutcome(None, started, time.time(), error=_short(exc))
        logs = LogPump(output, on_log)
        logs.start()
        ended = _wait_for_exit(api, container_id, spec.timeout_seconds, cancel)
        finished = time.time()
        logs.drain(LOG_IDLE_SECONDS if ended in ("exited", "timeout") else LOG_IDLE_AFTER_STOP)
        details = _inspect(api, container_id)
        state = details.get("State", {})
        return ContainerOutcome(
            exit_code=state.get("ExitCode"),
            started_at=started,
            finished_at=finished,
            oom_killed=bool(state.get("OOMKilled")),
            timed_out=ended == "timeout",
            cancelled=ended == "cancelled",
            image_id=details.get("Image"),
            error=ENGINE_LOST if ended == "engine-lost" else state.get("Error") or None,
        )

    def _remove_later(self, container_id: str) -> None:
        """Remove off the critical path; ``flush`` waits for it."""
        self._pending.append(self._removals.submit(self._remove_quietly, container_id))

    def _remove_quietly(self, name: str) -> None:
        # With the engine gone there is nothing to remove now; the next run sweeps it.
        with contextlib.suppress(EngineUnavailable):
            self.remove_container(name)

    def flush(self) -> None:
        """Remove containers created ahead but never run, and wait for every removal."""
        with self._lock:
            unused, self._created = list(self._created.values()), {}
        for container_id in unused:
            self._remove_later(container_id)
        pending, self._pending = self._pending, []
        wait(pending)

    def image_tools(self) -> DockerImageTools:
        """Image building and importing, for ``image_build``."""
        return DockerImageTools(self.client)

    def image_id(self, ref: str) -> str | None:
        try:
            details = self.queries.inspect_image(ref)
        except EngineRefused as exc:
            raise ImageError(f"image '{ref}': {exc.reason}") from None
        return None if details is None else str(details["Id"])

    def pull(self, ref: str) -> str:
        """Pull ``ref`` (logged in to ECR with the AWS credentials for an ECR image), each
        finished layer and the total told to ``pull_progress``; a ``PullError`` when it
        cannot, or takes longer than ``CIT_PULL_TIMEOUT`` seconds."""
        login = ecr_login(ref)
        say = self.pull_progress or (lambda line: None)
        say(f"pulling {ref}" + (f" (logged in to {login.registry})" if login else ""))
        progress = PullProgress(ref, say)
        failure: list[BaseException] = []
        worker = threading.Thread(
            target=self._pull_into,
            args=(ref, login.auth_config() if login else None, progress, failure),
            name=f"cit-pull {ref}",
            daemon=True,
        )
        worker.start()
        timeout = pull_timeout()
        worker.join(timeout)
        if worker.is_alive():
            reason = f"took longer than {timeout:g}s (raise {PULL_TIMEOUT_ENV} for a slow link)"
            raise PullError(ref, reason, unreachable=False)
        if failure:
            raise failure[0]
        image_id = self.image_id(ref)
        if image_id is None:
            raise PullError(ref, "pulled, but the engine does not have it", unreachable=False)
        progress.finish()
        return image_id

    def _pull_into(
        self,
        ref: str,
        auth: dict[str, str] | None,
        progress: PullProgress,
        failure: list[BaseException],
    ) -> None:
        repository, tag = split_ref(ref)
        try:
            for entry in self.client.api.pull(
                repository, tag=tag, stream=True, decode=True, auth_config=auth
            ):
                progress.feed(entry)
        except (PullError, EngineUnavailable) as exc:
            failure.append(exc)
        except _sdk().errors.APIError as exc:
            failure.append(pull_failure(ref, str(exc.explanation or _short(exc))))
        except _sdk_failures() as exc:
            failure.append(
                EngineUnavailable(f"the Docker engine stopped answering ({_short(exc)})")
            )

    def capacity(self) -> tuple[int, int]:
        """CPUs and memory bytes the engine can give containers."""
        info = self.queries.info()
        return int(info.get("NCPU") or 1), int(info.get("MemTotal") or 0)

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        # The low-level listing is one call, so a container removed meanwhile cannot fail it.
        found = self.queries.containers(label_filters(labels))
        return [
            ContainerInfo(c["Names"][0].lstrip("/"), dict(c.get("Labels") or {}), c["State"])
            for c in found
        ]

    def remove_container(self, name: str) -> None:
        with self._lock:
            self._created.pop(name, None)
        try:
            with engine_errors():
                self.client.api.remove_container(name, force=True, v=True)
        except _sdk().errors.NotFound:
            return
        except _sdk().errors.APIError as exc:
            if exc.status_code != HTTP_CONFLICT:  # another cit is removing it already
                raise


if TYPE_CHECKING:
    _satisfies_engine: type[Engine] = DockerEngine


def label_filters(labels: Mapping[str, str]) -> Filters:
    """Engine API filters for the objects carrying every one of ``labels``."""
    return {"label": [f"{k}={v}" for k, v in labels.items()]}


class SdkQueries:
    """``EngineQueries`` through the SDK's client, for an engine that is not on a local socket;
    its errors become ``EngineRefused`` and ``EngineUnavailable`` as ``SocketQueries``'s do."""

    def __init__(self, client: Any) -> None:
        self._api = client.api

    def ping(self) -> None:
        with query_errors("GET /_ping"):
            self._api.ping()

    def info(self) -> dict[str, Any]:
        with query_errors("GET /info"):
            return dict(self._api.info())

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        try:
            with query_errors(f"GET /images/{ref}/json"):
                return dict(self._api.inspect_image(ref))
        except _sdk().errors.NotFound:
            return None

    def containers(self, filters: Filters) -> list[dict[str, Any]]:
        with query_errors("GET /containers/json"):
            return list(self._api.containers(all=True, filters=dict(filters)))

    def networks(self, filters: Filters) -> list[dict[str, Any]]:
        with query_errors("GET /networks"):
            return list(self._api.networks(filters=dict(filters)))


@contextlib.contextmanager
def query_errors(question: str) -> Iterator[None]:
    """An engine's error answer becomes ``EngineRefused`` (a missing object passes through);
    a lost connection ``EngineUnavailable``."""
    try:
        with engine_errors():
            yield
    except _sdk().errors.NotFound:
        raise
    except _sdk().errors.APIError as exc:
        raise EngineRefused(question, str(exc.explanation or _short(exc))) from None


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """A lost connection becomes ``EngineUnavailable``; the engine's own answers pass through."""
    try:
        yield
    except (_sdk().errors.APIError, _sdk().errors.NotFound):
        raise
    except _sdk_failures() as exc:
        raise EngineUnavailable(f"the Docker engine stopped answering ({_short(exc)})") from None


def gpu_driver_of(info: Mapping[str, Any]) -> GpuDriver | None:
    """From ``docker info``: the NVIDIA runtime, else CDI GPU devices, else None."""
    if "nvidia" in (info.get("Runtimes") or {}) or info.get("DefaultRuntime") == "nvidia":
        return "nvidia"
    devices = info.get("DiscoveredDevices") or []
    if any(str(d.get("ID", "")).startswith(CDI_GPU_PREFIX) for d in devices):
        return "cdi"
    return None


def gpu_requests(count: int, driver: GpuDriver | None) -> list[docker.types.DeviceRequest]:
    """The device request for ``count`` GPUs, as ``docker run --gpus N`` (or CDI) makes it."""
    if not count:
        return []
    if driver == "cdi":
        ids = [f"{CDI_GPU_PREFIX}{index}" for index in range(count)]
        return [_sdk().types.DeviceRequest(driver="cdi", device_ids=ids)]
    return [_sdk().types.DeviceRequest(count=count, capabilities=[["gpu"]])]


def network_mode(spec: ContainerSpec) -> str:
    if spec.network_name:
        return spec.network_name
    return "bridge" if spec.network else "none"


def create_arguments(
    api: Any, spec: ContainerSpec, gpu_driver: GpuDriver | None = None
) -> dict[str, Any]:
    """Keyword arguments for the low-level ``create_container`` that realise ``spec``."""
    host_config: dict[str, Any] = {
        "mounts": [
            _sdk().types.Mount(m.target, m.source, type="bind", read_only=m.read_only)
            for m in spec.mounts
        ],
        "network_mode": network_mode(spec),
        # An init as PID 1 lets a script without signal handlers end on SIGTERM, as a normal
        # process does; one with handlers still gets the grace period to checkpoint.
        "init": True,
        "cap_drop": ["ALL"],
        "cap_add": list(KEPT_CAPABILITIES),
        # setuid files in the image (sudo, su) cannot raise a process's privileges.
        "security_opt": [NO_NEW_PRIVILEGES],
    }
    if spec.loopback_ports:
        # 127.0.0.1 only: a debugger's port is never open to the host's network.
        host_config["port_bindings"] = {p: (LOOPBACK, p) for p in spec.loopback_ports}
    if spec.pids_limit:
        host_config["pids_limit"] = spec.pids_limit
    if spec.gpus:
        host_config["device_requests"] = gpu_requests(spec.gpus, gpu_driver)
    if spec.cpus:
        host_config["nano_cpus"] = int(spec.cpus * 1e9)
    if spec.memory_bytes:
        host_config["mem_limit"] = spec.memory_bytes
        host_config["memswap_limit"] = spec.memory_bytes
    args: dict[str, Any] = {
        "image": spec.image,
        "command": list(spec.command),
        "name": spec.name,
        "environment": spec.environment(),
        "labels": dict(spec.labels),
        "host_config": api.create_host_config(**host_config),
        "detach": True,
    }
    if spec.loopback_ports:
        args["ports"] = list(spec.loopback_ports)
    if spec.entrypoint is not None:
        args["entrypoint"] = list(spec.entrypoint)
    if spec.network_name:
        # Reachable from the other hosts by its host name, as algo-2 is on SageMaker.
        aliases = [spec.hostname] if spec.hostname else None
        endpoint = api.create_endpoint_config(aliases=aliases)
        args["networking_config"] = api.create_networking_config({spec.network_name: endpoint})
    for key in ("user", "working_dir", "hostname"):
        value = getattr(spec, key)
        if value:
            args[key] = value
    return args


def _wait_for_exit(
    api: Any, container_id: str, timeout: float | None, cancel: threading.Event
) -> str:
    """Block until the container stops; kill it on timeout or cancel. Says which happened."""
    done = threading.Event()
    lost: list[BaseException] = []

    def waiter() -> None:
        try:
            api.wait(container_id)
        except _sdk_failures() as exc:
            lost.append(exc)
        finally:
            done.set()

    threading.Thread(target=waiter, daemon=True).start()
    deadline = time.monotonic() + timeout if timeout else None
    ended = "exited"
    while not done.wait(POLL_SECONDS):
        if cancel.is_set():
            _signal(api, container_id, "SIGKILL")
            done.wait(KILL_GRACE_SECONDS)
            return "cancelled"
        if deadline is not None and time.monotonic() > deadline:
            if ended == "timeout":
                _signal(api, container_id, "SIGKILL")
                done.wait(KILL_GRACE_SECONDS)
                break
            _signal(api, container_id, "SIGTERM")
            ended, deadline = "timeout", time.monotonic() + STOP_GRACE_SECONDS
    return "engine-lost" if lost else ended


def _signal(api: Any, container_id: str, name: str) -> None:
    with contextlib.suppress(*_sdk_failures()):
        api.kill(container_id, signal=name)


class LogPump(threading.Thread):
    """Hands on the container's output as it comes, in whole lines, noting when it last did.

    The stream is read as fast as the container writes: what is done with each block (the
    log file, the terminal) must not hold the container up, so the console samples it."""

    def __init__(self, output: Iterator[tuple[bytes | None, bytes | None]], on_log: LogSink):
        super().__init__(name="cit-logs", daemon=True)
        self.output = output
        self.on_log = on_log
        self.streams = (LineSplitter(), LineSplitter())  # stdout, stderr
        self.last_activity = time.monotonic()

    def run(self) -> None:
        with contextlib.suppress(*_sdk_failures()):
            for chunks in self.output:
                self.last_activity = time.monotonic()
                for splitter, chunk in zip(self.streams, chunks, strict=True):
                    if chunk:
                        self._hand_on(splitter.feed(chunk))
        for splitter in self.streams:
            self._hand_on(splitter.finish())

    def _hand_on(self, text: str) -> None:
        # Whatever happens to one block, keep reading: a stalled stream stalls the step.
        if text:
            with contextlib.suppress(Exception):
                self.on_log(text)

    def drain(self, idle_seconds: float) -> None:
        """Wait for the rest of the output while it flows; give up once it stalls that long."""
        self.last_activity = time.monotonic()
        while self.is_alive() and time.monotonic() - self.last_activity < idle_seconds:
            self.join(timeout=0.5)


def _inspect(api: Any, container_id: str) -> dict[str, Any]:
    try:
        return dict(api.inspect_container(container_id))
    except _sdk_failures():
        return {}


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Images ---------------------------------------------------------------------------------

BUILD_TIMEOUT_S = 3600
_LOG_TAIL = 5
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOISE = ("--->", "Removing intermediate container", "Running in")


class DockerImageTools:
    """``ImageTools`` backed by the Docker SDK."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def image_exists(self, ref: str) -> bool:
        """Whether the engine has an image called ``ref``."""
        try:
            self._client.api.inspect_image(ref)
        except _sdk().errors.ImageNotFound:
            return False
        return True

    def try_pull(self, ref: str, timeout_s: float) -> bool:
        """Pull ``ref``; False if it fails or takes longer than ``timeout_s``."""
        outcome: list[bool] = []
        repository, tag = split_ref(ref)

        def pull() -> None:
            try:
                self._client.api.pull(repository, tag=tag)
            except _sdk_failures():
                outcome.append(False)
            else:
                outcome.append(True)

        worker = threading.Thread(target=pull, name=f"pull {ref}", daemon=True)
        worker.start()
        worker.join(timeout_s)
        return bool(outcome and outcome[0]) and self.image_exists(ref)

    def build(
        self,
        context_dir: Path,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        on_line: OnLine,
    ) -> str:
        """Build ``dockerfile`` in ``context_dir`` as ``tag``; return the image id."""
        tail: deque[str] = deque(maxlen=_LOG_TAIL)
        try:
            entries = cast(
                Iterator[dict[str, Any]],
                self._client.api.build(
                    path=str(context_dir),
                    dockerfile=dockerfile,
                    tag=tag,
                    buildargs=dict(buildargs),
                    rm=True,
                    forcerm=True,
                    pull=False,
                    decode=True,
                    timeout=BUILD_TIMEOUT_S,
                ),
            )
            for entry in entries:
                self._relay(entry, tail, on_line, tag)
            image_id = self._client.api.inspect_image(tag)["Id"]
        except _sdk_failures() as exc:
            raise ImageBuildError(f"docker build of {tag} failed: {exc}") from exc
        return str(image_id)

    @staticmethod
    def _relay(entry: Mapping[str, Any], tail: deque[str], on_line: OnLine, tag: str) -> None:
        if "error" in entry or "errorDetail" in entry:
            detail = entry.get("errorDetail") or {}
            message = str(entry.get("error") or detail.get("message") or "unknown error")
            message = _ANSI.sub("", message).strip()
            last = " | ".join(tail)
            raise ImageBuildError(
                f"docker build of {tag} failed: {message}" + (f" (after: {last})" if last else "")
            )
        text = entry.get("stream") or entry.get("status")
        if not isinstance(text, str):
            return
        for line in _ANSI.sub("", text).splitlines():
            if line.strip():
                on_line(line)
            if line.strip() and not line.lstrip().startswith(_NOISE):
                tail.append(line.strip())

    def import_rootfs(self, tar_path: Path, tag: str) -> str:
        """Import a root file system tarball as image ``tag``; return the image id."""
        repository, image_tag = split_ref(tag)
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
        ]
        try:
            self._client.api.import_image_from_file(
                str(tar_path), repository=repository, tag=image_tag, changes=changes
            )
            image_id = self._client.api.inspect_image(tag)["Id"]
        except _sdk_failures() as exc:
            raise ImageBuildError(f"docker import of {tag} from {tar_path} failed: {exc}") from exc
        return str(image_id)

    def architecture(self) -> str:
        """The engine's CPU architecture, e.g. ``x86_64`` or ``aarch64``."""
        try:
            info = self._client.info()
        except _sdk_failures() as exc:
            raise ImageBuildError(
                f"cannot ask the Docker engine for its architecture: {exc}"
            ) from exc
        return str(info.get("Architecture", ""))

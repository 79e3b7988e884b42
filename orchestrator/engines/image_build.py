"""Build the cit runner image, from a registry base image or from Debian's archive."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from .._version import __version__
from ..errors import ImageBuildError
from ..runner_packages import (
    DOCKERFILE_NAME,
    PYTHON_VERSION,
    locate_build_files,
)

RUNNER_IMAGE_VERSION = __version__
RUNNER_IMAGE_REPOSITORY = "cit-runner"
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
BOOTSTRAP_BASE_IMAGE = "cit-base:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_GLIBC_MINOR = 36
BASE_PACKAGES: tuple[str, ...] = (
    "python3",
    "python3-pip",
    "python-is-python3",
    "ca-certificates",
    "procps",
    "libgomp1",
)
PULL_TIMEOUT_S = 20.0

RequestedMode = Literal["auto", "registry", "bootstrap"]
BuildMode = Literal["registry", "bootstrap"]
OnLine = Callable[[str], None]

_ARCH_ALIASES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
}
_DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_FIRST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
_LEGACY_MANYLINUX = {
    "x86_64": ("manylinux2014", "manylinux2010", "manylinux1"),
    "aarch64": ("manylinux2014",),
}
_DONE_MARKER = ".cit-complete"
_BUILD_HINTS: dict[BuildMode, str] = {
    "registry": "registry mode needs the base image and PyPI; without them use --mode bootstrap",
    "bootstrap": "check the requirements file: every package needs a cp311 manylinux wheel",
}
_APT_CONF = """\
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
"""
_DPKG_NODOC = """\
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
"""


class ImageTools(Protocol):
    """The container engine operations an image build needs."""

    def image_exists(self, ref: str) -> bool:
        """Whether the engine has an image called ``ref``."""
        ...

    def try_pull(self, ref: str, timeout_s: float) -> bool:
        """Pull ``ref``; False if it fails or takes longer than ``timeout_s``."""
        ...

    def build(
        self,
        context_dir: Path,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        on_line: OnLine,
    ) -> str:
        """Build ``dockerfile`` in ``context_dir`` as ``tag``; return the image id."""
        ...

    def import_rootfs(self, tar_path: Path, tag: str) -> str:
        """Import a root file system tarball as image ``tag``; return the image id."""
        ...

    def architecture(self) -> str:
        """The engine's CPU architecture, e.g. ``x86_64`` or ``aarch64``."""
        ...


def runner_image_tag(version: str = RUNNER_IMAGE_VERSION) -> str:
    """The tag of the runner image for ``version``."""
    return f"{RUNNER_IMAGE_REPOSITORY}:{version}"


def image_key(requirements: Path | None = None, arch: str | None = None) -> str:
    """A key that changes whenever the runner image would: cit's version, the architecture
    (this machine's by default), the Dockerfile and the requirements (e.g. a CI cache key for
    a saved image)."""
    dockerfile, runner_dir = locate_build_files()
    digest = hashlib.sha256(RUNNER_IMAGE_VERSION.encode())
    for part in (dockerfile, requirements or runner_dir / "requirements.txt"):
        digest.update(b"\0" + part.read_bytes())
    machine = normalize_arch(arch or os.uname().machine)
    return f"{RUNNER_IMAGE_REPOSITORY}-{RUNNER_IMAGE_VERSION}-{machine}-{digest.hexdigest()[:16]}"


def split_ref(ref: str) -> tuple[str, str]:
    """An image reference as (repository, tag); the tag is ``latest`` when absent."""
    name = ref.rsplit("/", 1)[-1]
    if ":" in name and "@" not in name:
        repository, _, tag = ref.rpartition(":")
        return repository, tag
    return ref, "latest"


def tag_version(tag: str) -> str:
    """The tag part of an image reference (``latest`` when absent)."""
    return split_ref(tag)[1]


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cit``, else ``~/.cache/cit``."""
    environ = os.environ if env is None else env
    xdg = environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cit"


def normalize_arch(arch: str) -> str:
    """Map an engine architecture name to ``x86_64`` or ``aarch64``."""
    try:
        return _ARCH_ALIASES[arch.lower()]
    except KeyError:
        raise ImageBuildError(
            f"unsupported engine architecture {arch!r}; cit images support x86_64 and aarch64"
        ) from None


def debian_arch(arch: str) -> str:
    """Debian's name for ``arch`` (``amd64`` or ``arm64``)."""
    return _DEBIAN_ARCH[normalize_arch(arch)]


def platform_tags(arch: str) -> list[str]:
    """Wheel platform tags a Debian bookworm Python on ``arch`` accepts, newest first."""
    machine = normalize_arch(arch)
    first = _FIRST_GLIBC_MINOR[machine]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(DEBIAN_GLIBC_MINOR, first - 1, -1)]
    tags += [f"{legacy}_{machine}" for legacy in _LEGACY_MANYLINUX[machine]]
    return tags


def pip_download_command(
    requirements: Path, dest: Path, arch: str, constraints: Path | None = None
) -> list[str]:
    """The host ``pip download`` command that fetches the image's wheels (the versions held
    to ``constraints`` when given)."""
    command = [
        sys.executable, "-m", "pip", "download",
        "--only-binary=:all:",
        "--python-version", PYTHON_VERSION,
        "--implementation", "cp",
        "--abi", "cp" + PYTHON_VERSION.replace(".", ""),
        "--progress-bar", "off",
        "--disable-pip-version-check",
    ]  # fmt: skip
    for tag in platform_tags(arch):
        command += ["--platform", tag]
    command += ["--dest", str(dest), "-r", str(requirements)]
    if constraints is not None:
        command += ["-c", str(constraints)]
    return command


def debootstrap_command(
    target: Path, arch: str, deb_cache: Path, debootstrap: str = "debootstrap"
) -> list[str]:
    """The ``debootstrap`` command that creates the base root file system."""
    return [
        debootstrap,
        "--variant=minbase",
        f"--arch={debian_arch(arch)}",
        f"--include={','.join(BASE_PACKAGES)}",
        f"--cache-dir={deb_cache}",
        DEBIAN_SUITE,
        str(target),
        DEBIAN_MIRROR,
    ]


def run_streaming(command: Sequence[str], on_line: OnLine, what: str) -> None:
    """Run ``command``, passing each output line to ``on_line``; raise on failure."""
    tail: deque[str] = deque(maxlen=5)
    try:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ImageBuildError(
            f"{what} could not start ({exc}); check that {command[0]} is installed"
        ) from exc
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            line = raw.rstrip()
            tail.append(line)
            on_line(line)
    if process.returncode != 0:
        last = " | ".join(part for part in tail if part)
        raise ImageBuildError(f"{what} failed (exit {process.returncode}): {last}")


def requirements_digest(requirements: Path, arch: str, constraints: Path | None = None) -> str:
    """A short key for the wheel set of ``requirements`` (held to ``constraints``) on ``arch``."""
    digest = hashlib.sha256(requirements.read_bytes())
    if constraints is not None:
        digest.update(b"\0constraints\0" + constraints.read_bytes())
    digest.update(f"{normalize_arch(arch)} cp{PYTHON_VERSION}".encode())
    return digest.hexdigest()[:16]


def download_wheels(
    requirements: Path, dest: Path, arch: str, on_line: OnLine, constraints: Path | None = None
) -> None:
    """Download every wheel ``requirements`` needs for cp311 on ``arch`` into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    run_streaming(
        pip_download_command(requirements, dest, arch, constraints),
        on_line,
        f"pip download of the wheels of {requirements.name}",
    )


def cached_wheels(
    requirements: Path,
    cache_dir: Path,
    arch: str,
    on_line: OnLine,
    constraints: Path | None = None,
) -> Path:
    """Return the cached wheel folder for ``requirements``, downloading it once."""
    digest = requirements_digest(requirements, arch, constraints)
    folder = cache_dir / "wheels" / normalize_arch(arch) / digest
    if (folder / _DONE_MARKER).is_file():
        on_line(f"using cached wheels in {folder}")
        return folder
    if folder.exists():  # an interrupted download: start again
        shutil.rmtree(folder)
    if constraints is not None:
        _seed_with_pinned_wheels(folder, cache_dir, arch, constraints, on_line)
    download_wheels(requirements, folder, arch, on_line, constraints)
    (folder / _DONE_MARKER).touch()
    return folder


def _seed_with_pinned_wheels(
    folder: Path, cache_dir: Path, arch: str, pins: Path, on_line: OnLine
) -> None:
    """Link the cached wheels of ``pins`` (the runner's) into ``folder``: pip download keeps a
    file already there, so a pinned dependency is not downloaded again."""
    pinned = cache_dir / "wheels" / normalize_arch(arch) / requirements_digest(pins, arch)
    if not (pinned / _DONE_MARKER).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(pinned.glob("*.whl"))
    for wheel in wheels:
        _link_or_copy(wheel, folder / wheel.name)
    on_line(f"reusing {len(wheels)} cached wheel(s) of the runner's pins from {pinned}")


def host_arch() -> str:
    """This machine's architecture, normalized."""
    return normalize_arch(os.uname().machine)


INSTALL_TOOLS_ENV = "CIT_INSTALL_TOOLS"
DEBOOTSTRAP_PACKAGE = "debootstrap"


def which_debootstrap() -> str | None:
    """Path of ``debootstrap`` on PATH or in the sbin folders a user's PATH often lacks."""
    return shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")


def may_install_tools(env: Mapping[str, str] | None = None) -> bool:
    """Whether cit may install the build tools it lacks: as root with apt-get, unless
    ``CIT_INSTALL_TOOLS=0``; never through sudo."""
    environ = os.environ if env is None else env
    if environ.get(INSTALL_TOOLS_ENV, "").strip().lower() in ("0", "no", "false"):
        return False
    return sys.platform == "linux" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_debootstrap(on_line: OnLine) -> None:
    """``apt-get install debootstrap``, its output relayed (root with apt-get only)."""
    on_line(
        f"installing {DEBOOTSTRAP_PACKAGE} with apt-get (bootstrap mode needs it; "
        f"{INSTALL_TOOLS_ENV}=0 stops cit installing tools)"
    )
    env_prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
    run_streaming([*env_prefix, "apt-get", "update", "-q"], on_line, "apt-get update")
    run_streaming(
        [*env_prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends",
         DEBOOTSTRAP_PACKAGE],
        on_line,
        f"apt-get install {DEBOOTSTRAP_PACKAGE}",
    )  # fmt: skip


def find_debootstrap(on_line: OnLine = lambda line: None) -> str:
    """Path of the ``debootstrap`` program, checking that it can run here and installing it
    when it is missing and cit may (``may_install_tools``)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        raise ImageBuildError(
            "bootstrap mode (no registry reachable) runs debootstrap, which needs root on Linux: "
            "run 'sudo apt-get install -y debootstrap && sudo cit image build', "
            "or use --mode registry where a registry is reachable"
        )
    found = which_debootstrap()
    if found is None and may_install_tools():
        install_debootstrap(on_line)
        found = which_debootstrap()
    if found is None:
        raise ImageBuildError(
            "bootstrap mode (no registry reachable) needs debootstrap: run "
            "'apt-get install -y debootstrap' (or your distribution's package), then retry"
        )
    return found


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (left behind by an interrupted debootstrap)."""
    prefix = str(path.resolve())
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    points = [line.split()[1] for line in lines if len(line.split()) > 1]
    return [point for point in points if point == prefix or point.startswith(prefix + "/")]


def remove_partial_rootfs(rootfs: Path) -> None:
    """Delete an unfinished debootstrap directory, refusing if something is mounted in it."""
    if not rootfs.exists():
        return
    mounted = mounts_under(rootfs)
    if mounted:
        raise ImageBuildError(
            f"{mounted[0]} is still mounted inside an unfinished base image; unmount it and retry"
        )
    shutil.rmtree(rootfs)


def _clear_dir(path: Path, keep: frozenset[str] = frozenset()) -> None:
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def slim_rootfs(rootfs: Path) -> None:
    """Drop docs, caches and host files from a fresh root and configure apt like an image."""
    for relative in (
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "var/lib/apt/lists",
        "var/cache/apt",
        "var/log",
    ):
        _clear_dir(rootfs / relative)
    _clear_dir(rootfs / "usr/share/locale", keep=frozenset({"locale.alias"}))
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/hostname").unlink(missing_ok=True)
    (rootfs / "etc/resolv.conf").write_text("")
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {DEBIAN_MIRROR} {DEBIAN_SUITE} main\n"
        f"deb {DEBIAN_MIRROR} {DEBIAN_SUITE}-updates main\n"
        f"deb http://deb.debian.org/debian-security {DEBIAN_SUITE}-security main\n"
    )
    (rootfs / "etc/apt/apt.conf.d/90cit").write_text(_APT_CONF)
    (rootfs / "etc/dpkg/dpkg.cfg.d/90cit-nodoc").write_text(_DPKG_NODOC)


def base_packages_digest() -> str:
    """A short key for the base root's package list."""
    spec = f"{DEBIAN_SUITE} {DEBIAN_MIRROR} {' '.join(BASE_PACKAGES)}"
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def debootstrap_rootfs(cache_dir: Path, arch: str, on_line: OnLine) -> Path:
    """Create (once) a slim Debian root for ``arch`` under ``cache_dir``; return its path."""
    work = cache_dir / "debootstrap"
    rootfs = work / f"{DEBIAN_SUITE}-{debian_arch(arch)}-{base_packages_digest()}"
    done = rootfs.with_name(rootfs.name + _DONE_MARKER)
    if done.is_file() and rootfs.is_dir():
        on_line(f"using cached Debian root {rootfs}")
        return rootfs
    debootstrap = find_debootstrap(on_line)
    if normalize_arch(arch) != host_arch():
        raise ImageBuildError(
            f"bootstrap mode needs the engine architecture ({normalize_arch(arch)}) to match "
            f"this machine ({host_arch()}); use --mode registry"
        )
    remove_partial_rootfs(rootfs)
    deb_cache = work / "debs"
    deb_cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run_streaming(
        debootstrap_command(rootfs, arch, deb_cache, debootstrap),
        on_line,
        "debootstrap of the base image",
    )
    slim_rootfs(rootfs)
    done.touch()
    on_line(f"debootstrap finished in {time.monotonic() - started:.0f}s")
    return rootfs


def tar_rootfs(rootfs: Path, tar_path: Path, on_line: OnLine) -> None:
    """Pack ``rootfs`` into ``tar_path`` keeping owners, modes and xattrs."""
    command = [
        "tar",
        "--numeric-owner",
        "--xattrs",
        "--xattrs-include=*",
        "-C",
        str(rootfs),
        "-cf",
        str(tar_path),
        ".",
    ]
    run_streaming(command, on_line, "packing the base image")


def bootstrap_base_image(tools: ImageTools, cache_dir: Path, arch: str, on_line: OnLine) -> str:
    """Make sure ``cit-base:bookworm`` exists, building it from Debian's archive; return its tag."""
    if tools.image_exists(BOOTSTRAP_BASE_IMAGE):
        on_line(f"using existing base image {BOOTSTRAP_BASE_IMAGE}")
        return BOOTSTRAP_BASE_IMAGE
    rootfs = debootstrap_rootfs(cache_dir, arch, on_line)
    with tempfile.TemporaryDirectory(dir=rootfs.parent) as scratch:
        tar_path = Path(scratch) / "rootfs.tar"
        tar_rootfs(rootfs, tar_path, on_line)
        on_line(f"importing {BOOTSTRAP_BASE_IMAGE}")
        tools.import_rootfs(tar_path, BOOTSTRAP_BASE_IMAGE)
    return BOOTSTRAP_BASE_IMAGE


def choose_mode(tools: ImageTools, base_image: str, requested: RequestedMode) -> BuildMode:
    """Resolve ``auto``: registry if ``base_image`` is local or pulls quickly, else bootstrap."""
    if requested != "auto":
        return requested
    if tools.image_exists(base_image) or tools.try_pull(base_image, PULL_TIMEOUT_S):
        return "registry"
    return "bootstrap"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def prepare_context(
    context_dir: Path, dockerfile: Path, requirements: Path, wheels: Path | None
) -> Path:
    """Fill ``context_dir`` with the Dockerfile, requirements and (maybe) wheels only."""
    if context_dir.exists():
        shutil.rmtree(context_dir)
    wheel_dir = context_dir / "wheels"
    wheel_dir.mkdir(parents=True)
    shutil.copy2(dockerfile, context_dir / DOCKERFILE_NAME)
    shutil.copy2(requirements, context_dir / "requirements.txt")
    (wheel_dir / ".keep").touch()
    if wheels is not None:
        for wheel in sorted(wheels.glob("*.whl")):
            _link_or_copy(wheel, wheel_dir / wheel.name)
    return context_dir


def build_runner_image(
    tools: ImageTools,
    *,
    tag: str,
    mode: RequestedMode = "auto",
    requirements: Path | None = None,
    base_image: str = DEFAULT_BASE_IMAGE,
    cache_dir: Path | None = None,
    on_line: OnLine,
) -> str:
    """Build the runner image ``tag`` in the chosen mode; return its image id."""
    dockerfile, runner_dir = locate_build_files()
    requirements = requirements or runner_dir / "requirements.txt"
    if not requirements.is_file():
        raise ImageBuildError(
            f"requirements file {requirements} does not exist; pass an existing file"
        )
    cache = cache_dir or default_cache_dir()
    chosen = choose_mode(tools, base_image, mode)
    on_line(f"building {tag} in {chosen} mode")
    wheels: Path | None = None
    if chosen == "bootstrap":
        arch = tools.architecture()
        base_image = bootstrap_base_image(tools, cache, arch, on_line)
        wheels = cached_wheels(requirements, cache, arch, on_line)
    buildargs = {"BASE_IMAGE": base_image, "RUNNER_VERSION": tag_version(tag)}
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="context-") as scratch:
        context = prepare_context(Path(scratch) / "context", dockerfile, requirements, wheels)
        try:
            return tools.build(context, DOCKERFILE_NAME, tag, buildargs, on_line)
        except ImageBuildError as exc:
            raise ImageBuildError(f"{exc}; {_BUILD_HINTS[chosen]}") from exc

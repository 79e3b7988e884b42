"""Unit tests of the runner image build logic, with a fake engine (no Docker)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator import __version__
from orchestrator.engines import image_build as ib
from orchestrator.engines.image_build import ImageBuildError


@dataclass(frozen=True)
class BuildCall:
    dockerfile: str
    tag: str
    buildargs: dict[str, str]
    files: list[str]


class FakeTools:
    """An in-memory ``ImageTools`` that records what the build asked for."""

    def __init__(self, local: set[str] | None = None, pull_ok: bool = False) -> None:
        self.local = set(local or ())
        self.pull_ok = pull_ok
        self.arch = "x86_64"
        self.pulls: list[tuple[str, float]] = []
        self.imports: list[tuple[Path, str]] = []
        self.builds: list[BuildCall] = []

    def image_exists(self, ref: str) -> bool:
        return ref in self.local

    def try_pull(self, ref: str, timeout_s: float) -> bool:
        self.pulls.append((ref, timeout_s))
        if self.pull_ok:
            self.local.add(ref)
        return self.pull_ok

    def build(
        self,
        context_dir: Path,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        on_line: ib.OnLine,
    ) -> str:
        files = sorted(str(p.relative_to(context_dir)) for p in context_dir.rglob("*"))
        self.builds.append(BuildCall(dockerfile, tag, dict(buildargs), files))
        on_line("Successfully built fake")
        self.local.add(tag)
        return "sha256:fake"

    def import_rootfs(self, tar_path: Path, tag: str) -> str:
        self.imports.append((tar_path, tag))
        self.local.add(tag)
        return "sha256:base"

    def architecture(self) -> str:
        return self.arch


def test_explicit_mode_is_kept_without_asking_the_engine() -> None:
    tools = FakeTools()
    assert ib.choose_mode(tools, ib.DEFAULT_BASE_IMAGE, "registry") == "registry"
    assert ib.choose_mode(tools, ib.DEFAULT_BASE_IMAGE, "bootstrap") == "bootstrap"
    assert tools.pulls == []


def test_auto_uses_registry_when_base_image_is_local() -> None:
    tools = FakeTools(local={ib.DEFAULT_BASE_IMAGE})
    assert ib.choose_mode(tools, ib.DEFAULT_BASE_IMAGE, "auto") == "registry"
    assert tools.pulls == []


def test_auto_uses_registry_when_pull_succeeds() -> None:
    tools = FakeTools(pull_ok=True)
    assert ib.choose_mode(tools, ib.DEFAULT_BASE_IMAGE, "auto") == "registry"
    assert tools.pulls == [(ib.DEFAULT_BASE_IMAGE, ib.PULL_TIMEOUT_S)]


def test_auto_falls_back_to_bootstrap_without_registry() -> None:
    tools = FakeTools(pull_ok=False)
    assert ib.choose_mode(tools, ib.DEFAULT_BASE_IMAGE, "auto") == "bootstrap"


def _platforms(command: list[str]) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]


def test_pip_download_command_targets_cp311_manylinux_x86_64(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    command = ib.pip_download_command(requirements, tmp_path / "wheels", "x86_64")
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.11"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--abi") + 1] == "cp311"
    assert command[command.index("--dest") + 1] == str(tmp_path / "wheels")
    assert command[-2:] == ["-r", str(requirements)]
    platforms = _platforms(command)
    for tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"):
        assert tag in platforms
    assert all(tag.endswith("_x86_64") for tag in platforms)


def test_pip_download_command_follows_engine_architecture(tmp_path: Path) -> None:
    platforms = _platforms(ib.pip_download_command(tmp_path / "r.txt", tmp_path, "arm64"))
    assert "manylinux_2_28_aarch64" in platforms
    assert "manylinux2014_aarch64" in platforms
    assert "manylinux1_aarch64" not in platforms
    assert all(tag.endswith("_aarch64") for tag in platforms)


def test_platform_tags_stop_at_bookworm_glibc_newest_first() -> None:
    tags = ib.platform_tags("amd64")
    assert tags[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_37_x86_64" not in tags
    minors = [int(m.group(1)) for t in tags if (m := re.match(r"manylinux_2_(\d+)_", t))]
    assert minors == sorted(minors, reverse=True)


def test_unknown_architecture_is_one_clear_error() -> None:
    with pytest.raises(ImageBuildError, match="unsupported engine architecture 's390x'"):
        ib.pip_download_command(Path("r.txt"), Path("w"), "s390x")


def test_debootstrap_command_builds_a_small_bookworm_root(tmp_path: Path) -> None:
    command = ib.debootstrap_command(tmp_path / "root", "x86_64", tmp_path / "debs")
    assert "--variant=minbase" in command
    assert "--arch=amd64" in command
    included = next(a for a in command if a.startswith("--include=")).split("=", 1)[1]
    assert {"python3", "python3-pip", "ca-certificates", "libgomp1"} <= set(included.split(","))
    assert command[-3:] == ["bookworm", str(tmp_path / "root"), "http://deb.debian.org/debian"]


def test_locate_build_files_finds_dockerfile_and_requirements() -> None:
    dockerfile, runner_dir = ib.locate_build_files()
    assert dockerfile.name == "Dockerfile.runner" and dockerfile.is_file()
    requirements = (runner_dir / "requirements.txt").read_text()
    assert re.search(r"^pandas==2\.", requirements, re.MULTILINE)
    assert re.search(r"^numpy==1\.26\.", requirements, re.MULTILINE)


def test_dockerfile_serves_both_modes() -> None:
    text = ib.locate_build_files()[0].read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in text
    assert "--break-system-packages" in text
    assert "--no-index --find-links=/tmp/cit/wheels" in text


def test_runner_tag_follows_package_version() -> None:
    assert ib.runner_image_tag() == f"cit-runner:{__version__}"
    assert ib.tag_version("registry:5000/team/cit-runner:1.2.3") == "1.2.3"
    assert ib.tag_version("registry:5000/cit-runner") == "latest"


def test_cache_dir_honours_xdg(tmp_path: Path) -> None:
    assert ib.default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "cit"
    assert ib.default_cache_dir({}) == Path.home() / ".cache" / "cit"


def test_prepare_context_holds_only_build_inputs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-1.26.4-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"wheel")
    requirements = tmp_path / "req.txt"
    requirements.write_text("numpy==1.26.4\n")
    dockerfile = ib.locate_build_files()[0]
    context = ib.prepare_context(tmp_path / "ctx", dockerfile, requirements, wheels)
    names = sorted(str(p.relative_to(context)) for p in context.rglob("*"))
    assert names == [
        "Dockerfile.runner",
        "requirements.txt",
        "wheels",
        "wheels/.keep",
        "wheels/numpy-1.26.4-cp311-cp311-manylinux2014_x86_64.whl",
    ]


def test_registry_build_sends_no_wheels(tmp_path: Path) -> None:
    tools = FakeTools(local={ib.DEFAULT_BASE_IMAGE})
    image_id = ib.build_runner_image(
        tools, tag="cit-runner:9.9.9", mode="auto", cache_dir=tmp_path, on_line=lambda _: None
    )
    assert image_id == "sha256:fake"
    (build,) = tools.builds
    assert build.dockerfile == "Dockerfile.runner"
    assert build.buildargs == {"BASE_IMAGE": ib.DEFAULT_BASE_IMAGE, "RUNNER_VERSION": "9.9.9"}
    assert build.files == ["Dockerfile.runner", "requirements.txt", "wheels", "wheels/.keep"]
    assert list(tmp_path.glob("context-*")) == []


def test_bootstrap_build_reuses_base_and_downloads_wheels_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads: list[Path] = []

    def fake_download(
        requirements: Path, dest: Path, arch: str, on_line: ib.OnLine, constraints: object = None
    ) -> None:
        downloads.append(dest)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "pandas-2.2.3-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"w")

    monkeypatch.setattr(ib, "download_wheels", fake_download)
    tools = FakeTools(local={ib.BOOTSTRAP_BASE_IMAGE})
    for _ in range(2):
        ib.build_runner_image(
            tools, tag="cit-runner:1", mode="bootstrap", cache_dir=tmp_path, on_line=lambda _: None
        )
    assert len(downloads) == 1
    assert tools.imports == []
    for build in tools.builds:
        assert build.buildargs == {"BASE_IMAGE": ib.BOOTSTRAP_BASE_IMAGE, "RUNNER_VERSION": "1"}
        assert "wheels/pandas-2.2.3-cp311-cp311-manylinux2014_x86_64.whl" in build.files


def test_bootstrap_base_uses_cached_root_without_debootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rootfs = tmp_path / "debootstrap" / f"bookworm-amd64-{ib.base_packages_digest()}"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text("ID=debian\n")
    rootfs.with_name(rootfs.name + ".cit-complete").touch()
    monkeypatch.setattr(ib, "find_debootstrap", lambda *_: pytest.fail("debootstrap must not run"))
    tools = FakeTools()
    assert ib.bootstrap_base_image(tools, tmp_path, "x86_64", lambda _: None) == "cit-base:bookworm"
    ((tar_path, tag),) = tools.imports
    assert tag == "cit-base:bookworm"
    assert not tar_path.exists()


def test_missing_requirements_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ImageBuildError, match="does not exist"):
        ib.build_runner_image(
            FakeTools(local={ib.DEFAULT_BASE_IMAGE}),
            tag="cit-runner:1",
            requirements=tmp_path / "nope.txt",
            cache_dir=tmp_path,
            on_line=lambda _: None,
        )


def test_run_streaming_relays_lines_and_reports_failure() -> None:
    lines: list[str] = []
    ib.run_streaming([sys.executable, "-c", "print('a'); print('b')"], lines.append, "demo")
    assert lines == ["a", "b"]
    failing = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    with pytest.raises(ImageBuildError, match=r"demo failed \(exit 3\): boom"):
        ib.run_streaming(failing, lines.append, "demo")
    with pytest.raises(ImageBuildError, match="could not start"):
        ib.run_streaming([os.fspath(Path("/nonexistent/tool"))], lines.append, "demo")


def test_slim_rootfs_drops_docs_and_host_files(tmp_path: Path) -> None:
    for relative in ("usr/share/doc/x/copyright", "var/lib/apt/lists/l", "etc/hostname"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    (tmp_path / "usr/share/locale").mkdir(parents=True)
    (tmp_path / "usr/share/locale/locale.alias").write_text("x")
    for folder in ("etc/apt/apt.conf.d", "etc/dpkg/dpkg.cfg.d"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    ib.slim_rootfs(tmp_path)
    assert not any((tmp_path / "usr/share/doc").iterdir())
    assert list((tmp_path / "var/lib/apt/lists").iterdir()) == [
        tmp_path / "var/lib/apt/lists/partial"
    ]
    assert not (tmp_path / "etc/hostname").exists()
    assert (tmp_path / "usr/share/locale/locale.alias").exists()
    assert "bookworm-security" in (tmp_path / "etc/apt/sources.list").read_text()


def test_build_failure_says_what_to_do_in_each_mode(tmp_path: Path) -> None:
    class FailingTools(FakeTools):
        def build(
            self,
            context_dir: Path,
            dockerfile: str,
            tag: str,
            buildargs: Mapping[str, str],
            on_line: ib.OnLine,
        ) -> str:
            raise ImageBuildError("docker build of cit-runner:1 failed: no such host")

    with pytest.raises(ImageBuildError, match=r"no such host; .*use --mode bootstrap"):
        ib.build_runner_image(
            FailingTools(),
            tag="cit-runner:1",
            mode="registry",
            cache_dir=tmp_path,
            on_line=lambda _: None,
        )


def test_missing_debootstrap_is_installed_by_root_with_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[str] = []
    monkeypatch.setattr(ib.os, "geteuid", lambda: 0)
    found = "/usr/sbin/debootstrap"
    monkeypatch.setattr(ib, "which_debootstrap", lambda: found if installed else None)
    monkeypatch.setattr(ib, "may_install_tools", lambda: True)
    monkeypatch.setattr(ib, "install_debootstrap", lambda on_line: installed.append("yes"))
    assert ib.find_debootstrap() == "/usr/sbin/debootstrap"
    assert installed == ["yes"]


def test_missing_debootstrap_without_leave_to_install_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ib.os, "geteuid", lambda: 0)
    monkeypatch.setattr(ib, "which_debootstrap", lambda: None)
    monkeypatch.setattr(ib, "may_install_tools", lambda: False)
    with pytest.raises(ImageBuildError, match="run 'apt-get install -y debootstrap'"):
        ib.find_debootstrap()


def test_tools_are_installed_only_as_root_with_apt_and_not_when_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ib.shutil, "which", lambda name, path=None: f"/usr/bin/{name}")
    monkeypatch.setattr(ib.os, "geteuid", lambda: 0)
    assert ib.may_install_tools({}) is (sys.platform == "linux")
    assert ib.may_install_tools({"CIT_INSTALL_TOOLS": "0"}) is False
    monkeypatch.setattr(ib.os, "geteuid", lambda: 1000)
    assert ib.may_install_tools({}) is False

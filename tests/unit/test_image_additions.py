"""Packages added on top of the runner image: read, tagged, downloaded once, layered thinly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.engines import image_additions as ia
from orchestrator.engines import image_build as ib
from orchestrator.errors import InputError
from orchestrator.runner_packages import locate_build_files, shipped_pins
from tests.unit.test_image_build import FakeTools

RUNNER = "cit-runner:9.9.9"


def test_additions_from_options_and_files_are_sorted_and_deduplicated(tmp_path: Path) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("# mine\ntabulate==0.9.0\n\nLightGBM==4.3.0  # trees\n")
    additions = ia.read_additions(["tabulate==0.9.0", "attrs>=23"], [extra])
    assert additions.lines == ("attrs>=23", "LightGBM==4.3.0", "tabulate==0.9.0")
    assert additions.digest == ia.read_additions(["attrs>=23", "LightGBM==4.3.0"], [extra]).digest


def test_a_line_that_is_no_requirement_names_its_file_and_line(tmp_path: Path) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("tabulate==0.9.0\n-e git+https://x/y.git\n")
    with pytest.raises(InputError, match=r"extra.txt:2: '-e git\+https://x/y.git' is not a"):
        ia.read_additions([], [extra])
    with pytest.raises(InputError, match="no package named"):
        ia.read_additions([], [])


@pytest.mark.parametrize("line", ["numpy~=2", "numpy=1", "numpy>=abc", "numpy>=1;"])
def test_a_specifier_pip_cannot_read_is_refused_before_any_build(line: str) -> None:
    with pytest.raises(InputError, match=rf"--add: '{re.escape(line)}' is not a requirement \("):
        ia.read_additions([line], [])


def test_the_derived_tag_changes_with_the_additions() -> None:
    one = ia.derived_tag(RUNNER, ia.read_additions(["tabulate==0.9.0"], []))
    two = ia.derived_tag(RUNNER, ia.read_additions(["tabulate==0.8.10"], []))
    assert one.startswith("cit-runner:9.9.9-add-") and two.startswith("cit-runner:9.9.9-add-")
    assert one != two


def fake_downloads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace pip download: record each call, write the wheels it would."""
    calls: list[list[str]] = []

    def download(
        requirements: Path, dest: Path, arch: str, on_line: ib.OnLine, constraints: object = None
    ) -> None:
        calls.append(ib.pip_download_command(requirements, dest, arch, constraints))  # type: ignore[arg-type]
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "tabulate-0.9.0-py3-none-any.whl").write_bytes(b"w")
        (dest / "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"w")

    monkeypatch.setattr(ib, "download_wheels", download)
    return calls


def test_a_second_build_reuses_the_cached_wheels_and_the_layer_is_thin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_downloads(monkeypatch)
    tools = FakeTools(local={RUNNER})
    additions = ia.read_additions(["tabulate==0.9.0"], [])
    lines: list[str] = []
    for _ in range(2):
        tag = ia.build_with_additions(
            tools, base_tag=RUNNER, additions=additions, cache_dir=tmp_path, on_line=lines.append
        )
    assert tag == ia.derived_tag(RUNNER, additions)
    assert len(calls) == 1, "the second build downloads nothing"
    assert calls[0][-2] == "-c" and calls[0][-1].endswith("requirements.txt")
    assert any(line.startswith("using cached wheels") for line in lines)
    for build in tools.builds:
        assert build.dockerfile == ia.ADDITIONS_DOCKERFILE
        assert build.tag == tag
        assert build.buildargs["BASE_IMAGE"] == RUNNER
        # numpy 1.26.4 is one of the runner's pins: it is in the image already
        assert "wheels/tabulate-0.9.0-py3-none-any.whl" in build.files
        assert not any("numpy" in name for name in build.files)
    assert tools.imports == [] and tools.pulls == []


def test_the_runner_is_built_first_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_downloads(monkeypatch)
    tools = FakeTools(local={ib.DEFAULT_BASE_IMAGE})
    additions = ia.read_additions(["tabulate==0.9.0"], [])
    ia.build_with_additions(
        tools, base_tag=RUNNER, additions=additions, tag="mine:1", cache_dir=tmp_path,
        on_line=lambda _: None,
    )  # fmt: skip
    assert [(b.dockerfile, b.tag) for b in tools.builds] == [
        ("Dockerfile.runner", RUNNER),
        (ia.ADDITIONS_DOCKERFILE, "mine:1"),
    ]


def test_the_image_key_follows_the_requirements(tmp_path: Path) -> None:
    other = tmp_path / "requirements.txt"
    other.write_text("tabulate==0.9.0\n")
    assert ib.image_key() == ib.image_key()
    assert ib.image_key(arch="amd64").startswith(f"cit-runner-{ib.RUNNER_IMAGE_VERSION}-x86_64-")
    assert ib.image_key(other) != ib.image_key()
    assert ib.image_key(arch="x86_64") != ib.image_key(arch="aarch64")


def test_the_runners_cached_wheels_seed_the_additions_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip download keeps a file already in --dest: a pinned dependency (numpy) that the
    runner's own wheel download cached is not fetched again."""
    _, runner_dir = locate_build_files()
    pins = runner_dir / "requirements.txt"
    shipped = tmp_path / "wheels" / "x86_64" / ib.requirements_digest(pins, "x86_64")
    shipped.mkdir(parents=True)
    (shipped / "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"n")
    (shipped / ".cit-complete").touch()
    present: list[list[str]] = []

    def download(
        requirements: Path, dest: Path, arch: str, on_line: ib.OnLine, constraints: object = None
    ) -> None:
        present.append(sorted(p.name for p in dest.glob("*.whl")))

    monkeypatch.setattr(ib, "download_wheels", download)
    additions = tmp_path / "additions.txt"
    additions.write_text("opt-einsum==3.3.0\n")
    ib.cached_wheels(additions, tmp_path, "x86_64", lambda _: None, pins)
    assert present == [["numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"]]


def test_an_addition_against_a_shipped_pin_is_one_line_naming_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_downloads(monkeypatch)
    tools = FakeTools(local={RUNNER})
    pinned = shipped_pins(locate_build_files()[1] / "requirements.txt")["numpy"]
    additions = ia.read_additions(["numpy==1.0.0", "tabulate==0.9.0"], [])
    with pytest.raises(InputError) as raised:
        ia.build_with_additions(
            tools, base_tag=RUNNER, additions=additions, cache_dir=tmp_path, on_line=print
        )
    message = str(raised.value)
    assert "\n" not in message and f"ships numpy=={pinned}" in message
    assert message.startswith("--add numpy==1.0.0:")
    assert calls == [] and tools.builds == []


@pytest.mark.parametrize(
    ("specifier", "allowed"),
    [
        ("==1.26.4", True),
        ("==1.26", False),
        ("==1.26.*", True),
        ("!=1.26.4", False),
        ("!=1.26.*", False),
        (">=1.20,<2", True),
        (">=2", False),
        ("~=1.25", True),
        ("~=1.25.0", False),
        ("<1.26.4", False),
        ("==2.0rc1", False),  # a pre-release is a version like any other
        ("===1.26.4.0", False),  # arbitrary equality compares the text
        ("==latest", True),  # not a specifier: left to pip
        ("", True),
    ],
)
def test_which_specifiers_a_pinned_version_meets(specifier: str, allowed: bool) -> None:
    additions = ia.Additions((f"numpy{specifier}",))
    if allowed:
        ia.check_against_pins(additions, {"numpy": "1.26.4"})
    else:
        with pytest.raises(InputError, match=r"ships numpy==1\.26\.4"):
            ia.check_against_pins(additions, {"numpy": "1.26.4"})


@pytest.mark.parametrize(
    ("specifier", "allowed"),
    [(">=2.9", True), ("==2.9.0", False), ("==2.9.0.post0", True), ("~=2.8", True)],
)
def test_a_pin_that_is_a_post_release_is_compared_too(specifier: str, allowed: bool) -> None:
    additions = ia.Additions((f"python-dateutil{specifier}",))
    pins = {"python-dateutil": "2.9.0.post0"}
    if allowed:
        ia.check_against_pins(additions, pins)
    else:
        with pytest.raises(InputError, match=r"ships python-dateutil==2\.9\.0\.post0"):
            ia.check_against_pins(additions, pins)

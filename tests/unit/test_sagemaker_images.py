"""The images, skipped steps and FrameworkProcessor code of a SageMaker pipeline definition:
framework image URIs read and matched against the runner's pins, ``--image-map``, pulls that
fail, ``--skip-step``/``--skip-unsupported`` and runproc.sh mapped to a local source dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.errors import ImageError, InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.sagemaker_definition import (
    definition_options,
    find_entry_point,
    runproc_text,
)
from orchestrator.pipeline.sagemaker_images import (
    framework_image,
    image_map_of,
    mapped_image,
    runner_holds,
    step_image,
)
from orchestrator.report.formats import ReportFormat
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.runner_packages import runner_image_packages
from orchestrator.suite.pipeline import run_pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"
ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
SKLEARN = f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST = f"{ECR}/sagemaker-xgboost:1.7-1"
TORCH = f"{DLC}/pytorch-training:2.0.0-cpu-py310"
CUSTOM = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-image:tag"
RUNNER = {"scikit-learn": "1.4.2", "xgboost": "1.7.4", "python": "3.11"}
UNSUPPORTED = ("model-CreateModel", "register-RegisterModel", "transform")
runner = CliRunner()


@pytest.fixture
def frameworks(tmp_path: Path) -> Path:
    """The frameworks definition with its code in ``code/`` beside it."""
    shutil.copy(FIXTURES / "frameworks.definition.json", tmp_path / "p.definition.json")
    shutil.copytree(FIXTURES / "frameworks" / "src", tmp_path / "code")
    return tmp_path / "p.definition.json"


# --- framework image URIs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "framework", "version", "packages"),
    [
        (SKLEARN, "scikit-learn", "1.2-1", {"scikit-learn": "1.2"}),
        (f"{ECR}/sagemaker-scikit-learn:1.4-2", "scikit-learn", "1.4-2", {"scikit-learn": "1.4"}),
        (XGBOOST, "xgboost", "1.7-1", {"xgboost": "1.7"}),
        (f"{ECR}/sagemaker-xgboost:1.7-1-cpu-py3", "xgboost", "1.7-1", {"xgboost": "1.7"}),
        (TORCH, "pytorch", "2.0.0", {"torch": "2.0"}),
        (
            f"{DLC}/tensorflow-training:2.13.0-cpu-py310",
            "tensorflow", "2.13.0", {"tensorflow": "2.13"},
        ),
        (
            f"{DLC}/huggingface-pytorch-training:1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
            "huggingface",
            "1.13.1",
            {"torch": "1.13", "transformers": "4.26"},
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-spark-processing:3.3-cpu-py39-v1.0",
            "spark",
            "3.3",
            {"pyspark": "3.3"},
        ),
    ],
)  # fmt: skip
def test_a_framework_image_is_read(
    uri: str, framework: str, version: str, packages: dict[str, str]
) -> None:
    image = framework_image(uri)
    assert image is not None
    assert (image.framework, image.version, dict(image.packages)) == (framework, version, packages)


@pytest.mark.parametrize(
    "uri",
    [
        CUSTOM,
        "python:3.11-slim",
        "sagemaker-scikit-learn:1.2-1",  # no registry
        "example.com/sagemaker-scikit-learn:1.2-1",  # not ECR
        f"{ECR}/sagemaker-scikit-learn",  # no tag
        f"{ECR}/sagemaker-scikit-learn:latest",
        f"{ECR}/sagemaker-scikit-learn@sha256:{'0' * 64}",
    ],
)
def test_other_images_are_no_framework_image(uri: str) -> None:
    assert framework_image(uri) is None


def test_the_runner_holds_a_framework_at_its_release() -> None:
    assert runner_holds(_framework(XGBOOST), RUNNER)
    assert runner_holds(_framework(f"{ECR}/sagemaker-scikit-learn:1.4-2-cpu-py3"), RUNNER)
    assert not runner_holds(_framework(SKLEARN), RUNNER)  # 1.2 is not 1.4
    assert not runner_holds(_framework(TORCH), RUNNER)  # no torch at all


def test_the_runner_pins_are_read_from_its_requirements() -> None:
    pins = runner_image_packages()
    assert pins["xgboost"].startswith("1.7.")
    assert runner_holds(_framework(XGBOOST), pins)
    assert step_image(XGBOOST, {}) is None  # cit's own pins, read by default


def test_the_image_map_wins_then_the_runner_then_the_uri() -> None:
    image_map = {
        f"{ECR}/sagemaker-scikit-learn": "sk:any",
        f"{ECR}/sagemaker-scikit-learn:1.2": "sk:1.2",
        SKLEARN: "sk:exact",
        f"{ECR}/sagemaker-xgboost:1.7-1": "xgb:mine",
    }
    assert mapped_image(SKLEARN, image_map) == "sk:exact"
    assert mapped_image(f"{ECR}/sagemaker-scikit-learn:1.2-1", image_map) == "sk:1.2"
    assert mapped_image(f"{ECR}/sagemaker-scikit-learn:0.23-1", image_map) == "sk:any"
    assert step_image(XGBOOST, image_map, RUNNER) == "xgb:mine"  # a mapping beats the runner
    assert step_image(XGBOOST, {}, RUNNER) is None  # the runner's xgboost 1.7
    assert step_image(SKLEARN, {}, RUNNER) == SKLEARN  # as the definition names it
    assert step_image(CUSTOM, {}, RUNNER) == CUSTOM


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["no-equals"], "'no-equals' is not URI_OR_PREFIX=LOCAL_IMAGE"),
        (["=image:1"], "'=image:1' is not URI_OR_PREFIX=LOCAL_IMAGE"),
        ([f"{SKLEARN}="], "is not URI_OR_PREFIX=LOCAL_IMAGE"),
        ([f"{SKLEARN}=a", f"{SKLEARN}=b"], f"{SKLEARN} is mapped twice"),
    ],
)
def test_a_malformed_image_map_is_an_input_error(given: list[str], message: str) -> None:
    with pytest.raises(InputError, match="--image-map") as caught:
        image_map_of(given)
    assert message in str(caught.value)


# --- the definition's images -------------------------------------------------------------------


def test_each_step_records_its_image_and_runs_on_the_one_chosen(frameworks: Path) -> None:
    options = definition_options(
        skip_unsupported=True, image_map=[f"{DLC}/pytorch-training=torch:local"]
    )
    steps = load_pipeline(frameworks, definition=options).steps
    assert {name: (s.sagemaker_image, s.image) for name, s in steps.items()} == {
        "prep": (SKLEARN, SKLEARN),
        "train": (TORCH, "torch:local"),
        "xgb": (XGBOOST, None),  # the runner image
    }


def test_cli_shows_the_image_mapping_before_the_steps_start(
    frameworks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake({SKLEARN: "sha256:sk", "torch:local": "sha256:torch"})
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    cit_dir = frameworks.parent / ".cit"
    result = runner.invoke(
        app,
        [
            "run", "--dag", str(frameworks), "--cit-dir", str(cit_dir), "--skip-unsupported",
            "--image-map", f"{DLC}/pytorch-training=torch:local",
            "--param", f"InputData={frameworks.parent / 'code'}",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"image of train: {TORCH} → torch:local" in text
    assert f"image of xgb: {XGBOOST} → {RUNNER_IMAGE}" in text
    assert f"image of prep: {SKLEARN} → {SKLEARN}" in text
    assert "skipped register-RegisterModel: RegisterModel steps are not run by cit" in text
    assert text.index("image of train") < text.index("┏")  # before the run's table
    by_image = {spec.labels["cit.step"]: spec.image for spec in fake.specs}
    assert by_image == {"prep": SKLEARN, "train": "torch:local", "xgb": RUNNER_IMAGE}


def test_an_image_that_cannot_be_pulled_names_the_step_uri_and_image_map(
    frameworks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake({SKLEARN: "sha256:sk"})
    monkeypatch.setattr(cli, "connect", lambda: fake)
    result = runner.invoke(
        app,
        [
            "run", "--dag", str(frameworks), "--cit-dir", str(frameworks.parent / ".cit"),
            "--skip-unsupported", "--param", f"InputData={frameworks.parent / 'code'}",
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"step 'train' runs on {TORCH}" in text
    assert "cannot be pulled (no registry reachable (fake engine))" in text
    assert f"--image-map {TORCH}=IMAGE" in text
    assert "Traceback" not in result.output
    assert fake.pulled == [TORCH]
    assert not fake.specs


def test_an_image_the_registry_has_is_pulled(frameworks: Path) -> None:
    fake = _fake({SKLEARN: "sha256:sk"}, registry={TORCH: "sha256:torch"})
    result = run_pipeline(
        frameworks,
        fake,
        params={"InputData": str(frameworks.parent / "code")},
        skip_unsupported=True,
        formats=[],
    )
    assert result.exit_code == 0
    assert fake.pulled == [TORCH]
    assert result.run.step("train").image == TORCH
    assert result.run.step("train").sagemaker_image == TORCH


def test_a_mapped_image_that_is_missing_says_which_mapping(frameworks: Path) -> None:
    fake = _fake({SKLEARN: "sha256:sk"})
    with pytest.raises(ImageError, match=r"image 'torch:gone', which --image-map gives for"):
        run_pipeline(
            frameworks,
            fake,
            params={"InputData": str(frameworks.parent / "code")},
            image_map={TORCH: "torch:gone"},
            skip_unsupported=True,
            formats=[],
        )
    assert fake.pulled == []


# --- steps cit does not run --------------------------------------------------------------------


def test_a_definition_with_unsupported_steps_is_refused_naming_them_all(frameworks: Path) -> None:
    result = runner.invoke(app, ["validate-contracts", "--dag", str(frameworks)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Steps: 3 steps are of a type cit does not run: model-CreateModel (Model), " in text
    assert "register-RegisterModel (RegisterModel), transform (Transform)" in text
    assert "--skip-unsupported" in text
    assert len(result.output.strip().splitlines()) <= 3  # one message, wrapped
    assert "Traceback" not in result.output


def test_skip_unsupported_leaves_them_out_with_the_reason(frameworks: Path) -> None:
    pipeline = load_pipeline(frameworks, definition=definition_options(skip_unsupported=True))
    assert list(pipeline.steps) == ["prep", "train", "xgb"]
    assert [(s.name, s.kind, s.reason) for s in pipeline.skipped] == [
        ("model-CreateModel", "Model", "Model steps are not run by cit (--skip-unsupported)"),
        (
            "register-RegisterModel",
            "RegisterModel",
            "RegisterModel steps are not run by cit (--skip-unsupported)",
        ),
        ("transform", "Transform", "Transform steps are not run by cit (--skip-unsupported)"),
    ]


def test_skip_step_also_leaves_out_what_needs_the_step(frameworks: Path) -> None:
    data = json.loads(frameworks.read_text())
    data["Steps"] = [s for s in data["Steps"] if s["Type"] in ("Processing", "Training")]
    data["Steps"].append(
        {**_step(data, "xgb"), "Name": "after", "DependsOn": ["train"]}
    )
    frameworks.write_text(json.dumps(data))
    options = definition_options(skip_steps=["train"])
    pipeline = load_pipeline(frameworks, definition=options)
    assert list(pipeline.steps) == ["prep", "xgb"]
    assert {s.name: s.reason for s in pipeline.skipped} == {
        "train": "skipped with --skip-step",
        "after": "depends on step 'train', which is skipped",
    }


def test_skipping_every_step_or_an_unknown_one_is_refused(frameworks: Path) -> None:
    with pytest.raises(InputError, match="every step is skipped; nothing is left to run"):
        load_pipeline(
            frameworks, definition=definition_options(skip_steps=["prep"], skip_unsupported=True)
        )
    with pytest.raises(InputError, match=r"--skip-step nope: the definition has no step 'nope'"):
        load_pipeline(frameworks, definition=definition_options(skip_steps=["nope"]))


def test_unsupported_steps_that_need_a_skipped_step_are_left_out_with_it(
    frameworks: Path,
) -> None:
    pipeline = load_pipeline(frameworks, definition=definition_options(skip_steps=["train"]))
    assert list(pipeline.steps) == ["prep", "xgb"]
    assert {s.name: s.reason for s in pipeline.skipped} == {
        "train": "skipped with --skip-step",
        "model-CreateModel": "takes an output of step 'train', which is skipped",
        "register-RegisterModel": "takes an output of step 'train', which is skipped",
        "transform": "takes an output of step 'model-CreateModel', which is skipped",
    }


def test_skipped_steps_are_reported_as_skipped_and_the_run_passes(frameworks: Path) -> None:
    fake = _fake({SKLEARN: "sha256:sk", TORCH: "sha256:torch"})
    result = run_pipeline(
        frameworks,
        fake,
        params={"InputData": str(frameworks.parent / "code")},
        skip_unsupported=True,
        formats=[ReportFormat.HTML, ReportFormat.JUNIT],
    )
    assert result.exit_code == 0
    run_dir = Path(result.run.run_dir)
    page = (run_dir / "report.html").read_text()
    assert f"{TORCH} \u2192 {TORCH}" in page
    assert "Transform steps are not run by cit (--skip-unsupported)" in page
    junit = (run_dir / "report.xml").read_text()
    assert 'name="transform"' in junit and "<skipped" in junit
    report = json.loads((run_dir / "report.json").read_text())
    [suite] = report["suites"]
    steps = {step["name"]: step for step in suite["run"]["steps"]}
    assert steps["transform"]["status"] == "skipped"
    assert steps["transform"]["excluded"] is True
    assert steps["transform"]["reason"] == "Transform steps are not run by cit (--skip-unsupported)"
    assert steps["train"]["sagemaker_image"] == TORCH
    tests = {t["name"]: t for t in suite["tests"] if t["kind"] == "step"}
    assert tests["register-RegisterModel"]["outcome"] == "skipped"


# --- FrameworkProcessor ------------------------------------------------------------------------


def test_runproc_text_is_the_sdks_whose_hash_names_the_uri(frameworks: Path) -> None:
    prep = _step(json.loads(frameworks.read_text()), "prep")
    [uri] = [
        i["S3Input"]["S3Uri"] for i in prep["Arguments"]["ProcessingInputs"]
        if i["InputName"] == "entrypoint"
    ]  # fmt: skip
    found = find_entry_point(uri, [frameworks.parent])
    assert found == (frameworks.parent / "code", "prep.py", "python")
    assert "python prep.py \"$@\"" in runproc_text("prep.py")
    assert find_entry_point(uri.replace("/runproc.sh", "x/runproc.sh"), [frameworks.parent]) is None


def test_a_framework_processor_runs_its_source_dir_as_runproc_does(frameworks: Path) -> None:
    pipeline = load_pipeline(frameworks, definition=definition_options(skip_unsupported=True))
    prep = pipeline.steps["prep"]
    assert prep.source_dir == frameworks.parent / "code"
    assert prep.script == frameworks.parent / "code" / "prep.py"
    assert prep.entrypoint is not None and prep.entrypoint[:2] == ["/bin/bash", "-c"]
    assert 'exec python "${0#/opt/ml/processing/input/code/}" "$@"' in prep.entrypoint[2]
    assert list(prep.inputs) == ["data"]  # neither runproc.sh nor sourcedir.tar.gz
    assert prep.arguments == ["--split", "0.25"]
    assert not prep.network
    (frameworks.parent / "code" / "requirements.txt").write_text("six\n")
    again = load_pipeline(frameworks, definition=definition_options(skip_unsupported=True))
    assert again.steps["prep"].network  # runproc.sh pip-installs it


def test_a_framework_processor_without_its_source_dir_is_refused(
    frameworks: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "other.py").write_text("")
    options = definition_options(code_dir=elsewhere, skip_unsupported=True)
    with pytest.raises(InputError) as caught:
        load_pipeline(frameworks, definition=options)
    text = str(caught.value)
    assert "Steps.prep.Arguments.ProcessingInputs[entrypoint].S3Input.S3Uri" in text
    assert "cannot tell which script" in text
    assert "--code-dir" in text


# --- cit import sagemaker ----------------------------------------------------------------------


def test_the_yaml_keeps_the_images_and_names_the_steps_left_out(frameworks: Path) -> None:
    target = frameworks.parent / "p.yaml"
    result = runner.invoke(
        app,
        [
            "import", "sagemaker", str(frameworks), "-o", str(target), "--skip-unsupported",
            "--image-map", f"{DLC}/pytorch-training=torch:local",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert "# Left out: transform (Transform): Transform steps are not run by cit" in text
    steps = yaml.safe_load(text)["steps"]
    assert steps["train"]["image"] == "torch:local"
    assert steps["train"]["sagemaker_image"] == TORCH
    assert "image" not in steps["xgb"]
    loaded = load_pipeline(target).steps
    original = load_pipeline(
        frameworks,
        definition=definition_options(
            skip_unsupported=True, image_map=[f"{DLC}/pytorch-training=torch:local"]
        ),
    ).steps
    for name, step in original.items():
        assert loaded[name].model_dump() == step.model_dump(), name


# --- helpers -----------------------------------------------------------------------------------


def _framework(uri: str) -> Any:
    image = framework_image(uri)
    assert image is not None
    return image


def _step(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in data["Steps"] if step["Name"] == name)


def _fake(images: dict[str, str], registry: dict[str, str] | None = None) -> FakeEngine:
    rows = "x,y\n1,2\n3,4\n"
    out = "/opt/ml/processing/output"
    prep = FakeBehaviour(writes={f"{out}/{n}/{n}.csv": rows for n in ("train", "test")})
    return FakeEngine(
        {"prep": prep}, images={RUNNER_IMAGE: "sha256:runner", **images}, registry=registry
    )

"""The image a step of a SageMaker pipeline definition runs on: its ``ImageUri`` or
``TrainingImage`` read as a SageMaker framework image (framework and version), then mapped.

Which image, in this order: the user's ``--image-map`` (the URI itself, else the longest
prefix of it that is mapped); cit's runner image when it holds the framework at the image's
version (major.minor of every package the framework image is about); else the URI as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..aws.ecr import ECR_HOST
from ..errors import InputError
from ..runner_packages import package_key, runner_image_packages

IMAGE_MAP_OPTION = "--image-map"
_RELEASE = re.compile(r"^(\d+)\.(\d+)")
_TRANSFORMERS = re.compile(r"-transformers(\d+\.\d+(?:\.\d+)?)")

# repository (after the registry host) -> (framework, the pip package its version is of)
_FRAMEWORKS: dict[str, tuple[str, str]] = {
    "sagemaker-scikit-learn": ("scikit-learn", "scikit-learn"),
    "sagemaker-xgboost": ("xgboost", "xgboost"),
    "pytorch-training": ("pytorch", "torch"),
    "pytorch-inference": ("pytorch", "torch"),
    "tensorflow-training": ("tensorflow", "tensorflow"),
    "tensorflow-inference": ("tensorflow", "tensorflow"),
    "mxnet-training": ("mxnet", "mxnet"),
    "mxnet-inference": ("mxnet", "mxnet"),
    "sagemaker-spark-processing": ("spark", "pyspark"),
    "huggingface-pytorch-training": ("huggingface", "torch"),
    "huggingface-pytorch-inference": ("huggingface", "torch"),
    "huggingface-tensorflow-training": ("huggingface", "tensorflow"),
    "huggingface-tensorflow-inference": ("huggingface", "tensorflow"),
}


@dataclass(frozen=True)
class FrameworkImage:
    """A SageMaker framework image: ``framework`` at ``version`` (as its tag says, e.g.
    ``1.2-1``), and the release (major.minor) of each pip package it is about."""

    uri: str
    framework: str
    version: str
    packages: Mapping[str, str]


def framework_image(uri: str) -> FrameworkImage | None:
    """``uri`` read as a SageMaker framework image; None for any other image."""
    host, slash, path = uri.partition("/")
    if not slash or not ECR_HOST.match(host) or "@" in path or ":" not in path:
        return None
    repository, _, tag = path.rpartition(":")
    known = _FRAMEWORKS.get(repository)
    release = _RELEASE.match(tag)
    if known is None or release is None:
        return None
    framework, package = known
    version = tag.split("-cpu")[0].split("-gpu")[0].split("-transformers")[0]
    packages = {package: f"{release.group(1)}.{release.group(2)}"}
    transformers = _TRANSFORMERS.search(tag)
    if transformers:
        packages["transformers"] = _major_minor(transformers.group(1))
    return FrameworkImage(uri, framework, version, packages)


def runner_holds(image: FrameworkImage, packages: Mapping[str, str]) -> bool:
    """Whether the runner, whose pins are ``packages``, has every package of ``image`` at its
    release (``scikit-learn`` 1.2.x for ``sagemaker-scikit-learn:1.2-1``)."""
    for name, release in image.packages.items():
        have = packages.get(package_key(name))
        if have is None or _major_minor(have) != release:
            return False
    return True


def image_map_of(entries: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """``--image-map URI_OR_PREFIX=LOCAL_IMAGE`` texts (or a mapping) checked: both sides
    non-empty, each URI or prefix once; an ``InputError`` otherwise."""
    if entries is None:
        return {}
    pairs: list[tuple[str, str, str]] = []
    if isinstance(entries, Mapping):
        pairs = [(f"{key}={value}", str(key), str(value)) for key, value in entries.items()]
    else:
        for text in entries:
            key, equals, value = text.partition("=")
            if not equals:
                raise InputError(
                    f"'{text}' is not URI_OR_PREFIX=LOCAL_IMAGE", field=IMAGE_MAP_OPTION
                )
            pairs.append((text, key, value))
    result: dict[str, str] = {}
    for text, key, value in pairs:
        key, value = key.strip(), value.strip()
        if not key or not value or any(c.isspace() for c in key + value):
            raise InputError(
                f"'{text}' is not URI_OR_PREFIX=LOCAL_IMAGE (both sides an image name without "
                "spaces)",
                field=IMAGE_MAP_OPTION,
            )
        if key in result:
            raise InputError(f"{key} is mapped twice", field=IMAGE_MAP_OPTION)
        result[key] = value
    return result


def mapped_image(uri: str, image_map: Mapping[str, str]) -> str | None:
    """The image ``image_map`` gives ``uri``: its own entry, else its longest mapped prefix."""
    if uri in image_map:
        return image_map[uri]
    prefixes = [key for key in image_map if uri.startswith(key)]
    return image_map[max(prefixes, key=len)] if prefixes else None


def step_image(
    uri: str, image_map: Mapping[str, str], runner: Mapping[str, str] | None = None
) -> str | None:
    """The image a step whose definition names ``uri`` runs on; None for cit's runner image
    (the run's default image). ``runner`` is the runner's pins (default: cit's own)."""
    mapped = mapped_image(uri, image_map)
    if mapped is not None:
        return mapped
    image = framework_image(uri)
    packages = runner_image_packages() if runner is None else runner
    if image is not None and runner_holds(image, packages):
        return None
    return uri


def _major_minor(version: str) -> str:
    match = _RELEASE.match(version)
    return f"{match.group(1)}.{match.group(2)}" if match else version

"""Image operations of the Docker engine, for building the runner image."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import requests

from orchestrator.image_build import ImageBuildError, OnLine

BUILD_TIMEOUT_S = 3600
_LOG_TAIL = 5
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOISE = ("--->", "Removing intermediate container", "Running in")


def _split_ref(ref: str) -> tuple[str, str]:
    name = ref.rsplit("/", 1)[-1]
    if ":" in name and "@" not in name:
        repository, _, tag = ref.rpartition(":")
        return repository, tag
    return ref, "latest"


class DockerImageTools:
    """``ImageTools`` backed by the Docker SDK."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client

    def image_exists(self, ref: str) -> bool:
        """Whether the engine has an image called ``ref``."""
        try:
            self._client.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def try_pull(self, ref: str, timeout_s: float) -> bool:
        """Pull ``ref``; False if it fails or takes longer than ``timeout_s``."""
        outcome: list[bool] = []
        repository, tag = _split_ref(ref)

        def pull() -> None:
            try:
                self._client.api.pull(repository, tag=tag)
            except (docker.errors.DockerException, requests.RequestException):
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
        except (docker.errors.DockerException, requests.RequestException) as exc:
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
        repository, image_tag = _split_ref(tag)
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
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise ImageBuildError(f"docker import of {tag} from {tar_path} failed: {exc}") from exc
        return str(image_id)

    def architecture(self) -> str:
        """The engine's CPU architecture, e.g. ``x86_64`` or ``aarch64``."""
        try:
            info = self._client.info()
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise ImageBuildError(
                f"cannot ask the Docker engine for its architecture: {exc}"
            ) from exc
        return str(info.get("Architecture", ""))

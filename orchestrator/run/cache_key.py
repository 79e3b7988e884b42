"""The step cache's key: everything a step's container would see, its data by content.

Two steps with the same key see the same image, code, data, command, environment, limits and
config files, so the outputs of one stand for the other's. What differs between runs only by
name (the run id, the run directory) is written as a placeholder; a secret is there by its
container variable and the host variable it comes from, never by value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._version import __version__
from .plan import PlannedStep

CACHE_CONTRACT = 1
"""Raised whenever what cit gives a container changes in a way its specs do not show: every
entry made before then stops matching."""
RUN_PLACEHOLDER = "<run-id>"
RUN_DIR_PLACEHOLDER = "<run-dir>"

Digest = Callable[[Path], str]
"""The content digest of a file or folder (``digests.DigestMemo.digest``)."""


def step_key(material: dict[str, Any]) -> str:
    """The key of a step's ``key_material``: a SHA-256 of its canonical JSON."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def key_material(
    planned: PlannedStep, run_id: str, run_dir: Path, image_id: str | None, digest: Digest
) -> dict[str, Any]:
    """What decides a step's outputs: cit's contract, the image by id, the container spec and
    config files with the run's own names replaced, and every read-only mount's (inputs, code)
    and copied code's content."""
    job = planned.container_job
    spec = job.container.to_dict()
    own = str(planned.paths.root)

    def neutral(value: Any) -> Any:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        text = text.replace(str(run_dir), RUN_DIR_PLACEHOLDER).replace(run_id, RUN_PLACEHOLDER)
        return json.loads(text)

    mounts = []
    for mount in job.container.mounts:
        content = None
        if mount.read_only and not _inside(mount.source, own):
            content = digest(Path(mount.source))
        mounts.append([mount.target, mount.read_only, neutral(mount.source), content])
    return {
        "contract": CACHE_CONTRACT,
        "cit": __version__,
        "kind": planned.step.kind.value,
        "image": spec["image"],
        "image_id": image_id,
        "container": neutral(_container_fields(spec)),
        "secrets": sorted([name, host] for name, host in planned.step.secrets.items()),
        "mounts": mounts,
        "files": {neutral(str(path)): neutral(text) for path, text in sorted(job.files.items())},
        "copies": [[digest(source), neutral(str(target))] for source, target in job.copies],
        "outputs": list(planned.step.output_names),
    }


def _container_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without what only names the container (its name, labels), what is hashed
    apart (mounts) and the secrets' values (only their names count, in ``secrets``)."""
    left_out = {"name", "labels", "mounts", "secret_env"}
    return {key: value for key, value in spec.items() if key not in left_out}


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")

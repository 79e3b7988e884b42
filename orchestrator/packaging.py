"""What SageMaker does with a finished job's folders: tarballs and output summaries."""

from __future__ import annotations

import tarfile
from pathlib import Path

from .results import OutputSummary

MODEL_TARBALL = "model.tar.gz"
OUTPUT_TARBALL = "output.tar.gz"


def tar_gz_folder(folder: Path, tarball: Path) -> Path:
    """Pack the contents of ``folder`` with entries at the archive root, as SageMaker does."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name(tarball.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for child in sorted(folder.iterdir()) if folder.is_dir() else []:
            archive.add(child, arcname=child.name)
    partial.replace(tarball)
    return tarball


def summarise(name: str, path: Path) -> OutputSummary:
    """File count and total size of one output folder."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    return OutputSummary(
        name=name, path=str(path), files=len(files), bytes=sum(p.stat().st_size for p in files)
    )

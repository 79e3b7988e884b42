"""What SageMaker does with a finished job's folders: model.tar.gz and output.tar.gz."""

from __future__ import annotations

import tarfile
from pathlib import Path

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

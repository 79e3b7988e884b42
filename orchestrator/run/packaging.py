"""What SageMaker does with a finished job's folders: model.tar.gz and output.tar.gz."""

from __future__ import annotations

import tarfile
from pathlib import Path

from ..container_files import is_real_dir

MODEL_TARBALL = "model.tar.gz"
OUTPUT_TARBALL = "output.tar.gz"


def tar_gz_folder(folder: Path, tarball: Path) -> Path:
    """Pack the contents of ``folder`` with entries at the archive root, as SageMaker does.

    Links are packed as links, never followed; a ``folder`` that is itself a link (a container
    can replace /opt/ml/output/data with one) is packed as empty.
    """
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name(tarball.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz", dereference=False) as archive:
            for child in sorted(folder.iterdir()) if is_real_dir(folder) else []:
                archive.add(child, arcname=child.name)
        partial.replace(tarball)
    except OSError as exc:  # a full disk: no half archive is handed on, the path is named
        partial.unlink(missing_ok=True)
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(tarball)) from exc
    return tarball

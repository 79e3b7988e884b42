"""What SageMaker does with a finished job's folders: model.tar.gz and output.tar.gz."""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path

from ..container_files import is_real_dir

MODEL_TARBALL = "model.tar.gz"
OUTPUT_TARBALL = "output.tar.gz"


def tar_gz_folder(folders: Path | Sequence[Path], tarball: Path) -> Path:
    """Pack the contents of ``folders`` with entries at the archive root, as SageMaker does.

    Several folders (the hosts of a job on several instances) go into one archive, as
    SageMaker aggregates them: a name already packed from an earlier folder keeps that
    folder's entry. Links are packed as links, never followed; a folder that is itself a link
    (a container can replace /opt/ml/output/data with one) is packed as empty.
    """
    roots = [folders] if isinstance(folders, Path) else list(folders)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name(tarball.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz", dereference=False) as archive:
            packed: dict[str, bool] = {}
            for root in roots:
                _add_tree(archive, root, "", packed)
        partial.replace(tarball)
    except OSError as exc:  # a full disk: no half archive is handed on, the path is named
        partial.unlink(missing_ok=True)
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(tarball)) from exc
    return tarball


def _add_tree(archive: tarfile.TarFile, folder: Path, prefix: str, packed: dict[str, bool]) -> None:
    """Add what ``folder`` holds under ``prefix``, names in ``packed`` (name → is a folder)
    left as they are; a real folder's content is merged into the folder packed there."""
    if not is_real_dir(folder):
        return
    for child in sorted(folder.iterdir()):
        name = prefix + child.name
        if name not in packed:
            archive.add(child, arcname=name, recursive=False)
            packed[name] = is_real_dir(child)
        if packed[name] and is_real_dir(child):
            _add_tree(archive, child, name + "/", packed)

"""cit: run SageMaker pipeline scripts in SageMaker-like containers, in DAG order, and test them.

The public API is the list in ``__init__.pyi``: what a pipeline file writes and what a test
calls. Names are loaded on first use, so ``cit`` and a pipeline file's ``from orchestrator
import Pipeline`` load only what they need. Each subpackage names its own public types
(``orchestrator.data``, ``orchestrator.engines``, ...). The names and module paths of the 0.1
API keep working for one more release, with a ``DeprecationWarning`` saying where they moved.
"""

import importlib
import sys
import warnings
from typing import Any

import lazy_loader

from . import _compat
from ._version import __version__ as __version__

_public_getattr, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

sys.meta_path.append(_compat.MovedModules())


def __getattr__(name: str) -> Any:
    moved = _compat.MOVED_NAMES.get(name)
    if moved is None:
        return _public_getattr(name)
    warnings.warn(
        f"'from orchestrator import {name}' is deprecated; import it from {moved}",
        DeprecationWarning,
        stacklevel=2,
    )
    value = getattr(importlib.import_module(moved), name)
    globals()[name] = value  # warned once
    return value

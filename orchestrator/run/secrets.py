"""Secrets: values a step takes from the host's environment by name, which reach its container
and nothing else.

A step names them in ``secrets`` (container variable → host variable). The values are read
from the host environment once, before anything runs, into ``RunSettings.secrets`` (host
variable → value); planning puts each step's values in its spec's ``secret_env``, which engines
give the container and which every record of the spec writes as ``SECRET_MASK``. Text that
comes back from the container (log lines, its exit message) is masked with ``masker``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from ..engines.spec import SECRET_MASK
from ..errors import InputError
from ..pipeline.model import Step
from .settings import RunSettings


def read_host_secrets(
    steps: Iterable[Step],
    file: Path | str | None,
    known: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``known`` and the value of every host variable ``steps`` name that ``known`` lacks,
    read from ``environ`` (default: the host's); a missing one is an ``InputError``."""
    environ = os.environ if environ is None else environ
    values = dict(known)
    for step in steps:
        for variable, host in step.secrets.items():
            if host in values:
                continue
            if host not in environ:
                raise _missing(step, variable, host, file)
            values[host] = environ[host]
    return values


def with_host_secrets(
    settings: RunSettings,
    steps: Iterable[Step],
    file: Path | str | None,
    environ: Mapping[str, str] | None = None,
) -> RunSettings:
    """``settings`` holding the secrets of ``steps`` (see ``read_host_secrets``)."""
    values = read_host_secrets(steps, file, settings.secrets, environ)
    return settings if values == settings.secrets else replace(settings, secrets=values)


def secret_env(step: Step, values: Mapping[str, str], file: Path | str | None) -> dict[str, str]:
    """Container variable → value of each of ``step``'s secrets, from the host ``values``."""
    missing = [(v, host) for v, host in step.secrets.items() if host not in values]
    if missing:
        raise _missing(step, *missing[0], file)
    return {variable: values[host] for variable, host in step.secrets.items()}


def _missing(step: Step, variable: str, host: str, file: Path | str | None) -> InputError:
    return InputError(
        f"the host environment has no variable {host}; set it before running cit "
        f"(its value is the container's {variable})",
        file=file,
        field=f"steps.{step.name}.secrets.{variable}",
    )


def masker(values: Iterable[str]) -> Callable[[str], str]:
    """A function writing ``SECRET_MASK`` over every occurrence of any of ``values`` (and of
    each line of a value that spans lines) in a text."""
    parts = {part for value in values for part in (value, *value.splitlines()) if part.strip()}
    if not parts:
        return _unchanged
    pattern = re.compile("|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)))
    return lambda text: pattern.sub(SECRET_MASK, text)


def _unchanged(text: str) -> str:
    return text

"""Settings found without flags, read where a command starts: ``CIT_*`` environment variables
and the configuration file found up the folder tree from the working directory (``cit.yaml``,
``cit.yml``, or a ``[tool.cit]`` table in ``pyproject.toml``).

Each setting is taken from the first that gives it: the command's flag, the environment, the
configuration file, cit's default; ``settle`` is the one place that order is written. A value
that cannot be used is one line naming the variable, or the file and key, exit code 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..engines.base import Isolation
from ..errors import CitError, InputError
from ..files import FieldError, describe_error, read_bytes
from ..report.formats import ReportFormat

if TYPE_CHECKING:
    from ..suite.config import IntegrationTestConfig

CONFIG_NAMES = ("cit.yaml", "cit.yml")
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = "tool.cit"
PYPROJECT_LIMIT = 4 * 2**20
"""The largest pyproject.toml read when looking for ``[tool.cit]``."""
DEFAULT_CIT_DIR = Path(".cit")

ENVIRONMENT = {
    "CIT_DIR": "cit_dir",
    "CIT_CONFIG": "config",
    "CIT_IMAGE": "image",
    "CIT_MAX_WORKERS": "max_workers",
    "CIT_ISOLATION": "isolation",
    "CIT_FORMAT": "formats",
    "CIT_CPU_ONLY": "cpu_only",
}
"""Each variable cit reads, and the setting it gives (as the flag of the same name does)."""


class Environment(BaseModel):
    """The ``CIT_*`` variables that are set (an empty one counts as unset)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cit_dir: Path | None = None
    config: Path | None = None
    image: str | None = Field(default=None, min_length=1)
    max_workers: int | None = Field(default=None, ge=1)
    isolation: Isolation | None = None
    formats: list[ReportFormat] | None = None
    cpu_only: bool = False

    @field_validator("formats", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",")] if isinstance(value, str) else value


def environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The ``CIT_*`` settings of ``environ`` (the process's by default), checked."""
    environ = os.environ if environ is None else environ
    values = {field: environ[name] for name, field in ENVIRONMENT.items() if environ.get(name)}
    try:
        return Environment.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = next(n for n, f in ENVIRONMENT.items() if f == error["loc"][0])
        _, message = describe_error({**error, "loc": ()})
        raise CitError(f"{variable}={environ[variable]!r}: {message}") from None


@dataclass(frozen=True)
class Choices:
    """The settings a command's flags, the environment or a configuration file may give; None
    (or False, or empty) where it gives none."""

    cit_dir: Path | None = None
    config: Path | None = None
    image: str | None = None
    max_workers: int | None = None
    isolation: Isolation | None = None
    formats: list[ReportFormat] | None = None
    cpu_only: bool | None = None


def file_choices(config: IntegrationTestConfig | None) -> Choices:
    """What the configuration file gives (nothing without one)."""
    if config is None:
        return Choices()
    execution = config.execution
    return Choices(
        cit_dir=execution.cit_dir,
        image=execution.container_image,
        max_workers=execution.max_workers,
        isolation=execution.isolation_mode,
        formats=config.reporting.formats,
    )


def settle(flags: Choices, env: Environment, config: IntegrationTestConfig | None) -> Choices:
    """Each setting from the first that gives it: the flag, the ``CIT_*`` variable, the
    configuration file; None where none does (the caller's default then). The one place this
    order is written: every command takes its settings from here."""
    given = (flags, env, file_choices(config))
    return Choices(
        **{f.name: _first(getattr(source, f.name) for source in given) for f in fields(Choices)}
    )


def _first(values: Any) -> Any:
    """The first value given (neither None, False nor empty); else the last, as it is."""
    value = None
    for value in values:
        if value:
            return value
    return value


def find_config(start: Path | None = None) -> Path | None:
    """The configuration file nearest ``start`` (the working directory) or above it."""
    folder = (start or Path.cwd()).resolve()
    for place in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            if (place / name).is_file():
                return place / name
        if _cit_table(place / PYPROJECT) is not None:
            return place / PYPROJECT
    return None


def _cit_table(path: Path) -> dict[str, Any] | None:
    """The ``[tool.cit]`` table of a pyproject.toml, or None when it has none."""
    if not path.is_file():  # also a FIFO named so, which a read would wait on
        return None
    raw = read_bytes(path, PYPROJECT_LIMIT)
    if PYPROJECT_TABLE.encode() not in raw:
        return None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not TOML: {exc}", file=path) from None
    table = data.get("tool", {}).get("cit") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise InputError("must be a table of sections", file=path, field=PYPROJECT_TABLE)
    return table


def config_path(flag: Path | None, env: Environment) -> Path | None:
    """The configuration file: --config, else ``CIT_CONFIG``, else the one found. A
    ``CIT_CONFIG`` naming no file is refused naming the variable (it may be set far away)."""
    if flag is None and env.config is not None and not env.config.is_file():
        raise CitError(f"CIT_CONFIG={str(env.config)!r}: no such configuration file")
    return settle(Choices(config=flag), env, None).config or find_config()


def load(path: Path | None) -> IntegrationTestConfig:
    """The configuration in ``path`` (a ``pyproject.toml`` is read for its ``[tool.cit]``), or
    every default without one."""
    from ..suite.config import config_from_data, config_or_defaults

    if path is None or path.name != PYPROJECT:
        return config_or_defaults(path)
    if not path.is_file():
        raise InputError("no such configuration file", file=path)
    table = _cit_table(path)
    if table is None:
        raise InputError(f"has no [{PYPROJECT_TABLE}] table", file=path)
    try:
        return config_from_data(table, path)
    except FieldError as exc:
        field = ".".join(filter(None, [PYPROJECT_TABLE, exc.field]))
        raise InputError(exc.message, file=path, field=field) from None


def cit_dir_of(
    flag: Path | None, env: Environment, config: IntegrationTestConfig | None
) -> Path:
    """Where runs are written: --cit-dir, ``CIT_DIR``, the file's ``execution.cit_dir``, .cit."""
    return settle(Choices(cit_dir=flag), env, config).cit_dir or DEFAULT_CIT_DIR


def with_environment(config: IntegrationTestConfig, env: Environment) -> IntegrationTestConfig:
    """``config`` as the run reads it: each setting ``settle`` gives in place of its own (the
    environment comes first)."""
    settled = settle(Choices(), env, config)
    execution = {
        "cit_dir": settled.cit_dir,
        "container_image": settled.image,
        "max_workers": settled.max_workers,
        "isolation_mode": settled.isolation,
    }
    return config.model_copy(
        update={
            "execution": config.execution.model_copy(update=execution),
            "reporting": config.reporting.model_copy(update={"formats": settled.formats}),
        }
    )

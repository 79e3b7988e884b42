"""Test data per script and test case, stored content-addressed and versioned, never overwritten.

A registry is a folder (``.cit/registry`` by default)::

    index.json                          every entry: script, case, version, sha256, files, ...
    data/<script>/<case>/v<N>/...       the stored copy of version N
    .lock                               serialises writers (fcntl.flock)
    .staging/                           copies in progress

``register(script, case, source)`` copies a file or folder. Versions count from 1 per
(script, case); content identical to a stored version (same sha256 over every file's relative
path and bytes, in sorted order) returns that version instead of a new copy. A copy is made in
``.staging/``, hashed, then renamed into place under the lock, so a version's folder is complete
or absent; its files are made read-only, and nothing stored is ever modified or replaced. A copy
that fails for any reason is removed from ``.staging/``.

What is copied: regular files and folders. A link to a file is stored as the file's content; a
link to a folder (which could loop) and a broken link are refused, naming the link; other
special files (fifos, sockets) are skipped. ``source`` itself may be a link. A folder that holds
the registry (e.g. ``.`` for ``./.cit/registry``) is refused, so the registry is never copied
into itself.

Test data for an edge of a pipeline (a producer's output that a consumer reads):

- ``find_compatible(schema, script=None)``: the entries whose data fits the consumer's declared
  input schema, i.e. ``capture.capture_output`` of the stored data gives a profile on which
  ``compatibility.check_output`` finds no error (``check_entry`` lists the issues of one entry).
- ``register_run_output(run_dir, step, output, script=..., case=...)``: registers what a
  producer really wrote in a cit run (``<run_dir>/steps/<step>/outputs/<output>/``) as test data
  of the consumer, so the consumer can be tested on its producer's actual output.
- ``for_edge(pipeline, consumer, input, run_dir=None)``: both for one wired edge. The producer
  comes from the wiring (the input must read a step's output), the schema from the consumer's
  contract (``input_schemas[input]``, required: without one nothing can be checked, and the
  error says so; ``list(consumer)`` gives all the data unchecked). With ``run_dir``, the
  producer's output in that run, when it exists and holds files, is registered first as script
  ``<consumer>``, case ``<producer>.<output>``. Returns the consumer's compatible entries.

``load_scenarios(path)`` registers every scenario of a YAML or JSON file::

    scenarios:
      - name: small_batch
        script: preprocess          # step or script the data is for
        case: small_batch           # test case; the name when omitted
        data: data/small            # file or folder, relative to this file
        description: 100 rows, balanced labels
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..container_files import is_real_dir_inside, is_regular_file, regular_files, walk
from ..data.capture import capture_output
from ..data.compatibility import check_output
from ..data.schemas import DataSchema
from ..errors import InputError
from ..files import FieldError, read_data, reject_unknown, write_json_atomic
from ..issues import Issue, has_errors
from ..pipeline.model import StepOutput
from ..run.sagemaker_job import StepPaths

if TYPE_CHECKING:
    from ..pipeline.model import Pipeline

DEFAULT_REGISTRY = Path(".cit/registry")
INDEX_FILE = "index.json"
LOCK_FILE = ".lock"
DATA_FOLDER = "data"
STAGING_FOLDER = ".staging"
INDEX_FORMAT = 1
HASH_CHUNK = 2**20
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit"


class TestDataEntry(BaseModel):
    """One stored version of one script's test case."""

    __test__: ClassVar[bool] = False
    model_config = ConfigDict(extra="forbid", frozen=True)

    script: str
    case: str
    version: int = Field(ge=1)
    sha256: str
    kind: Literal["file", "folder"]
    files: int
    bytes: int
    created_at: datetime
    description: str = ""
    source: str
    """The file or folder the data was copied from."""
    stored: str
    """Where the copy is, relative to the registry folder (posix)."""

    @property
    def ref(self) -> str:
        """``script/case/vN``, for messages."""
        return f"{self.script}/{self.case}/v{self.version}"


Entries = list[TestDataEntry]
"""A list of entries (the registry's ``list`` method hides the builtin in its class)."""


class _Index(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = INDEX_FORMAT
    entries: Entries = Field(default_factory=list)


class Scenario(BaseModel):
    """A scenario of a scenarios file, with the entry its data was registered as."""

    model_config = ConfigDict(frozen=True)

    name: str
    script: str
    case: str
    data: Path
    description: str = ""
    entry: TestDataEntry


SCENARIO_FIELDS = ("name", "script", "case", "data", "description")
SCENARIO_REQUIRED = ("name", "script", "data")


class TestDataRegistry:
    """Versioned, content-addressed test data in a folder; safe for concurrent writers."""

    __test__: ClassVar[bool] = False

    def __init__(self, root: Path = DEFAULT_REGISTRY) -> None:
        self.root = Path(root)

    @property
    def index_file(self) -> Path:
        return self.root / INDEX_FILE

    # --- writing ---------------------------------------------------------------------------

    def register(
        self,
        script: str,
        case: str,
        source: Path,
        *,
        description: str = "",
        follow_links: bool = True,
    ) -> TestDataEntry:
        """Store ``source`` as the next version of (script, case), or return the stored
        version with the same content. Without ``follow_links`` (what a container wrote) links
        are left out instead of read."""
        check_name(script, "script")
        check_name(case, "case")
        source = Path(source)
        if not source.is_file() and not source.is_dir():
            raise InputError("no such file or folder to register", file=source)
        self._refuse_holding_registry(source)
        digest = content_hash(source, follow_links=follow_links)[0]
        same = self._same_content(script, case, digest)
        if same is not None:
            return same
        return self._store(script, case, source, description, follow_links)

    def _store(
        self, script: str, case: str, source: Path, description: str, follow_links: bool
    ) -> TestDataEntry:
        """Copy, hash, and move into place as the next version under the lock; the staged copy
        is removed whatever happens."""
        staged = self.root / STAGING_FOLDER / secrets.token_hex(8)
        try:
            self._copy(source, staged, follow_links)
            digest, files, size = content_hash(staged)
            with self._locked():
                entries = self._read_index().entries
                same = _find_hash(entries, script, case, digest)
                if same is not None:
                    return same
                version, target = self._next_version(entries, script, case)
                os.rename(staged, target)
                entry = TestDataEntry(
                    script=script,
                    case=case,
                    version=version,
                    sha256=digest,
                    kind="folder" if source.is_dir() else "file",
                    files=files,
                    bytes=size,
                    created_at=datetime.now(UTC),
                    description=description,
                    source=str(source),
                    stored=_stored_path(target, source, self.root),
                )
                try:
                    self._write_index([*entries, entry])
                except BaseException:
                    os.rename(target, staged)
                    raise
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        _make_read_only(target)
        return entry

    def register_run_output(
        self,
        run_dir: Path,
        step: str,
        output: str,
        *,
        script: str,
        case: str,
        description: str = "",
        path: str | None = None,
    ) -> TestDataEntry:
        """Register what ``step`` wrote to ``output`` (or to folder ``path`` inside it) in a
        cit run as test data of ``script``."""
        folder = run_output_folder(Path(run_dir), step, output)
        named = f"output '{output}' of step '{step}'"
        if path is not None:
            named = f"folder '{path}' of {named}"
            if not is_real_dir_inside(folder, path):
                raise InputError(f"{named} is not there (or is a link)", file=folder)
            folder = folder / path
        if not regular_files(folder):
            raise InputError(f"{named} is empty", file=folder)
        text = description or f"{named} in run {Path(run_dir).name}"
        return self.register(script, case, folder, description=text, follow_links=False)

    def for_edge(
        self, pipeline: Pipeline, consumer: str, input: str, *, run_dir: Path | None = None
    ) -> Entries:
        """The test data of ``consumer`` (its step name) that fits the schema its contract
        declares for ``input``. With ``run_dir``, the producer's output in that run, if it holds
        files, is registered first as case ``<producer>.<output>`` (``<producer>.<output>.<path>``
        for an input that takes a folder inside the output)."""
        producer, schema = edge_schema(pipeline, consumer, input)
        if run_dir is not None:
            run_dir = Path(run_dir)
            if not run_dir.is_dir():
                raise InputError("no such run directory", file=run_dir)
            folder = StepPaths(run_dir / "steps" / producer.step).output(producer.output)
            there = producer.path is None or is_real_dir_inside(folder, producer.path)
            if there and regular_files(folder / (producer.path or "")):
                self.register_run_output(
                    run_dir,
                    producer.step,
                    producer.output,
                    script=consumer,
                    case=str(producer).replace("/", "."),  # a case name has no '/'
                    path=producer.path,
                )
        return self.find_compatible(schema, consumer)

    def load_scenarios(self, path: Path) -> list[Scenario]:
        """Register every scenario of a scenarios file; all are checked before any is stored."""
        fields = _read_scenarios(Path(path))
        return [
            Scenario(
                **item,
                entry=self.register(
                    item["script"], item["case"], item["data"], description=item["description"]
                ),
            )
            for item in fields
        ]

    # --- reading ---------------------------------------------------------------------------

    def list(self, script: str | None = None) -> Entries:
        """Every entry (of ``script``), by script, case and version."""
        entries = self._read_index().entries
        chosen = [e for e in entries if script is None or e.script == script]
        return sorted(chosen, key=lambda e: (e.script, e.case, e.version))

    def get(self, script: str, case: str, version: int | None = None) -> TestDataEntry:
        """One entry: the latest version unless ``version`` is given."""
        entries = self.list()
        of_script = [e for e in entries if e.script == script]
        if not of_script:
            known = sorted({e.script for e in entries})
            raise InputError(
                f"no test data for script '{script}'; registered scripts: {_listing(known)}"
            )
        of_case = [e for e in of_script if e.case == case]
        if not of_case:
            known = sorted({e.case for e in of_script})
            raise InputError(
                f"script '{script}' has no test case '{case}'; its cases: {_listing(known)}"
            )
        if version is None:
            return of_case[-1]
        found = next((e for e in of_case if e.version == version), None)
        if found is None:
            versions = [str(e.version) for e in of_case]
            raise InputError(
                f"'{script}/{case}' has no version {version}; versions: {', '.join(versions)}"
            )
        return found

    def path(self, entry: TestDataEntry) -> Path:
        """The stored data: the folder for a registered folder, the file for a file."""
        stored = self.root / entry.stored
        if not stored.exists():
            raise InputError(f"the stored data of {entry.ref} is missing", file=stored)
        return stored

    # --- compatibility ---------------------------------------------------------------------

    def check_entry(self, entry: TestDataEntry, schema: DataSchema) -> builtins.list[Issue]:
        """What ``compatibility.check_output`` finds in an entry's data against ``schema``."""
        folder = self.root / DATA_FOLDER / entry.script / entry.case / f"v{entry.version}"
        self.path(entry)
        return check_output(capture_output(entry.ref, folder), schema)

    def find_compatible(self, schema: DataSchema, script: str | None = None) -> Entries:
        """The entries (of ``script``) whose data fits ``schema`` without an error."""
        return [e for e in self.list(script) if not has_errors(self.check_entry(e, schema))]

    # --- internals -------------------------------------------------------------------------

    def _same_content(self, script: str, case: str, digest: str) -> TestDataEntry | None:
        return _find_hash(self._read_index().entries, script, case, digest)

    def _next_version(self, entries: Entries, script: str, case: str) -> tuple[int, Path]:
        """The next version number and its folder; a folder left by an interrupted
        registration (not in the index) is skipped, never replaced."""
        version = 1 + max(
            (e.version for e in entries if (e.script, e.case) == (script, case)), default=0
        )
        folder = self.root / DATA_FOLDER / script / case
        while (folder / f"v{version}").exists():
            version += 1
        folder.mkdir(parents=True, exist_ok=True)
        return version, folder / f"v{version}"

    def _refuse_holding_registry(self, source: Path) -> None:
        """A folder holding the registry would be copied into itself."""
        if source.is_dir() and self.root.resolve().is_relative_to(source.resolve()):
            raise InputError(
                f"holds the registry {self.root}; register a folder that does not contain it",
                file=source,
            )

    def _copy(self, source: Path, staged: Path, follow_links: bool) -> None:
        """A private copy of ``source`` in ``staged``: its folders and files, links to files
        as their content (or left out, without ``follow_links``)."""
        folders, files = _tree(source, follow_links)
        try:
            staged.mkdir(parents=True)
            for rel in folders:
                (staged / rel).mkdir(parents=True, exist_ok=True)
            for rel, path in files:
                shutil.copyfile(path, staged / rel)
        except OSError as exc:
            raise InputError(
                f"cannot be copied into the registry {self.root}: {_reason(exc)}", file=source
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive access to the index, across threads and processes."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / LOCK_FILE).open("a")
        except OSError as exc:
            raise InputError(
                f"registry cannot be written: {_reason(exc)}", file=self.root
            ) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_index(self) -> _Index:
        try:
            text = self.index_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _Index()
        try:
            return _Index.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InputError(
                f"registry index is damaged ({where}: {first['msg']})", file=self.index_file
            ) from None

    def _write_index(self, entries: Entries) -> None:
        data = _Index(entries=entries).model_dump(mode="json")
        try:
            write_json_atomic(self.index_file, data)
        except OSError as exc:
            raise InputError(f"cannot be written: {_reason(exc)}", file=self.index_file) from None


# --- content -------------------------------------------------------------------------------


def content_hash(source: Path, *, follow_links: bool = True) -> tuple[str, int, int]:
    """(sha256, files, bytes) of a file or folder: every file's relative path and bytes, in
    sorted path order, so the walk's order does not matter. A file's relative path is its
    name; a link to a file counts as the file, a link to a folder is refused (without
    ``follow_links``, every link is left out)."""
    files = sorted(_tree(source, follow_links)[1])
    digest = hashlib.sha256()
    total = 0
    for rel, path in files:
        size = path.stat().st_size
        digest.update(rel.encode("utf-8") + b"\0" + str(size).encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
        total += size
    return digest.hexdigest(), len(files), total


def _tree(source: Path, follow_links: bool = True) -> tuple[list[str], list[tuple[str, Path]]]:
    """The folders and files of ``source`` as (relative posix paths); a file is its own name.
    Links to files count as files; links to folders are not followed but refused, as are broken
    links; other special files are skipped. Without ``follow_links`` only regular files and
    real folders are listed, and no link is read."""
    if not follow_links:
        if is_regular_file(source):
            return [], [(source.name, source)]
        found = walk(source)
        if found.unreadable:
            raise InputError(f"cannot read '{found.unreadable[0]}'", file=source)
        return found.folders, [(f.rel, f.path) for f in found.files]
    if source.is_file():
        return [], [(source.name, source)]
    folders: list[str] = []
    files: list[tuple[str, Path]] = []

    def fail(exc: OSError) -> None:
        raise exc

    try:
        for dirpath, dirnames, filenames in os.walk(source, onerror=fail):
            for name in dirnames:
                path = Path(dirpath, name)
                if path.is_symlink():
                    raise _link_error(source, path, "a link to a folder")
                folders.append(path.relative_to(source).as_posix())
            for name in filenames:
                path = Path(dirpath, name)
                if path.is_file():
                    files.append((path.relative_to(source).as_posix(), path))
                elif path.is_symlink():
                    raise _link_error(source, path, "a broken link")
    except OSError as exc:
        raise InputError(f"cannot be read: {_reason(exc)}", file=exc.filename or source) from None
    return folders, files


def _link_error(source: Path, link: Path, what: str) -> InputError:
    rel = link.relative_to(source).as_posix()
    return InputError(
        f"'{rel}' is {what}; only files and links to files are stored "
        "(put the folder itself in place of the link)",
        file=source,
    )


def _make_read_only(folder: Path) -> None:
    """Stored files cannot be written by accident; folders stay removable."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(READ_ONLY)


def _stored_path(target: Path, source: Path, root: Path) -> str:
    stored = target if source.is_dir() else target / source.name
    return stored.relative_to(root).as_posix()


def _find_hash(entries: Entries, script: str, case: str, digest: str) -> TestDataEntry | None:
    return next(
        (e for e in entries if (e.script, e.case, e.sha256) == (script, case, digest)), None
    )


def edge_schema(pipeline: Pipeline, consumer: str, input: str) -> tuple[StepOutput, DataSchema]:
    """The producer's output wired to ``consumer``'s ``input`` and the schema the consumer's
    contract declares for it; an error says which of the two is missing."""
    step = pipeline.steps.get(consumer)
    if step is None:
        raise InputError(
            f"pipeline '{pipeline.name}' has no step '{consumer}'; "
            f"its steps: {_listing(sorted(pipeline.steps))}"
        )
    wired = step.inputs.get(input)
    if wired is None:
        raise InputError(
            f"step '{consumer}' has no input '{input}'; its inputs: {_listing(sorted(step.inputs))}"
        )
    if not isinstance(wired.source, StepOutput):
        raise InputError(
            f"input '{input}' of step '{consumer}' reads {_where(wired.source)}, not a step's "
            "output; find_compatible(schema) checks data without an edge"
        )
    if step.contract is None:
        raise InputError(
            f"step '{consumer}' has no contract, so input '{input}' has no schema to check data "
            f"against; list('{consumer}') gives all its data"
        )
    schema = step.contract.input_schemas.get(input)
    if schema is None:
        raise InputError(
            f"the contract of step '{consumer}' declares no schema for input '{input}' "
            f"(input_schemas.{input}); list('{consumer}') gives all its data",
            file=step.contract.source,
        )
    return wired.source, schema


def check_name(value: str, what: str) -> None:
    """Script and case names become folder names: a safe subset only."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InputError(f"{what} name '{value}' is not allowed; use {NAME_RULE}")


def run_output_folder(run_dir: Path, step: str, output: str) -> Path:
    """``<run_dir>/steps/<step>/outputs/<output>``; an error lists what the run has."""
    if not run_dir.is_dir():
        raise InputError("no such run directory", file=run_dir)
    steps = run_dir / "steps"
    step_dir = steps / step
    if not step_dir.is_dir():
        known = sorted(p.name for p in steps.iterdir() if p.is_dir()) if steps.is_dir() else []
        raise InputError(f"run has no step '{step}'; its steps: {_listing(known)}", file=run_dir)
    outputs = StepPaths(step_dir).outputs_dir
    folder = StepPaths(step_dir).output(output)
    if not folder.is_dir():
        known = sorted(p.name for p in outputs.iterdir() if p.is_dir()) if outputs.is_dir() else []
        raise InputError(
            f"step '{step}' has no output '{output}'; its outputs: {_listing(known)}",
            file=run_dir,
        )
    return folder


def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --- scenarios file ------------------------------------------------------------------------


def _read_scenarios(path: Path) -> list[dict[str, Any]]:
    """The scenarios of a file, checked, with data paths resolved against the file's folder."""
    if not path.is_file():
        raise InputError("no such scenarios file", file=path)
    data = read_data(path)
    try:
        if not isinstance(data, dict):
            raise FieldError("", "a scenarios file is a mapping with 'scenarios'")
        reject_unknown(data, ("scenarios",))
        items = data.get("scenarios")
        if not isinstance(items, list) or not items:
            raise FieldError("scenarios", "must be a non-empty list of scenarios")
        scenarios = [_scenario(i, item, path.parent) for i, item in enumerate(items)]
        _unique_names(scenarios)
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field or None) from None
    return scenarios


def _scenario(index: int, item: Any, folder: Path) -> dict[str, Any]:
    where = f"scenarios.{index}"
    if not isinstance(item, dict):
        raise FieldError(where, "must be a mapping of " + ", ".join(SCENARIO_FIELDS))
    reject_unknown(item, SCENARIO_FIELDS, f"{where}.")
    for key in SCENARIO_REQUIRED:
        if key not in item:
            raise FieldError(f"{where}.{key}", "is required")
    for key in SCENARIO_FIELDS:
        if key in item and not isinstance(item[key], str):
            raise FieldError(f"{where}.{key}", "must be text")
    fields: dict[str, Any] = {"case": item["name"], "description": "", **item}
    for key in ("script", "case"):
        if not NAME_PATTERN.fullmatch(fields[key]):
            raise FieldError(f"{where}.{key}", f"'{fields[key]}' is not allowed; use {NAME_RULE}")
    data = folder / fields["data"]
    if not data.is_file() and not data.is_dir():
        raise FieldError(f"{where}.data", f"no such file or folder: {data}")
    fields["data"] = data
    return fields


def _unique_names(scenarios: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for index, scenario in enumerate(scenarios):
        if scenario["name"] in seen:
            raise FieldError(f"scenarios.{index}.name", f"'{scenario['name']}' is given twice")
        seen.add(scenario["name"])


def _where(source: object) -> str:
    """An input's data as the user wrote it: a local path, or an s3:// URI."""
    path = getattr(source, "path", None)
    uri = getattr(source, "uri", None)
    return f"the local path {path}" if uri is None else str(uri)

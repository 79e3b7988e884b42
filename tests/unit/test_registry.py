"""The test data registry: versions, content hashes, the index, compatibility, scenarios."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import textwrap
import threading
from pathlib import Path

import pytest

from orchestrator.data.schemas import schema_from_data
from orchestrator.errors import InputError
from orchestrator.pipeline.model import Pipeline
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.scripttest.registry import TestDataEntry, TestDataRegistry, content_hash


@pytest.fixture
def registry(tmp_path: Path) -> TestDataRegistry:
    return TestDataRegistry(tmp_path / "registry")


def make_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_folder(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        make_file(root / rel, text)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- register --------------------------------------------------------------------------------


def test_register_a_file(registry: TestDataRegistry, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in" / "raw.csv", "a,b\n1,2\n")
    entry = registry.register("prep", "basic", source, description="two columns")
    assert (entry.script, entry.case, entry.version, entry.kind) == ("prep", "basic", 1, "file")
    assert (entry.files, entry.bytes) == (1, len("a,b\n1,2\n"))
    assert entry.description == "two columns"
    assert entry.source == str(source)
    stored = registry.path(entry)
    assert stored.name == "raw.csv"
    assert stored.read_bytes() == source.read_bytes()
    assert stored.resolve() != source.resolve()
    assert not stat.S_IMODE(stored.stat().st_mode) & 0o222, "stored files are read-only"


def test_register_a_folder(registry: TestDataRegistry, tmp_path: Path) -> None:
    files = {"train/part-0.csv": "x\n1\n", "train/part-1.csv": "x\n2\n", "val/v.csv": "x\n3\n"}
    source = make_folder(tmp_path / "splits", files)
    entry = registry.register("train", "splits", source)
    assert (entry.kind, entry.files, entry.bytes) == ("folder", 3, 12)
    stored = registry.path(entry)
    assert stored.is_dir()
    assert tree_bytes(stored) == tree_bytes(source)
    assert entry.sha256 == content_hash(source)[0]


def test_hash_covers_paths_and_bytes_not_walk_order(tmp_path: Path) -> None:
    one = make_folder(tmp_path / "one", {"b/x.csv": "1", "a.csv": "2"})
    two = make_folder(tmp_path / "two", {"a.csv": "2", "b/x.csv": "1"})
    renamed = make_folder(tmp_path / "renamed", {"a.csv": "2", "b/y.csv": "1"})
    changed = make_folder(tmp_path / "changed", {"a.csv": "2", "b/x.csv": "9"})
    assert content_hash(one) == content_hash(two)
    assert content_hash(one)[0] != content_hash(renamed)[0]
    assert content_hash(one)[0] != content_hash(changed)[0]
    assert content_hash(one)[1:] == (2, 2)


def test_same_content_twice_is_the_same_version(registry: TestDataRegistry, tmp_path: Path) -> None:
    first = registry.register("prep", "basic", make_folder(tmp_path / "a", {"d.csv": "x\n1\n"}))
    again = registry.register("prep", "basic", make_folder(tmp_path / "b", {"d.csv": "x\n1\n"}))
    assert again == first
    assert len(registry.list()) == 1
    versions = list((registry.root / "data" / "prep" / "basic").iterdir())
    assert [v.name for v in versions] == ["v1"]


def test_same_content_for_another_case_is_its_own_version_1(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "d.csv", "x\n1\n")
    first = registry.register("prep", "basic", source)
    other = registry.register("prep", "edge", source)
    assert (other.case, other.version, other.sha256) == ("edge", 1, first.sha256)
    assert registry.path(other) != registry.path(first)


def test_changed_content_is_version_2_and_version_1_untouched(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    v1 = registry.register("prep", "basic", source)
    v1_bytes = tree_bytes(registry.path(v1))
    (source / "d.csv").write_text("x\n1\n2\n")
    v2 = registry.register("prep", "basic", source, description="one more row")
    assert v2.version == 2
    assert v2.sha256 != v1.sha256
    assert registry.path(v2) != registry.path(v1)
    assert tree_bytes(registry.path(v1)) == v1_bytes == {"d.csv": b"x\n1\n"}
    assert content_hash(registry.path(v1))[0] == v1.sha256
    assert content_hash(registry.path(v2))[0] == v2.sha256
    assert registry.get("prep", "basic", 1) == v1


def test_going_back_to_old_content_returns_the_old_version(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "d.csv", "first")
    v1 = registry.register("prep", "basic", source)
    source.write_text("second")
    registry.register("prep", "basic", source)
    source.write_text("first")
    assert registry.register("prep", "basic", source) == v1
    assert [e.version for e in registry.list("prep")] == [1, 2]


def test_a_folder_left_by_an_interrupted_registration_is_not_replaced(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    orphan = make_file(registry.root / "data" / "prep" / "basic" / "v1" / "half.csv", "x\n")
    entry = registry.register("prep", "basic", make_file(tmp_path / "d.csv", "x\n1\n"))
    assert entry.version == 2
    assert orphan.read_text() == "x\n"


@pytest.mark.parametrize(
    ("script", "case", "wrong"),
    [("../up", "basic", "script name '../up'"), ("prep", "a/b", "case name 'a/b'"), ("", "c", "")],
)
def test_unsafe_names_are_rejected(
    registry: TestDataRegistry, tmp_path: Path, script: str, case: str, wrong: str
) -> None:
    with pytest.raises(InputError, match="is not allowed; use letters") as caught:
        registry.register(script, case, make_file(tmp_path / "d.csv", "x"))
    assert wrong in str(caught.value)
    assert not (registry.root / "data").exists()


def test_a_missing_source_is_one_line(registry: TestDataRegistry, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        registry.register("prep", "basic", tmp_path / "nope.csv")
    assert str(caught.value) == f"{tmp_path / 'nope.csv'}: no such file or folder to register"


# --- links and containment ------------------------------------------------------------------


def assert_nothing_stored(registry: TestDataRegistry, *refs: str) -> None:
    """Only ``refs`` are listed and stored, and no copy is left in staging."""
    assert [e.ref for e in registry.list()] == list(refs)
    stored = sorted(
        p.relative_to(registry.root / "data") for p in registry.root.glob("data/*/*/v*")
    )
    assert [p.as_posix() for p in stored] == list(refs)
    staging = registry.root / ".staging"
    assert not staging.exists() or not any(staging.iterdir()), "no copy left in staging"


def test_a_symlink_loop_is_refused_not_followed(registry: TestDataRegistry, tmp_path: Path) -> None:
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    (source / "sub").mkdir()
    os.symlink("..", source / "sub" / "loop")
    with pytest.raises(InputError) as caught:
        registry.register("prep", "basic", source)
    assert str(caught.value) == (
        f"{source}: 'sub/loop' is a link to a folder; only files and links to files are stored "
        "(put the folder itself in place of the link)"
    )
    assert_nothing_stored(registry)


def test_a_link_to_another_folder_is_refused(registry: TestDataRegistry, tmp_path: Path) -> None:
    make_folder(tmp_path / "elsewhere", {"big.csv": "x\n1\n"})
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    os.symlink(tmp_path / "elsewhere", source / "shared")
    with pytest.raises(InputError, match="'shared' is a link to a folder"):
        registry.register("prep", "basic", source)
    with pytest.raises(InputError, match="'shared' is a link to a folder"):
        content_hash(source)
    assert_nothing_stored(registry)


def test_a_broken_link_is_refused(registry: TestDataRegistry, tmp_path: Path) -> None:
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    os.symlink(tmp_path / "gone.csv", source / "gone.csv")
    with pytest.raises(InputError, match=r"data: 'gone.csv' is a broken link"):
        registry.register("prep", "basic", source)
    assert_nothing_stored(registry)


def test_a_link_to_a_file_is_stored_as_the_file(registry: TestDataRegistry, tmp_path: Path) -> None:
    target = make_file(tmp_path / "shared" / "labels.csv", "id,label\n1,0\n")
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    os.symlink(target, source / "labels.csv")
    entry = registry.register("prep", "basic", source)
    stored = registry.path(entry) / "labels.csv"
    assert not stored.is_symlink()
    assert stored.read_bytes() == target.read_bytes()
    copied = make_folder(tmp_path / "copied", {"d.csv": "x\n1\n", "labels.csv": "id,label\n1,0\n"})
    assert entry.sha256 == content_hash(copied)[0], "a link hashes as the file's content"
    target.write_text("changed")
    assert stored.read_text() == "id,label\n1,0\n", "the stored copy does not follow the link"


def test_the_source_itself_may_be_a_link(registry: TestDataRegistry, tmp_path: Path) -> None:
    real = make_folder(tmp_path / "real", {"d.csv": "x\n1\n"})
    os.symlink(real, tmp_path / "alias")
    os.symlink(real / "d.csv", tmp_path / "alias.csv")
    folder = registry.register("prep", "folder", tmp_path / "alias")
    file = registry.register("prep", "file", tmp_path / "alias.csv")
    assert tree_bytes(registry.path(folder)) == {"d.csv": b"x\n1\n"}
    assert (folder.kind, file.kind) == ("folder", "file")
    assert registry.path(file).name == "alias.csv"
    assert registry.path(file).read_bytes() == b"x\n1\n"


def test_empty_folders_are_kept(registry: TestDataRegistry, tmp_path: Path) -> None:
    source = make_folder(tmp_path / "data", {"d.csv": "x\n1\n"})
    (source / "empty" / "deeper").mkdir(parents=True)
    entry = registry.register("prep", "basic", source)
    assert (registry.path(entry) / "empty" / "deeper").is_dir()


def test_the_working_folder_holding_the_registry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_file(tmp_path / "d.csv", "x\n1\n")
    registry = TestDataRegistry(Path(".cit/registry"))
    registry.register("prep", "first", Path("d.csv"))
    with pytest.raises(InputError) as caught:
        registry.register("s", "c", Path("."))
    assert str(caught.value) == (
        ".: holds the registry .cit/registry; register a folder that does not contain it"
    )
    assert_nothing_stored(registry, "prep/first/v1")


@pytest.mark.parametrize("source", [".", "registry", "registry/data", "../" + "{name}"])
def test_every_folder_holding_the_registry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    work = tmp_path / "work"
    make_file(work / "d.csv", "x\n1\n")
    monkeypatch.chdir(work)
    registry = TestDataRegistry(work / "registry" / "data" / "inner")
    registry.register("prep", "first", work / "d.csv")
    with pytest.raises(InputError, match="holds the registry"):
        registry.register("s", "c", Path(source.format(name=work.name)))
    assert_nothing_stored(registry, "prep/first/v1")


def test_a_folder_inside_the_registry_may_be_registered(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    first = registry.register("prep", "basic", make_folder(tmp_path / "a", {"d.csv": "1"}))
    again = registry.register("train", "from-prep", registry.path(first))
    assert (again.sha256, again.version) == (first.sha256, 1)


def test_a_failing_copy_leaves_no_staging_garbage(
    registry: TestDataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_folder(tmp_path / "data", {"a.csv": "1", "b.csv": "2", "c.csv": "3"})
    real_copy = shutil.copyfile
    copied: list[str] = []

    def copy_then_fail(src: Path, dst: Path) -> Path:
        if copied:
            raise KeyboardInterrupt
        copied.append(str(src))
        return Path(real_copy(src, dst))

    monkeypatch.setattr(shutil, "copyfile", copy_then_fail)
    with pytest.raises(KeyboardInterrupt):
        registry.register("prep", "basic", source)
    assert len(copied) == 1, "the copy failed half-way"
    assert_nothing_stored(registry)
    monkeypatch.undo()
    assert registry.register("prep", "basic", source).version == 1


def test_a_failing_index_write_leaves_no_staging_garbage(
    registry: TestDataRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cannot_write(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("orchestrator.scripttest.registry.write_json_atomic", cannot_write)
    with pytest.raises(InputError, match=r"index\.json: cannot be written: No space left"):
        registry.register("prep", "basic", make_folder(tmp_path / "a", {"d.csv": "1"}))
    assert_nothing_stored(registry)


# --- list, get, path -------------------------------------------------------------------------


@pytest.fixture
def filled(registry: TestDataRegistry, tmp_path: Path) -> TestDataRegistry:
    source = make_file(tmp_path / "src" / "d.csv", "1")
    registry.register("train", "basic", source)
    registry.register("prep", "basic", source)
    source.write_text("2")
    registry.register("prep", "basic", source)
    registry.register("prep", "edge", source)
    return registry


def test_list_all_and_by_script(filled: TestDataRegistry) -> None:
    refs = [e.ref for e in filled.list()]
    assert refs == ["prep/basic/v1", "prep/basic/v2", "prep/edge/v1", "train/basic/v1"]
    assert [e.ref for e in filled.list("train")] == ["train/basic/v1"]
    assert filled.list("evaluate") == []


def test_get_latest_and_specific(filled: TestDataRegistry) -> None:
    latest = filled.get("prep", "basic")
    assert latest.version == 2
    assert filled.path(latest).read_text() == "2"
    first = filled.get("prep", "basic", 1)
    assert filled.path(first).read_text() == "1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("evaluate", "basic", None),
            "no test data for script 'evaluate'; registered scripts: prep, train",
        ),
        (("prep", "huge", None), "script 'prep' has no test case 'huge'; its cases: basic, edge"),
        (("prep", "basic", 3), "'prep/basic' has no version 3; versions: 1, 2"),
    ],
)
def test_get_unknown_lists_what_exists(
    filled: TestDataRegistry, args: tuple[str, str, int | None], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        filled.get(*args)
    assert str(caught.value) == message


def test_get_from_an_empty_registry(registry: TestDataRegistry) -> None:
    with pytest.raises(InputError, match=r"registered scripts: none$"):
        registry.get("prep", "basic")


def test_index_survives_reopen(filled: TestDataRegistry) -> None:
    reopened = TestDataRegistry(filled.root)
    assert reopened.list() == filled.list()
    data = json.loads((filled.root / "index.json").read_text())
    first = data["entries"][0]
    assert set(first) >= {
        "script",
        "case",
        "version",
        "sha256",
        "files",
        "bytes",
        "created_at",
        "description",
        "source",
    }
    assert TestDataEntry.model_validate(first) == reopened.get("train", "basic")


def test_a_damaged_index_is_one_line(registry: TestDataRegistry) -> None:
    registry.root.mkdir(parents=True)
    (registry.root / "index.json").write_text('{"entries": [{"script": "x"}]}')
    with pytest.raises(InputError, match=r"index.json: registry index is damaged \(entries"):
        registry.list()


def test_path_of_deleted_data_is_an_error(filled: TestDataRegistry) -> None:
    entry = filled.get("train", "basic")
    filled.path(entry).unlink()
    with pytest.raises(InputError, match="the stored data of train/basic/v1 is missing"):
        filled.path(entry)


# --- compatibility ---------------------------------------------------------------------------

SCHEMA = {
    "format": "csv",
    "columns": {"id": {"type": "integer", "nullable": False}, "label": {"allowed": [0, 1]}},
}


def test_find_compatible_keeps_entries_without_errors(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    pytest.importorskip("pyarrow")
    good = make_file(tmp_path / "good" / "d.csv", "id,label\n1,0\n2,1\n")
    bad = make_file(tmp_path / "bad" / "d.csv", "id,label\n1,0\n2,7\n")
    renamed = make_file(tmp_path / "renamed" / "d.csv", "key,label\n1,0\n")
    registry.register("train", "good", good.parent)
    registry.register("train", "bad", bad)
    registry.register("train", "renamed", renamed.parent)
    registry.register("evaluate", "good", good.parent)
    schema = schema_from_data(SCHEMA)
    assert [e.ref for e in registry.find_compatible(schema, "train")] == ["train/good/v1"]
    assert [e.ref for e in registry.find_compatible(schema)] == [
        "evaluate/good/v1",
        "train/good/v1",
    ]
    issues = registry.check_entry(registry.get("train", "bad"), schema)
    assert [i.rule for i in issues if i.is_error] == ["value_not_allowed"]
    issues = registry.check_entry(registry.get("train", "renamed"), schema)
    assert [i.rule for i in issues if i.is_error] == ["missing_column"]


def fake_run(root: Path) -> Path:
    run = root / ".cit" / "runs" / "20240101-000000-abcdef"
    make_folder(
        run / "steps" / "prep" / "outputs" / "processed",
        {"train/part.csv": "id,label\n1,0\n", "val/part.csv": "id,label\n2,1\n"},
    )
    (run / "steps" / "prep" / "outputs" / "empty").mkdir()
    make_file(run / "steps" / "prep" / "schemas" / "processed.json", "{}")
    (run / "steps" / "train" / "outputs").mkdir(parents=True)
    return run


def test_register_run_output(registry: TestDataRegistry, tmp_path: Path) -> None:
    run = fake_run(tmp_path)
    entry = registry.register_run_output(run, "prep", "processed", script="train", case="real")
    assert (entry.script, entry.case, entry.version, entry.files) == ("train", "real", 1, 2)
    assert entry.description == "output 'processed' of step 'prep' in run 20240101-000000-abcdef"
    assert entry.source == str(run / "steps" / "prep" / "outputs" / "processed")
    assert tree_bytes(registry.path(entry)) == {
        "train/part.csv": b"id,label\n1,0\n",
        "val/part.csv": b"id,label\n2,1\n",
    }
    again = registry.register_run_output(run, "prep", "processed", script="train", case="real")
    assert again == entry


@pytest.mark.parametrize(
    ("step", "output", "message"),
    [
        ("split", "processed", "run has no step 'split'; its steps: prep, train"),
        ("prep", "model", "step 'prep' has no output 'model'; its outputs: empty, processed"),
        ("train", "model", "step 'train' has no output 'model'; its outputs: none"),
        ("prep", "empty", "output 'empty' of step 'prep' is empty"),
    ],
)
def test_register_run_output_errors(
    registry: TestDataRegistry, tmp_path: Path, step: str, output: str, message: str
) -> None:
    run = fake_run(tmp_path)
    with pytest.raises(InputError) as caught:
        registry.register_run_output(run, step, output, script="train", case="real")
    assert str(caught.value).endswith(message)
    assert registry.list() == []


def test_register_run_output_of_a_missing_run(registry: TestDataRegistry, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such run directory"):
        registry.register_run_output(tmp_path / "nope", "prep", "x", script="a", case="b")


# --- edges of a pipeline --------------------------------------------------------------------

EDGE_FILES = {
    "scripts/prep.py": "print('prep')\n",
    "scripts/use.py": "print('use')\n",
    "data/raw.csv": "id,label\n1,0\n",
    "contracts/prep.yaml": """
        entry_point: prep.py
        expected_input_paths: {raw: /opt/ml/processing/input/raw}
        expected_output_paths: {out: /opt/ml/processing/output/out}
        """,
    "contracts/use.yaml": """
        entry_point: use.py
        expected_input_paths: {data: /opt/ml/processing/input/data}
        expected_output_paths: {scores: /opt/ml/processing/output/scores}
        input_schemas: {data: ../schemas/in.yaml}
        """,
    "contracts/plain.yaml": """
        entry_point: use.py
        expected_input_paths: {data: /opt/ml/processing/input/data}
        expected_output_paths: {scores: /opt/ml/processing/output/scores}
        """,
    "schemas/in.yaml": """
        format: csv
        columns:
          id: {type: integer, nullable: false}
          label: {allowed: [0, 1]}
        """,
    "flow.yaml": """
        name: flow
        steps:
          prep: {kind: processing, script: scripts/prep.py, contract: contracts/prep.yaml,
                 inputs: {raw: data}}
          use: {kind: processing, script: scripts/use.py, contract: contracts/use.yaml,
                inputs: {data: {step: prep, output: out}}}
          side: {kind: processing, script: scripts/use.py, outputs: [other],
                 inputs: {data: {step: prep, output: out}}}
          plain: {kind: processing, script: scripts/use.py, contract: contracts/plain.yaml,
                  inputs: {data: {step: prep, output: out}}}
        """,
}
GOOD = "id,label\n1,0\n2,1\n"
BAD = "id,label\n1,0\n2,7\n"


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    """prep → use (contract with an input schema), prep → side (no contract), prep → plain
    (a contract without input schemas)."""
    for name, text in EDGE_FILES.items():
        make_file(tmp_path / "project" / name, textwrap.dedent(text).lstrip())
    return load_and_validate(tmp_path / "project" / "flow.yaml")


def edge_run(root: Path, out: str | None) -> Path:
    """A run directory in which prep wrote ``out`` to its output ``out`` (nothing: None)."""
    run = root / "runs" / "20240102-030405-fedcba"
    outputs = run / "steps" / "prep" / "outputs"
    outputs.mkdir(parents=True)
    if out is not None:
        make_file(outputs / "out" / "data.csv", out)
    return run


def test_for_edge_returns_the_consumers_compatible_data(
    registry: TestDataRegistry, tmp_path: Path, pipeline: Pipeline
) -> None:
    registry.register("use", "good", make_file(tmp_path / "good" / "d.csv", GOOD).parent)
    registry.register("use", "bad", make_file(tmp_path / "bad" / "d.csv", BAD))
    registry.register("side", "good", tmp_path / "good")
    assert [e.ref for e in registry.for_edge(pipeline, "use", "data")] == ["use/good/v1"]
    assert len(registry.list()) == 3, "nothing registered without a run"


def test_for_edge_registers_the_producers_output_of_a_run(
    registry: TestDataRegistry, tmp_path: Path, pipeline: Pipeline
) -> None:
    registry.register("use", "bad", make_file(tmp_path / "bad" / "d.csv", BAD))
    run = edge_run(tmp_path, GOOD)
    found = registry.for_edge(pipeline, "use", "data", run_dir=run)
    assert [e.ref for e in found] == ["use/prep.out/v1"]
    entry = found[0]
    assert entry.source == str(run / "steps" / "prep" / "outputs" / "out")
    assert entry.description == f"output 'out' of step 'prep' in run {run.name}"
    assert tree_bytes(registry.path(entry)) == {"data.csv": GOOD.encode()}
    assert registry.for_edge(pipeline, "use", "data", run_dir=run) == found, "no second copy"
    assert [e.ref for e in registry.list()] == ["use/bad/v1", "use/prep.out/v1"]


def test_for_edge_keeps_an_incompatible_real_output_out_of_the_answer(
    registry: TestDataRegistry, tmp_path: Path, pipeline: Pipeline
) -> None:
    run = edge_run(tmp_path, BAD)
    assert registry.for_edge(pipeline, "use", "data", run_dir=run) == []
    contract = pipeline.steps["use"].contract
    assert contract is not None
    issues = registry.check_entry(registry.get("use", "prep.out"), contract.input_schemas["data"])
    assert [i.rule for i in issues if i.is_error] == ["value_not_allowed"]


@pytest.mark.parametrize("out", [None, ""])
def test_for_edge_with_a_run_the_producer_wrote_nothing_in(
    registry: TestDataRegistry, tmp_path: Path, pipeline: Pipeline, out: str | None
) -> None:
    registry.register("use", "good", make_file(tmp_path / "good" / "d.csv", GOOD))
    run = edge_run(tmp_path, out)
    if out == "":
        (run / "steps" / "prep" / "outputs" / "out" / "data.csv").unlink()
    found = registry.for_edge(pipeline, "use", "data", run_dir=run)
    assert [e.ref for e in found] == ["use/good/v1"]
    assert [e.ref for e in registry.list()] == ["use/good/v1"]


def test_for_edge_with_a_missing_run_directory(
    registry: TestDataRegistry, tmp_path: Path, pipeline: Pipeline
) -> None:
    with pytest.raises(InputError) as caught:
        registry.for_edge(pipeline, "use", "data", run_dir=tmp_path / "nope")
    assert str(caught.value) == f"{tmp_path / 'nope'}: no such run directory"


@pytest.mark.parametrize(
    ("consumer", "input_name", "message"),
    [
        ("score", "data", "pipeline 'flow' has no step 'score'; its steps: plain, prep, side, use"),
        ("use", "raw", "step 'use' has no input 'raw'; its inputs: data"),
        (
            "prep",
            "raw",
            "input 'raw' of step 'prep' reads the local path {project}/data, not a step's "
            "output; find_compatible(schema) checks data without an edge",
        ),
        (
            "side",
            "data",
            "step 'side' has no contract, so input 'data' has no schema to check data against; "
            "list('side') gives all its data",
        ),
        (
            "plain",
            "data",
            "{project}/contracts/plain.yaml: the contract of step 'plain' declares no schema for "
            "input 'data' (input_schemas.data); list('plain') gives all its data",
        ),
    ],
)
def test_for_edge_errors_are_one_line_and_register_nothing(
    registry: TestDataRegistry,
    tmp_path: Path,
    pipeline: Pipeline,
    consumer: str,
    input_name: str,
    message: str,
) -> None:
    run = edge_run(tmp_path, GOOD)
    with pytest.raises(InputError) as caught:
        registry.for_edge(pipeline, consumer, input_name, run_dir=run)
    assert str(caught.value) == message.format(project=tmp_path / "project")
    assert registry.list() == []


# --- scenarios -------------------------------------------------------------------------------


def test_load_scenarios(registry: TestDataRegistry, tmp_path: Path) -> None:
    make_folder(tmp_path / "cases" / "small", {"d.csv": "x\n1\n"})
    make_file(tmp_path / "cases" / "one.csv", "x\n2\n")
    path = make_file(
        tmp_path / "cases" / "scenarios.yaml",
        """\
scenarios:
  - name: small_batch
    script: prep
    data: small
    description: one row
  - name: single
    script: train
    case: edge
    data: one.csv
""",
    )
    scenarios = registry.load_scenarios(path)
    assert [(s.name, s.script, s.case) for s in scenarios] == [
        ("small_batch", "prep", "small_batch"),
        ("single", "train", "edge"),
    ]
    assert scenarios[0].data == tmp_path / "cases" / "small"
    assert scenarios[0].entry == registry.get("prep", "small_batch")
    assert scenarios[0].entry.description == "one row"
    assert registry.path(scenarios[1].entry).read_text() == "x\n2\n"
    assert registry.load_scenarios(path) == scenarios


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]\n", "a scenarios file is a mapping with 'scenarios'"),
        ("scenario: []\n", "scenario: unknown field 'scenario' (did you mean 'scenarios'?)"),
        ("scenarios: []\n", "scenarios: must be a non-empty list of scenarios"),
        ("scenarios: [x]\n", "scenarios.0: must be a mapping of name, script, case, data"),
        (
            "scenarios: [{name: a, script: p, data: d.csv, descr: x}]\n",
            "scenarios.0.descr: unknown field 'descr' (did you mean 'description'?)",
        ),
        ("scenarios: [{name: a, data: d.csv}]\n", "scenarios.0.script: is required"),
        ("scenarios: [{name: a, script: 3, data: d.csv}]\n", "scenarios.0.script: must be text"),
        (
            "scenarios: [{name: a, script: p, case: ../x, data: d.csv}]\n",
            "scenarios.0.case: '../x' is not allowed",
        ),
        ("scenarios: [{name: a, script: p, data: gone.csv}]\n", "scenarios.0.data: no such file"),
        (
            "scenarios: [{name: a, script: p, data: d.csv}, {name: a, script: q, data: d.csv}]\n",
            "scenarios.1.name: 'a' is given twice",
        ),
        ("scenarios: [{name: a, name: b}]\n", "duplicate key 'name'"),
    ],
)
def test_bad_scenarios_are_one_line_and_register_nothing(
    registry: TestDataRegistry, tmp_path: Path, text: str, message: str
) -> None:
    make_file(tmp_path / "d.csv", "x\n1\n")
    path = make_file(tmp_path / "scenarios.yaml", text)
    with pytest.raises(InputError) as caught:
        registry.load_scenarios(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert registry.list() == []


def test_a_missing_scenarios_file(registry: TestDataRegistry, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such scenarios file"):
        registry.load_scenarios(tmp_path / "nope.yaml")


# --- concurrency -----------------------------------------------------------------------------


def test_concurrent_registrations_get_distinct_versions(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    count = 12
    sources = [
        make_folder(tmp_path / f"src{i}", {"d.csv": f"x\n{i}\n", "sub/n.txt": str(i) * 1000})
        for i in range(count)
    ]
    results: list[TestDataEntry] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def work(source: Path) -> None:
        try:
            barrier.wait()
            # Each thread has its own registry object, as separate processes would.
            results.append(TestDataRegistry(registry.root).register("prep", "basic", source))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(e.version for e in results) == list(range(1, count + 1))
    listed = TestDataRegistry(registry.root).list()
    assert sorted(listed, key=lambda e: e.version) == sorted(results, key=lambda e: e.version)
    for entry in listed:
        stored = registry.path(entry)
        assert content_hash(stored)[0] == entry.sha256
        number = (stored / "d.csv").read_text().split("\n")[1]
        assert entry.source == str(tmp_path / f"src{number}")
    assert not any((registry.root / ".staging").iterdir())


def test_concurrent_registrations_of_the_same_content_store_one_copy(
    registry: TestDataRegistry, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "d.csv", "x\n1\n" * 1000)
    results: list[TestDataEntry] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(TestDataRegistry(registry.root).register("prep", "basic", source))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert {e.version for e in results} == {1}
    assert len(registry.list()) == 1
    digest = hashlib.sha256(b"d.csv\x00" + b"4000\x00" + source.read_bytes()).hexdigest()
    assert results[0].sha256 == digest

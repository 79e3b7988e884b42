"""Which files are tables: one answer for capture, data-quality checks and script tests."""

from __future__ import annotations

import gzip
import json
import os
import textwrap
from pathlib import Path

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.data.capture import capture_output
from orchestrator.data.quality import read_dataset, read_head
from orchestrator.data.tables import TableKind, holds_table, table_files, table_kind, table_of
from orchestrator.errors import InputError
from orchestrator.run.context import RunContext
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.cases import load_test_cases
from orchestrator.scripttest.runner import resolve_step, run_script_tests


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.csv", TableKind("csv", None)),
        ("A.TSV.GZ", TableKind("tsv", "gzip")),
        ("part.parquet", TableKind("parquet", None)),
        ("part.pq", TableKind("parquet", None)),
        ("part.parquet.gz", None),
        ("rows.ndjson.zst", TableKind("jsonl", "zstd")),
        ("rows.json.bz2", TableKind("json", "bz2")),
        ("model.tar.gz", None),
        ("notes.txt", None),
        (".csv", None),
    ],
)
def test_table_kind_by_name(name: str, kind: TableKind | None) -> None:
    assert table_kind(name) == kind


def test_a_json_file_is_a_table_only_when_it_holds_an_array_of_objects(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"auc": 0.9}))
    (tmp_path / "rows.json").write_text(json.dumps([{"a": 1}]))
    (tmp_path / "empty.json").write_text("[]")
    (tmp_path / "numbers.json").write_text("[1, 2]")
    (tmp_path / "rows.json.gz").write_bytes(gzip.compress(b' [ {"a": 2}]'))
    tables = {e.rel for e in table_files(tmp_path)}
    assert tables == {"rows.json", "empty.json", "rows.json.gz"}
    assert table_of(tmp_path / "metrics.json") is None


def test_capture_and_data_quality_agree_on_a_folder_holding_only_metrics(tmp_path: Path) -> None:
    out = tmp_path / "metrics"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps({"auc": 0.9}))
    assert capture_output("metrics", out).datasets == []
    assert not holds_table(out)
    with pytest.raises(InputError, match="holds no table files"):
        read_dataset(out)


def test_links_are_not_tables(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("secret\nvalue\n")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "0.csv")
    (out / "1.csv").write_text("a\n1\n")
    assert [e.rel for e in table_files(out)] == ["1.csv"]
    assert read_head(out, 5).column_names == ["a"]
    assert read_dataset(out).num_rows == 1


SCRIPT = """
METRICS = "/opt/ml/processing/output/metrics/metrics.json"
SCORES = "/opt/ml/processing/output/scores/scores.csv"
"""
CASES = """
test_cases:
  - name: quality
    input_data: {test: data}
    data_quality_assertions:
      - {check: row_count, min: 2}
  - name: named-metrics
    input_data: {test: data}
    data_quality_assertions:
      - {check: row_count, min: 2, output: metrics}
"""


def test_a_check_without_output_reads_the_outputs_that_hold_tables(tmp_path: Path) -> None:
    """An output holding only metrics.json is no table: it is not checked (it failed the
    check as 'holds no table files' while capture called it no table)."""
    (tmp_path / "score.py").write_text(SCRIPT)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.csv").write_text("id\n1\n2\n")
    (tmp_path / "cases.yaml").write_text(textwrap.dedent(CASES))
    out = "/opt/ml/processing/output"
    behaviour = FakeBehaviour(
        writes={
            f"{out}/metrics/metrics.json": json.dumps({"auc": 0.9}),
            f"{out}/scores/scores.csv": "id,score\n1,0.1\n2,0.2\n",
        }
    )
    engine = FakeEngine({"score": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})
    step, source = resolve_step(str(tmp_path / "score.py"))
    assert set(step.outputs) == {"metrics", "scores"}
    cases = load_test_cases(tmp_path / "cases.yaml").test_cases
    settings = RunSettings(cit_dir=tmp_path / ".cit", max_workers=1, user=None)
    result = run_script_tests(
        step, cases, RunContext(engine=engine, settings=settings), source_file=source
    )
    quality, named = result.test_results
    assert quality.passed, quality.failures
    [failure] = named.failures
    assert failure.message.startswith("row_count: output 'metrics' holds no table (.csv")

"""Static scan of script sources: /opt/ml paths, environment reads, argparse options."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import CitError
from orchestrator.pipeline.source_scan import (
    ArgumentUse,
    EnvRead,
    PathUse,
    ScriptScanError,
    ScriptUsage,
    scan_script,
    scan_source,
)


def scan(source: str) -> ScriptUsage:
    return scan_source(textwrap.dedent(source).lstrip())


def paths(source: str) -> list[tuple[str, bool]]:
    return [(use.path, use.exact) for use in scan(source).paths]


def env(source: str) -> list[tuple[str, bool, bool]]:
    return [(read.name, read.has_default, read.required) for read in scan(source).env]


# --- paths -----------------------------------------------------------------------------------


def test_plain_literals_are_exact_and_normalised() -> None:
    usage = scan(
        """
        TRAIN = "/opt/ml/processing/output/train/"
        open("/opt/ml//processing/input/data/raw.csv")
        """
    )
    assert usage.paths == (
        PathUse("/opt/ml/processing/output/train", 1, True),
        PathUse("/opt/ml/processing/input/data/raw.csv", 2, True),
    )


def test_other_strings_are_not_paths() -> None:
    assert paths('a = "/tmp/x"\nb = "/opt/mlflow/x"\nc = "opt/ml/x"\nd = "see /opt/ml"\n') == []


def test_join_with_a_runtime_part_gives_the_known_start() -> None:
    source = """
        import os
        import posixpath
        a = os.path.join("/opt/ml/processing/output", name)
        b = posixpath.join("/opt/ml/processing/input", "data", channel, "x.csv")
        c = os.path.join("/opt/ml/model", "model.pkl")
        """
    assert paths(source) == [
        ("/opt/ml/processing/output", False),
        ("/opt/ml/processing/input/data", False),
        ("/opt/ml/model/model.pkl", True),
    ]


def test_join_restarts_at_an_absolute_part() -> None:
    source = "import os\na = os.path.join('/opt/ml/code', '/opt/ml/model', 'm.pkl')\n"
    assert paths(source) == [("/opt/ml/model/m.pkl", True)]


def test_join_imported_under_other_names() -> None:
    source = """
        import os.path as osp
        from os.path import join
        a = osp.join("/opt/ml/a", "b")
        b = join("/opt/ml/c", x)
        """
    assert paths(source) == [("/opt/ml/a/b", True), ("/opt/ml/c", False)]


def test_fstrings() -> None:
    source = """
        a = f"/opt/ml/processing/input/{channel}"
        b = f"/opt/ml/processing/output"
        c = f"{root}/opt/ml/not-a-start"
        """
    assert paths(source) == [
        ("/opt/ml/processing/input", False),
        ("/opt/ml/processing/output", True),
    ]


def test_concatenation_percent_and_format_are_not_exact() -> None:
    source = """
        a = "/opt/ml/processing/output/" + name
        b = "/opt/ml/processing/input/%s/data" % channel
        c = "/opt/ml/processing/input/{}/data".format(channel)
        d = "/opt/ml/processing/" + "output"
        """
    assert paths(source) == [
        ("/opt/ml/processing/output", False),
        ("/opt/ml/processing/input", False),
        ("/opt/ml/processing/input", False),
        ("/opt/ml/processing/output", True),
    ]


def test_pathlib_division_and_joinpath() -> None:
    source = """
        from pathlib import Path
        a = Path("/opt/ml/model") / name
        b = Path("/opt/ml/model") / "model.pkl"
        c = Path("/opt/ml/output").joinpath("data", name)
        d = Path("/opt/ml/input/config")
        """
    assert paths(source) == [
        ("/opt/ml/model", False),
        ("/opt/ml/model/model.pkl", True),
        ("/opt/ml/output/data", False),
        ("/opt/ml/input/config", True),
    ]


def test_constant_names_are_followed() -> None:
    usage = scan(
        """
        import os
        from pathlib import Path
        BASE = "/opt/ml/processing"
        OUT = "output"
        a = os.path.join(BASE, OUT, "train")
        b = os.path.join(BASE, "input", channel)
        c = Path(BASE) / "output" / "train"
        d = f"{BASE}/output"
        def main():
            model_dir = "/opt/ml/model"
            return os.path.join(model_dir, "model.pkl")
        """
    )
    assert usage.paths == (
        PathUse("/opt/ml/processing", 3, True),
        PathUse("/opt/ml/processing/output/train", 5, True),
        PathUse("/opt/ml/processing/input", 6, False),
        PathUse("/opt/ml/processing/output/train", 7, True),
        PathUse("/opt/ml/processing/output", 8, True),
        PathUse("/opt/ml/model", 10, True),
        PathUse("/opt/ml/model/model.pkl", 11, True),
    )


def test_names_built_from_constants_are_followed() -> None:
    source = """
        import os
        BASE = "/opt/ml/processing"
        OUTPUT = os.path.join(BASE, "output")
        TRAIN = OUTPUT + "/train"
        open(os.path.join(TRAIN, "part.csv"))
        """
    assert paths(source) == [
        ("/opt/ml/processing", True),
        ("/opt/ml/processing/output", True),
        ("/opt/ml/processing/output/train", True),
        ("/opt/ml/processing/output/train/part.csv", True),
    ]


def test_names_with_two_different_values_are_not_followed() -> None:
    usage = scan(
        """
        import os
        BASE = "/opt/ml/processing/input"
        if test:
            BASE = "/opt/ml/processing/output"
        a = os.path.join(BASE, "data")
        """
    )
    assert [use.line for use in usage.paths] == [2, 4]


def test_names_bound_twice_to_the_same_value_are_followed() -> None:
    source = """
        import os
        BASE = "/opt/ml/model"
        BASE = "/opt/ml/model"
        a = os.path.join(BASE, "m.pkl")
        """
    assert ("/opt/ml/model/m.pkl", True) in paths(source)


def test_names_bound_other_ways_are_not_followed() -> None:
    source = """
        import os
        BASE = "/opt/ml/a"
        for BASE in others:
            pass
        def f(ROOT):
            return os.path.join(ROOT, "x"), os.path.join(BASE, "y")
        ROOT = "/opt/ml/b"
        """
    assert paths(source) == [("/opt/ml/a", True), ("/opt/ml/b", True)]


def test_identical_findings_on_one_line_are_kept_once() -> None:
    usage = scan('copy("/opt/ml/a", "/opt/ml/a"); open("/opt/ml/a/")\n')
    assert usage.paths == (PathUse("/opt/ml/a", 1, True),)


def test_inner_literals_of_an_unknown_expression_are_still_found() -> None:
    source = """
        import os
        a = os.path.join(root, "/opt/ml/x")
        b = os.path.join(BASE, helper("/opt/ml/y"))
        """
    assert paths(source) == [("/opt/ml/x", True), ("/opt/ml/y", True)]


# --- environment -----------------------------------------------------------------------------


def test_environ_subscript_is_required() -> None:
    usage = scan("import os\nratio = float(os.environ['TRAIN_RATIO'])\n")
    assert usage.env == (EnvRead("TRAIN_RATIO", 2, has_default=False, required=True),)
    assert usage.dynamic_env is False


def test_get_and_getenv_with_and_without_default() -> None:
    source = """
        import os
        a = os.environ.get("A")
        b = os.environ.get("B", "x")
        c = os.getenv("C")
        d = os.getenv("D", default="1")
        e = os.getenv("E", None)
        """
    assert env(source) == [
        ("A", False, False),
        ("B", True, False),
        ("C", False, False),
        ("D", True, False),
        ("E", False, False),
    ]


def test_pop_setdefault_and_membership() -> None:
    source = """
        import os
        a = os.environ.pop("A")
        b = os.environ.pop("B", "x")
        c = os.environ.setdefault("C", "1")
        if "D" in os.environ and "E" not in os.environ:
            pass
        """
    assert env(source) == [
        ("A", False, True),
        ("B", True, False),
        ("C", True, False),
        ("D", True, False),
        ("E", True, False),
    ]


def test_import_aliases() -> None:
    source = """
        import os as o
        from os import environ, getenv as ge
        from os import environ as E
        a = o.environ["A"]
        b = environ["B"]
        c = ge("C", "x")
        d = E.get("D")
        e = o.getenv("E")
        """
    assert env(source) == [
        ("A", False, True),
        ("B", False, True),
        ("C", True, False),
        ("D", False, False),
        ("E", False, False),
    ]


def test_other_mappings_named_environ_are_not_env_reads() -> None:
    usage = scan("environ = {}\na = environ['A']\nb = config.environ['B']\nc = getenv('C')\n")
    assert usage.env == ()
    assert usage.dynamic_env is False


def test_constant_names_of_variables_are_followed() -> None:
    usage = scan("import os\nKEY = 'LABEL_FIELD'\nlabel = os.environ[KEY]\n")
    assert usage.env == (EnvRead("LABEL_FIELD", 3, False, True),)
    assert usage.dynamic_env is False


def test_writes_are_not_reads() -> None:
    usage = scan(
        """
        import os
        os.environ["A"] = "1"
        del os.environ["B"]
        os.environ.update({"C": "2"})
        """
    )
    assert usage.env == ()
    assert usage.dynamic_env is False


@pytest.mark.parametrize(
    "line",
    [
        "v = os.environ[name]",
        "v = os.environ.get(prefix + 'X')",
        "v = os.getenv(f'{prefix}_X')",
        "v = os.environ.get()",
        "for k in os.environ: pass",
        "for k, v in os.environ.items(): pass",
        "keys = list(os.environ.keys())",
        "env = dict(os.environ)",
        "env = os.environ.copy()",
        "env = {**os.environ}",
        "subprocess.run(cmd, env=os.environ)",
        "read = os.getenv",
        "if name in os.environ: pass",
    ],
)
def test_computed_names_and_whole_mapping_uses_are_dynamic(line: str) -> None:
    usage = scan(f"import os\nimport subprocess\n{line}\n")
    assert usage.dynamic_env is True
    assert usage.env == ()


def test_literal_reads_are_kept_when_others_are_dynamic() -> None:
    usage = scan("import os\nenv = dict(os.environ)\nx = os.environ['X']\n")
    assert usage.dynamic_env is True
    assert [read.name for read in usage.env] == ["X"]


# --- argparse --------------------------------------------------------------------------------


def test_option_names_and_required() -> None:
    usage = scan(
        """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--job-type", "-j", required=True)
        parser.add_argument("-r", "--ratio", type=float, default=0.2)
        parser.add_argument("-v", action="store_true")
        """
    )
    assert usage.arguments == (
        ArgumentUse("job-type", 3, required=True, default=None, positional=False),
        ArgumentUse("ratio", 4, required=False, default="0.2", positional=False),
        ArgumentUse("v", 5, required=False, default=None, positional=False),
    )


def test_positionals() -> None:
    usage = scan(
        """
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("input")
        p.add_argument("output", nargs="?", default="out")
        p.add_argument("files", nargs="*")
        p.add_argument("more", nargs="+")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        """
    )
    assert [(a.name, a.required, a.default, a.positional) for a in usage.arguments] == [
        ("input", True, None, True),
        ("output", False, "out", True),
        ("files", False, None, True),
        ("more", True, None, True),
        ("rest", False, None, True),
    ]


def test_defaults() -> None:
    usage = scan(
        """
        import argparse
        BASE = "/opt/ml/processing/input"
        p = argparse.ArgumentParser()
        p.add_argument("--a", default=None)
        p.add_argument("--b", default=[1, 2])
        p.add_argument("--c", default=compute())
        p.add_argument("--d", default=BASE)
        p.add_argument("--e", default=False)
        """
    )
    assert [(a.name, a.default) for a in usage.arguments] == [
        ("a", None),
        ("b", "[1, 2]"),
        ("c", None),
        ("d", "/opt/ml/processing/input"),
        ("e", "False"),
    ]


def test_groups_count_and_non_literal_names_do_not() -> None:
    usage = scan(
        """
        group = parser.add_argument_group("io")
        group.add_argument("--input-dir")
        parser.add_argument(*flags)
        parser.add_argument(name, required=True)
        """
    )
    assert [(a.name, a.line) for a in usage.arguments] == [("input-dir", 2)]


def test_results_are_sorted_by_line_then_name() -> None:
    usage = scan(
        """
        import os
        b, a = os.environ["B"], os.environ["A"]
        c = os.environ["C"]
        x = ("/opt/ml/z", "/opt/ml/y")
        """
    )
    assert [(r.line, r.name) for r in usage.env] == [(2, "A"), (2, "B"), (3, "C")]
    assert [p.path for p in usage.paths] == ["/opt/ml/y", "/opt/ml/z"]


# --- files and errors ------------------------------------------------------------------------


def test_scan_script_reads_a_file(tmp_path: Path) -> None:
    script = tmp_path / "prep.py"
    script.write_text("import os\nout = os.path.join('/opt/ml/processing/output', 'train')\n")
    usage = scan_script(script)
    assert usage.file == script
    assert usage.paths == (PathUse("/opt/ml/processing/output/train", 2, True),)


def test_scan_script_honours_a_coding_line(tmp_path: Path) -> None:
    script = tmp_path / "latin.py"
    script.write_bytes(b"# -*- coding: latin-1 -*-\nimport os\nx = os.environ['CAF\xc9']\n")
    assert [read.name for read in scan_script(script).env] == ["CAFÉ"]


def test_bad_encoding_names_file_and_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_bytes(b"import os\n\nx = '\xff\xfe'\n")
    with pytest.raises(ScriptScanError, match=r"bad\.py: line 3: not valid utf-8 text"):
        scan_script(script)


def test_bad_encoding_on_the_first_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_bytes(b"x = '\xff'\n")
    with pytest.raises(ScriptScanError, match=r"bad\.py: "):
        scan_script(script)


def test_unknown_coding_line(tmp_path: Path) -> None:
    script = tmp_path / "odd.py"
    script.write_bytes(b"# coding: no-such-codec\nx = 1\n")
    with pytest.raises(ScriptScanError, match=r"odd\.py: cannot decode: unknown encoding"):
        scan_script(script)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptScanError, match=r"missing\.py: cannot read"):
        scan_script(tmp_path / "missing.py")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("import os\n\ndef main(:\n    pass\n")
    with pytest.raises(ScriptScanError, match=r"broken\.py: line 3: syntax error: ") as caught:
        scan_script(script)
    assert isinstance(caught.value, CitError)


def test_syntax_error_in_source_text() -> None:
    with pytest.raises(ScriptScanError, match=r"^job\.py: line 1: syntax error"):
        scan_source("x = = 1\n", Path("job.py"))


# --- a whole script --------------------------------------------------------------------------

CURSUS_SCRIPT = """
import argparse
import os
import sys
from pathlib import Path

import pandas as pd

LABEL_DEFAULT = "label"


def main(input_paths, output_paths, environ_vars, job_args):
    label = environ_vars.get("LABEL_FIELD") or LABEL_DEFAULT
    ratio = float(environ_vars["TRAIN_RATIO"])
    data = pd.read_csv(os.path.join(input_paths["data_input"], "data.csv"))
    for split in ("train", "test"):
        out = Path(output_paths["processed_data"]) / split
        out.mkdir(parents=True, exist_ok=True)
        data.to_csv(out / f"{split}_processed_data.csv")
    return label, ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-type", type=str, required=True)
    args = parser.parse_args()
    input_paths = {
        "data_input": "/opt/ml/processing/input/data",
        "metadata": "/opt/ml/processing/input/metadata/",
    }
    output_paths = {"processed_data": "/opt/ml/processing/output"}
    environ_vars = {
        "LABEL_FIELD": os.environ.get("LABEL_FIELD"),
        "TRAIN_RATIO": os.environ["TRAIN_RATIO"],
    }
    try:
        main(input_paths, output_paths, environ_vars, args)
    except Exception:
        sys.exit(1)
"""


def test_cursus_style_script() -> None:
    usage = scan_source(CURSUS_SCRIPT.lstrip(), Path("scripts/preprocess.py"))
    assert usage.file == Path("scripts/preprocess.py")
    assert usage.paths == (
        PathUse("/opt/ml/processing/input/data", 27, True),
        PathUse("/opt/ml/processing/input/metadata", 28, True),
        PathUse("/opt/ml/processing/output", 30, True),
    )
    assert usage.env == (
        EnvRead("LABEL_FIELD", 32, has_default=False, required=False),
        EnvRead("TRAIN_RATIO", 33, has_default=False, required=True),
    )
    assert usage.arguments == (
        ArgumentUse("job-type", 24, required=True, default=None, positional=False),
    )
    assert usage.dynamic_env is False

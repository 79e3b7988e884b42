"""``validate_contracts``: each step against its contract and its script's source, and each
edge's declared schemas against each other, on small pipelines written to a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.dataflow.contract_check import CONTRACT_RULES, ContractReport, ContractRule
from orchestrator.dataflow.contract_check import validate_contracts as check_pipeline
from orchestrator.issues import Issue, Severity
from orchestrator.run.pipeline_run import load_and_validate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"

PREP_SCRIPT = """
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--ratio", default="0.5")
args = parser.parse_args()
label = os.environ["LABEL"]
host = os.environ.get("SM_CURRENT_HOST", "algo-1")
rows = open("/opt/ml/processing/input/raw/data.csv").read()
open("/opt/ml/processing/output/out/data.csv", "w").write(rows)
"""

USE_SCRIPT = """
rows = open("/opt/ml/processing/input/data/data.csv").read()
"""

PREP_CONTRACT = """
entry_point: prep.py
expected_input_paths: {raw: /opt/ml/processing/input/raw}
expected_output_paths: {out: /opt/ml/processing/output/out}
required_env_vars: [LABEL]
expected_arguments: {ratio: "0.5"}
output_schemas: {out: ../schemas/out.yaml}
"""

USE_CONTRACT = """
entry_point: use.py
expected_input_paths: {data: /opt/ml/processing/input/data}
input_schemas: {data: ../schemas/in.yaml}
"""

SCHEMA = """
format: csv
columns: {id: integer, label: integer}
"""

PIPELINE = """
name: small
steps:
  prep:
    kind: processing
    script: scripts/prep.py
    contract: contracts/prep.yaml
    inputs: {raw: data}
    env: {LABEL: label}
    arguments: ["--ratio", "0.5"]
  use:
    kind: processing
    script: scripts/use.py
    contract: contracts/use.yaml
    inputs: {data: {step: prep, output: out}}
"""

BASE = {
    "scripts/prep.py": PREP_SCRIPT,
    "scripts/use.py": USE_SCRIPT,
    "contracts/prep.yaml": PREP_CONTRACT,
    "contracts/use.yaml": USE_CONTRACT,
    "schemas/out.yaml": SCHEMA,
    "schemas/in.yaml": SCHEMA,
    "pipeline.yaml": PIPELINE,
}


def make(folder: Path, changed: dict[str, str] | None = None) -> Path:
    """The base pipeline written to ``folder``, with the files in ``changed`` replaced."""
    files = {**BASE, **(changed or {})}
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "data.csv").write_text("id,label\n1,0\n")
    return folder / "pipeline.yaml"


def check(file: Path) -> ContractReport:
    return check_pipeline(load_and_validate(file), file)


def only(report: ContractReport, rule: str) -> Issue:
    """The single issue of ``rule``; fails when there is none or more than one."""
    found = [i for i in report.issues if i.rule == rule]
    assert len(found) == 1, report.issues
    return found[0]


def mentioning(report: ContractReport, word: str) -> Issue:
    """The single issue whose description names ``word``."""
    found = [i for i in report.issues if word in i.description]
    assert len(found) == 1, report.issues
    return found[0]


def rules(report: ContractReport) -> set[str]:
    return {i.rule for i in report.issues}


def same_file(reported: str | None, expected: Path) -> bool:
    return reported is not None and Path(reported).resolve() == expected.resolve()


def test_clean_pipeline_has_no_issues(tmp_path: Path) -> None:
    report = check(make(tmp_path))
    assert report.issues == []
    assert report.ok and report.exit_code == 0
    assert report.checked == ["prep", "use"] and report.without_contract == []


def test_step_without_contract_is_listed_not_checked(tmp_path: Path) -> None:
    text = PIPELINE.replace("    contract: contracts/use.yaml\n", "")
    report = check(make(tmp_path, {"pipeline.yaml": text}))
    assert report.checked == ["prep"] and report.without_contract == ["use"]
    assert report.issues == []


def test_required_env_var_missing_from_the_step(tmp_path: Path) -> None:
    report = check(make(tmp_path, {"pipeline.yaml": PIPELINE.replace("{LABEL: label}", "{}")}))
    issue = only(report, ContractRule.MISSING_ENV_VAR)
    assert issue.severity is Severity.ERROR and issue.step == "prep"
    assert "LABEL" in issue.description and issue.hint and "LABEL" in issue.hint
    assert same_file(issue.file, tmp_path / "contracts/prep.yaml")
    assert not report.ok and report.exit_code == 1


def test_script_reading_an_undeclared_env_var(tmp_path: Path) -> None:
    script = PREP_SCRIPT + 'secret = os.environ["SECRET"]\nmode = os.getenv("MODE", "fast")\n'
    report = check(make(tmp_path, {"scripts/prep.py": script}))
    assert rules(report) == {ContractRule.UNDECLARED_ENV_VAR}, report.issues
    secret, mode = mentioning(report, "SECRET"), mentioning(report, "MODE")
    assert secret.severity is Severity.ERROR and mode.severity is Severity.WARNING
    lines = textwrap.dedent(script).lstrip().splitlines()
    assert secret.line is not None and "SECRET" in lines[secret.line - 1]
    assert mode.line is not None and "MODE" in lines[mode.line - 1]
    for issue in (secret, mode):
        assert issue.step == "prep" and same_file(issue.file, tmp_path / "scripts/prep.py")


@pytest.mark.parametrize(
    ("read", "severity"),
    [
        ('os.environ["TARGET"]', Severity.ERROR),
        ('os.environ.get("TARGET")', Severity.ERROR),
        ('os.environ.get("TARGET", None)', Severity.ERROR),
        ('os.getenv("TARGET")', Severity.ERROR),
        ('os.environ.pop("TARGET")', Severity.ERROR),
        ('os.environ.get("TARGET", "label")', Severity.WARNING),
        ('os.getenv("TARGET", default="label")', Severity.WARNING),
        ('os.environ.setdefault("TARGET", "label")', Severity.WARNING),
        ('"TARGET" in os.environ', Severity.WARNING),
    ],
)
def test_an_undeclared_env_read_without_a_default_is_an_error(
    tmp_path: Path, read: str, severity: Severity
) -> None:
    """A script that gets nothing (or fails) without the variable fails validate-contracts;
    one that copes with a default is warned about."""
    report = check(make(tmp_path, {"scripts/prep.py": PREP_SCRIPT + f"target = {read}\n"}))
    issue = only(report, ContractRule.UNDECLARED_ENV_VAR)
    assert issue.severity is severity and "TARGET" in issue.description
    wanted = "optional_env_vars" if severity is Severity.WARNING else "required_env_vars"
    assert issue.hint is not None and wanted in issue.hint
    assert report.exit_code == (1 if severity is Severity.ERROR else 0)


def test_declared_env_var_never_read(tmp_path: Path) -> None:
    contract = PREP_CONTRACT + "optional_env_vars: {DEBUG: '0'}\n"
    report = check(make(tmp_path, {"contracts/prep.yaml": contract}))
    issue = only(report, ContractRule.UNUSED_ENV_VAR)
    assert issue.severity is Severity.WARNING and "DEBUG" in issue.description
    assert report.ok


def test_script_writing_to_an_undeclared_path(tmp_path: Path) -> None:
    script = PREP_SCRIPT + 'open("/opt/ml/processing/output/extra/x.csv", "w")\n'
    report = check(make(tmp_path, {"scripts/prep.py": script}))
    issue = only(report, ContractRule.UNDECLARED_PATH)
    assert issue.severity is Severity.ERROR and issue.step == "prep"
    assert "/opt/ml/processing/output/extra/x.csv" in issue.description
    assert same_file(issue.file, tmp_path / "scripts/prep.py")
    assert issue.line == len(textwrap.dedent(script).lstrip().splitlines())
    assert rules(report) == {ContractRule.UNDECLARED_PATH}


def test_declared_path_the_script_never_mentions(tmp_path: Path) -> None:
    script = PREP_SCRIPT.replace('open("/opt/ml/processing/input/raw/data.csv").read()', '""')
    report = check(make(tmp_path, {"scripts/prep.py": script}))
    issue = only(report, ContractRule.UNUSED_PATH)
    assert issue.severity is Severity.WARNING and "raw" in issue.description
    assert same_file(issue.file, tmp_path / "contracts/prep.yaml")


def test_contract_input_not_wired(tmp_path: Path) -> None:
    text = PIPELINE.replace("    inputs: {raw: data}\n", "")
    report = check(make(tmp_path, {"pipeline.yaml": text}))
    issue = only(report, ContractRule.UNWIRED_INPUT)
    assert issue.severity is Severity.ERROR and issue.step == "prep"
    assert "'raw'" in issue.description and "/opt/ml/processing/input/raw" in issue.description
    assert same_file(issue.file, tmp_path / "contracts/prep.yaml")
    assert rules(report) == {ContractRule.UNWIRED_INPUT}


def test_step_input_missing_from_the_contract(tmp_path: Path) -> None:
    text = PIPELINE.replace("inputs: {raw: data}", "inputs: {raw: data, more: data}")
    report = check(make(tmp_path, {"pipeline.yaml": text}))
    issue = only(report, ContractRule.INPUT_NOT_IN_CONTRACT)
    assert issue.severity is Severity.WARNING and "'more'" in issue.description


def test_declared_output_not_mounted(tmp_path: Path) -> None:
    text = PIPELINE.split("  use:")[0].replace("arguments:", "outputs: [other]\n    arguments:")
    report = check(make(tmp_path, {"pipeline.yaml": text}))
    missing = only(report, ContractRule.OUTPUT_NOT_MOUNTED)
    assert missing.severity is Severity.ERROR and missing.step == "prep"
    assert "'out'" in missing.description
    assert same_file(missing.file, tmp_path / "contracts/prep.yaml")
    extra = only(report, ContractRule.OUTPUT_NOT_IN_CONTRACT)
    assert extra.severity is Severity.WARNING and "'other'" in extra.description


def test_steps_without_outputs_take_the_contracts(tmp_path: Path) -> None:
    """No ``outputs`` on the step: the contract's are mounted, so nothing is reported."""
    report = check(make(tmp_path))
    pipeline = load_and_validate(tmp_path / "pipeline.yaml")
    assert list(pipeline.steps["prep"].outputs) == ["out"]
    assert ContractRule.OUTPUT_NOT_MOUNTED.value not in rules(report)


def test_required_argument_undeclared_and_not_passed(tmp_path: Path) -> None:
    script = PREP_SCRIPT.replace(
        "args = parser", 'parser.add_argument("--mode", required=True)\nargs = parser'
    )
    report = check(make(tmp_path, {"scripts/prep.py": script}))
    undeclared = only(report, ContractRule.UNDECLARED_ARGUMENT)
    missing = only(report, ContractRule.MISSING_ARGUMENT)
    for issue in (undeclared, missing):
        assert issue.severity is Severity.ERROR and issue.step == "prep"
        assert "--mode" in issue.description and issue.line == 6
        assert same_file(issue.file, tmp_path / "scripts/prep.py")


def test_required_argument_passed_is_only_undeclared(tmp_path: Path) -> None:
    script = PREP_SCRIPT.replace(
        "args = parser", 'parser.add_argument("--mode", required=True)\nargs = parser'
    )
    text = PIPELINE.replace('["--ratio", "0.5"]', '["--ratio", "0.5", "--mode=fast"]')
    report = check(make(tmp_path, {"scripts/prep.py": script, "pipeline.yaml": text}))
    assert rules(report) == {ContractRule.UNDECLARED_ARGUMENT}


def test_optional_undeclared_argument_is_a_warning(tmp_path: Path) -> None:
    script = PREP_SCRIPT.replace(
        "args = parser",
        'parser.add_argument("-v", "--verbose", action="store_true")\nargs = parser',
    )
    report = check(make(tmp_path, {"scripts/prep.py": script}))
    issue = only(report, ContractRule.UNDECLARED_ARGUMENT)
    assert issue.severity is Severity.WARNING and "--verbose" in issue.description
    assert report.ok


def test_contract_argument_the_script_does_not_parse(tmp_path: Path) -> None:
    contract = PREP_CONTRACT.replace('{ratio: "0.5"}', '{ratio: "0.5", depth: "3"}')
    report = check(make(tmp_path, {"contracts/prep.yaml": contract}))
    issue = only(report, ContractRule.UNUSED_ARGUMENT)
    assert issue.severity is Severity.WARNING and "depth" in issue.description


def test_declared_schemas_that_disagree_on_a_column(tmp_path: Path) -> None:
    promised = SCHEMA.replace("label: integer", "lbl: integer")
    report = check(make(tmp_path, {"schemas/out.yaml": promised}))
    issue = only(report, "missing_column")
    assert issue.severity is Severity.ERROR and issue.step == "use"
    assert issue.edge == "prep.out -> use.data" and issue.column == "label"
    assert same_file(issue.file, tmp_path / "schemas/in.yaml")
    assert issue.hint and "lbl" in issue.hint
    assert not report.ok


def test_declared_schemas_that_disagree_on_format(tmp_path: Path) -> None:
    report = check(make(tmp_path, {"schemas/out.yaml": SCHEMA.replace("csv", "parquet")}))
    issue = only(report, "format_mismatch")
    assert issue.severity is Severity.ERROR and issue.edge == "prep.out -> use.data"
    assert "parquet" in issue.description and "csv" in issue.description


def test_declared_schemas_that_fit_with_a_wider_type(tmp_path: Path) -> None:
    expected = SCHEMA.replace("label: integer", "label: float")
    report = check(make(tmp_path, {"schemas/in.yaml": expected}))
    issue = only(report, "numeric_widening")
    assert issue.severity is Severity.WARNING and issue.column == "label"
    assert issue.step == "use" and issue.edge == "prep.out -> use.data"
    assert report.ok


def test_declared_type_issues_have_a_hint(tmp_path: Path) -> None:
    expected = SCHEMA.replace("label: integer", "label: float").replace("id: integer", "id: string")
    report = check(make(tmp_path, {"schemas/in.yaml": expected}))
    assert {i.rule for i in report.issues} == {"numeric_widening", "read_as_text"}
    assert all(i.hint for i in report.issues), report.issues


def test_inline_schema_issue_names_the_contract(tmp_path: Path) -> None:
    """A schema written inside the contract has no file of its own: the contract is named."""
    contract = USE_CONTRACT.replace(
        "{data: ../schemas/in.yaml}", "{data: {format: csv, columns: {id: integer, x: float}}}"
    )
    report = check(make(tmp_path, {"contracts/use.yaml": contract}))
    issue = only(report, "missing_column")
    assert issue.column == "x" and issue.step == "use"
    assert same_file(issue.file, tmp_path / "contracts/use.yaml")


def test_script_that_does_not_parse(tmp_path: Path) -> None:
    report = check(make(tmp_path, {"scripts/use.py": "def broken(:\n"}))
    issue = only(report, ContractRule.SCRIPT_UNREADABLE)
    assert issue.severity is Severity.ERROR and issue.step == "use"
    assert same_file(issue.file, tmp_path / "scripts/use.py")


def test_script_other_than_the_contracts_entry_point(tmp_path: Path) -> None:
    report = check(
        make(tmp_path, {"contracts/use.yaml": USE_CONTRACT.replace("use.py", "other.py")})
    )
    issue = only(report, ContractRule.ENTRY_POINT)
    assert issue.severity is Severity.WARNING and "other.py" in issue.description


def test_training_input_path_sagemaker_does_not_mount(tmp_path: Path) -> None:
    script = 'open("/opt/ml/processing/input/data/x.csv")\nopen("/opt/ml/model/m.bin", "w")\n'
    contract = "entry_point: fit.py\nexpected_input_paths: {data: /opt/ml/processing/input/data}\n"
    text = PIPELINE + (
        "  fit:\n    kind: training\n    script: scripts/fit.py\n"
        "    contract: contracts/fit.yaml\n    inputs: {data: {step: prep, output: out}}\n"
    )
    report = check(
        make(
            tmp_path,
            {"scripts/fit.py": script, "contracts/fit.yaml": contract, "pipeline.yaml": text},
        )
    )
    issue = only(report, ContractRule.CHANNEL_PATH)
    assert issue.severity is Severity.ERROR and issue.step == "fit"
    assert "/opt/ml/input/data/data" in (issue.hint or "")


def training_report(tmp_path: Path, contract_path: str, script_path: str) -> ContractReport:
    """The base pipeline plus a training step 'fit' whose channel 'train' is prep's output, with
    its contract's input 'train' at ``contract_path`` and a script reading ``script_path``."""
    script = f'open("{script_path}")\nopen("/opt/ml/model/m.bin", "w")\n'
    contract = f"entry_point: fit.py\nexpected_input_paths: {{train: {contract_path}}}\n"
    text = PIPELINE + (
        "  fit:\n    kind: training\n    script: scripts/fit.py\n"
        "    contract: contracts/fit.yaml\n    inputs: {train: {step: prep, output: out}}\n"
    )
    files = {"scripts/fit.py": script, "contracts/fit.yaml": contract, "pipeline.yaml": text}
    return check(make(tmp_path, files))


def test_training_input_at_another_channels_path(tmp_path: Path) -> None:
    report = training_report(
        tmp_path, "/opt/ml/input/data/training", "/opt/ml/input/data/training/x.csv"
    )
    issue = only(report, ContractRule.CHANNEL_PATH)
    assert issue.severity is Severity.ERROR and issue.step == "fit"
    assert "/opt/ml/input/data/training" in issue.description
    assert issue.hint == (
        "set expected_input_paths.train to /opt/ml/input/data/train, "
        "or rename the step's input to 'training'"
    )
    assert same_file(issue.file, tmp_path / "contracts/fit.yaml")
    assert not report.ok


@pytest.mark.parametrize(
    "path", ["/opt/ml/input/data/train", "/opt/ml/input/data", "/opt/ml/input/data/train/x.csv"]
)
def test_training_input_at_its_channel_or_the_data_root(tmp_path: Path, path: str) -> None:
    report = training_report(tmp_path, path, "/opt/ml/input/data/train/x.csv")
    assert report.issues == [] and report.ok


def test_training_channel_outside_the_data_folder(tmp_path: Path) -> None:
    report = training_report(tmp_path, "/opt/ml/model/train", "/opt/ml/model/train/x.csv")
    issue = only(report, ContractRule.CHANNEL_PATH)
    assert issue.hint == "set expected_input_paths.train to /opt/ml/input/data/train"


def test_env_vars_sagemaker_gives_a_training_job_need_no_setting(tmp_path: Path) -> None:
    script = (
        "import os\n"
        'train = os.environ["SM_CHANNEL_TRAIN"]\n'
        'token = os.environ["TOKEN"]\n'
        'open(os.path.join("/opt/ml/model", "m.bin"), "w")\n'
        'open("/opt/ml/input/data/train/x.csv")\n'
    )
    contract = """
    entry_point: fit.py
    expected_input_paths: {train: /opt/ml/input/data/train}
    expected_output_paths: {model: /opt/ml/model}
    required_env_vars: [SM_CHANNEL_TRAIN, SM_MODEL_DIR, TRAINING_JOB_NAME, TOKEN]
    """
    text = PIPELINE + (
        "  fit:\n    kind: training\n    script: scripts/fit.py\n"
        "    contract: contracts/fit.yaml\n    inputs: {train: {step: prep, output: out}}\n"
    )
    files = {"scripts/fit.py": script, "contracts/fit.yaml": contract, "pipeline.yaml": text}
    report = check(make(tmp_path, files))
    missing = only(report, ContractRule.MISSING_ENV_VAR)
    assert missing.step == "fit" and "TOKEN" in missing.description
    unused = sorted(i.description for i in report.issues if i.rule == ContractRule.UNUSED_ENV_VAR)
    assert [text.split(";")[0] for text in unused] == [
        "the contract declares SM_MODEL_DIR",
        "the contract declares TRAINING_JOB_NAME",
    ]


def test_processing_job_gets_no_sagemaker_variables(tmp_path: Path) -> None:
    contract = PREP_CONTRACT.replace("[LABEL]", "[LABEL, SM_CURRENT_HOST]")
    report = check(make(tmp_path, {"contracts/prep.yaml": contract}))
    assert "SM_CURRENT_HOST" in only(report, ContractRule.MISSING_ENV_VAR).description


def test_python_pipeline_is_checked_like_yaml(tmp_path: Path) -> None:
    python = """
    from orchestrator import Pipeline

    pipeline = Pipeline("small")
    prep = pipeline.processing(
        "prep", script="scripts/prep.py", contract="contracts/prep.yaml",
        inputs={"raw": "data"}, arguments=["--ratio", "0.5"],
    )
    pipeline.processing(
        "use", script="scripts/use.py", contract="contracts/use.yaml",
        inputs={"data": prep.output("out")},
    )
    """
    make(tmp_path, {"pipeline.py": python})
    report = check(tmp_path / "pipeline.py")
    assert report.pipeline == "small" and report.checked == ["prep", "use"]
    assert rules(report) == {ContractRule.MISSING_ENV_VAR}
    assert same_file(
        only(report, ContractRule.MISSING_ENV_VAR).file, tmp_path / "contracts/prep.yaml"
    )


def test_contract_object_in_a_python_pipeline_is_located_in_that_file(tmp_path: Path) -> None:
    python = """
    from orchestrator import Pipeline
    from orchestrator.data.contracts import ScriptContract

    contract = ScriptContract(
        entry_point="use.py",
        expected_input_paths={"data": "/opt/ml/processing/input/data"},
        required_env_vars=["TOKEN"],
        input_schemas={"data": {"format": "csv", "columns": {"x": "float"}}},
    )
    pipeline = Pipeline("small")
    prep = pipeline.processing(
        "prep", script="scripts/prep.py", contract="contracts/prep.yaml",
        inputs={"raw": "data"}, env={"LABEL": "y"}, arguments=["--ratio", "0.5"],
    )
    pipeline.processing("use", contract=contract, script="scripts/use.py",
                        inputs={"data": prep.output("out")})
    """
    file = make(tmp_path, {"pipeline.py": python}).with_name("pipeline.py")
    report = check(file)
    expected = {"missing_env_var", "unused_env_var", "missing_column", "extra_columns"}
    assert rules(report) == expected, report.issues
    for issue in report.issues:
        assert issue.step == "use" and same_file(issue.file, file), issue


VARIANTS: dict[str, tuple[dict[str, str], set[str]]] = {
    "env": (
        {"pipeline.yaml": PIPELINE.replace("{LABEL: label}", "{}")},
        {"missing_env_var"},
    ),
    "unwired": (
        {"pipeline.yaml": PIPELINE.replace("    inputs: {raw: data}\n", "")},
        {"unwired_input"},
    ),
    "script": (
        {
            "scripts/prep.py": PREP_SCRIPT.replace(
                '"0.5")', '"0.5")\nparser.add_argument("--mode", required=True)'
            )
            + 'os.environ["SECRET"]\nos.getenv("MODE")\nopen("/opt/ml/processing/output/x", "w")\n'
        },
        {"undeclared_env_var", "undeclared_path", "undeclared_argument", "missing_argument"},
    ),
    "contract": (
        {
            "contracts/prep.yaml": PREP_CONTRACT.replace('"0.5"}', '"0.5", depth: "3"}')
            + "optional_env_vars: {DEBUG: '0'}\n",
            "contracts/use.yaml": USE_CONTRACT.replace("use.py", "other.py"),
        },
        {"unused_argument", "unused_env_var", "entry_point"},
    ),
    "schemas": (
        {
            "schemas/out.yaml": "format: csv\n"
            "columns: {id: string, lbl: integer, label: integer}\n",
            "schemas/in.yaml": "format: csv\nextra_columns: error\n"
            "columns: {id: integer, label: integer, n: {type: float, nullable: false}}\n",
        },
        {"type_not_castable", "missing_column", "extra_columns"},
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_issue_has_severity_of_its_rule_step_file_and_hint(
    tmp_path: Path, variant: str
) -> None:
    changed, expected = VARIANTS[variant]
    report = check(make(tmp_path, changed))
    assert rules(report) == expected, report.issues
    for issue in report.issues:
        assert issue.step in ("prep", "use"), issue
        assert issue.file and Path(issue.file).exists(), issue
        assert issue.hint and "\n" not in issue.hint, issue
        if issue.rule in CONTRACT_RULES:
            rule = ContractRule(issue.rule)
            assert issue.severity in _allowed_severities(rule), issue
            if issue.severity is not CONTRACT_RULES[rule].severity:
                assert f"{issue.severity.value} when" in CONTRACT_RULES[rule].meaning, rule


def _allowed_severities(rule: ContractRule) -> tuple[Severity, ...]:
    """A rule's severity; rules about what a script reads or parses drop to a warning when
    the script copes without it (a default, an optional argument)."""
    lenient = (ContractRule.UNDECLARED_ENV_VAR, ContractRule.UNDECLARED_ARGUMENT)
    severity = CONTRACT_RULES[rule][0]
    return (severity, Severity.WARNING) if rule in lenient else (severity,)


@pytest.mark.parametrize("name", ["pipeline.py", "pipeline.yaml"])
def test_example_pipeline_has_no_error(name: str) -> None:
    report = check(EXAMPLE / name)
    assert report.ok, [i for i in report.issues if i.is_error]
    assert report.checked == ["preprocess", "train", "evaluate"]
    assert report.without_contract == []

"""cursus script contracts: a Python contract file that imports cursus (not installed here) is
read as data, never run; framework_requirements in Python and YAML contracts; and how the
runner image's packages are compared with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.data.contracts import ScriptContract, load_contract
from orchestrator.dataflow.contract_check import (
    ContractRule,
    framework_issues,
    package_key,
    runner_image_packages,
    satisfies,
)
from orchestrator.errors import CitError, InputError
from orchestrator.pipeline.model import build_step
from orchestrator.runner_packages import locate_build_files, pins_of, shipped_pins
from orchestrator.scripttest.runner import script_step

from .conftest import write

CURSUS = '''
"""Preprocessing contract."""

from cursus.core.base.contract_base import ScriptContract

DATA = "/opt/ml/processing/input/data"
PANDAS: str = ">=1.3.0"

PREPROCESS_CONTRACT = ScriptContract(
    entry_point="preprocess.py",
    expected_input_paths={"DATA": DATA},
    expected_output_paths={"processed_data": "/opt/ml/processing/output"},
    required_env_vars=["LABEL_FIELD"],
    optional_env_vars={"TRAIN_RATIO": "0.7"},
    expected_arguments={
        # from the step's configuration
        "job-type": "training",
    },
    framework_requirements={"pandas": PANDAS, "scikit-learn": ">=1.0.0"},
    description="""
    Splits the data.
    """,
)
'''


def contract_file(folder: Path, text: str, name: str = "preprocess_contract.py") -> Path:
    return write(folder, name, text)


def load_error(path: Path, field: str | None, line: int | None, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_contract(path)
    error = info.value
    message = str(error)
    assert isinstance(error, CitError) and error.exit_code == 2
    assert (error.field, error.line, error.file) == (field, line, str(path)), message
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    return error


def test_cursus_is_not_installed() -> None:
    with pytest.raises(ImportError):
        __import__("cursus")


def test_a_cursus_contract_loads_with_all_fields(tmp_path: Path) -> None:
    path = contract_file(tmp_path, CURSUS)
    contract = load_contract(path)
    assert contract == ScriptContract(
        entry_point="preprocess.py",
        expected_input_paths={"DATA": "/opt/ml/processing/input/data"},
        expected_output_paths={"processed_data": "/opt/ml/processing/output"},
        required_env_vars=["LABEL_FIELD"],
        optional_env_vars={"TRAIN_RATIO": "0.7"},
        expected_arguments={"job-type": "training"},
        framework_requirements={"pandas": ">=1.3.0", "scikit-learn": ">=1.0.0"},
        description="\n    Splits the data.\n    ",
        source=str(path),
    )


@pytest.mark.parametrize(
    "imports",
    [
        "from ...core.base.contract_base import ScriptContract",
        "from .training_script_contract import TrainingScriptContract as ScriptContract",
        "import cursus.core.base.contract_base as base\nScriptContract = base.ScriptContract",
        "from company_contracts import ScriptContract",
        "from orchestrator import ScriptContract\nimport company_only_package",
    ],
)
def test_other_imports_that_cannot_run_are_read_as_data(tmp_path: Path, imports: str) -> None:
    path = contract_file(
        tmp_path,
        CURSUS.replace("from cursus.core.base.contract_base import ScriptContract", imports),
    )
    assert load_contract(path).framework_requirements["pandas"] == ">=1.3.0"


def test_training_and_qualified_contract_classes(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path,
        """
        from cursus.steps.contracts import training_script_contract as tsc

        XGBOOST_TRAIN_CONTRACT = tsc.TrainingScriptContract(
            entry_point="xgboost_training.py",
            expected_input_paths={"input_path": "/opt/ml/input/data"},
            expected_output_paths={"model_output": "/opt/ml/model"},
            expected_arguments={},
            required_env_vars=[],
            framework_requirements={"xgboost": "==1.7.6"},
        )
        """,
    )
    contract = load_contract(path)
    assert contract.expected_output_paths == {"model_output": "/opt/ml/model"}
    assert contract.framework_requirements == {"xgboost": "==1.7.6"}


def test_a_file_read_as_data_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = contract_file(
        tmp_path,
        CURSUS + f"\nopen({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n",
    )
    assert load_contract(path).entry_point == "preprocess.py"
    assert not marker.exists()


def test_cits_own_python_contracts_are_still_run(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path,
        """
        import os
        from orchestrator import ScriptContract

        contract = ScriptContract(
            entry_point="a.py",
            expected_input_paths={"raw": os.path.join("/opt/ml/processing/input", "raw")},
            framework_requirements={"pandas": ">=2"},
        )
        """,
    )
    contract = load_contract(path)
    assert contract.expected_input_paths == {"raw": "/opt/ml/processing/input/raw"}
    assert contract.framework_requirements == {"pandas": ">=2"}


def test_a_module_beside_the_file_is_importable(tmp_path: Path) -> None:
    write(tmp_path, "paths.py", "RAW = '/opt/ml/processing/input/raw'\n")
    path = contract_file(
        tmp_path,
        """
        from orchestrator import ScriptContract
        from paths import RAW
        contract = ScriptContract(entry_point="a.py", expected_input_paths={"raw": RAW})
        """,
    )
    assert load_contract(path).expected_input_paths == {"raw": "/opt/ml/processing/input/raw"}


# --- mistakes --------------------------------------------------------------------------------


def test_a_call_that_is_not_a_literal_names_field_and_line(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path,
        CURSUS.replace(
            '"processed_data": "/opt/ml/processing/output"',
            '"processed_data": os.path.join(BASE, "output")',
        ),
    )
    load_error(
        path,
        "expected_output_paths",
        11,
        "the call 'os.path.join(BASE, 'output')' is not a literal value",
        "cit reads this file as data, without running it, because it imports "
        "cursus.core.base.contract_base",
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "line", "fragment"),
    [
        ('{"DATA": DATA}', '{"DATA": ROOT}', "expected_input_paths", 10, "'ROOT' (not a constant"),
        ('description="""', 'description=f"""{DATA}', "description", 19, "the f-string"),
        ('["LABEL_FIELD"]', "[*NAMES]", "required_env_vars", 12, "'*NAMES'"),
    ],
)
def test_other_values_that_are_not_literals(
    tmp_path: Path, old: str, new: str, field: str, line: int, fragment: str
) -> None:
    path = contract_file(tmp_path, CURSUS.replace(old, new))
    load_error(path, field, line, fragment, "is not a literal value")


def test_a_constant_assigned_after_the_contract_is_not_used(tmp_path: Path) -> None:
    text = CURSUS.replace('DATA = "/opt/ml/processing/input/data"\n', "") + 'DATA = "/x"\n'
    load_error(contract_file(tmp_path, text), "expected_input_paths", 9, "'DATA'")


def test_keyword_unpacking_and_positional_arguments(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path, CURSUS.replace("    required_env_vars=", "    **COMMON,\n    required_env_vars=")
    )
    load_error(path, None, 12, "'**COMMON' cannot be read", "write the fields out")
    path = contract_file(
        tmp_path, CURSUS.replace('    entry_point="preprocess.py",', '    "preprocess.py",')
    )
    load_error(path, None, 9, "give the contract's fields by name")


def test_an_unknown_field_names_its_line_and_the_close_one(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path, CURSUS.replace("framework_requirements=", "framework_requirement=")
    )
    load_error(path, "framework_requirement", 18, "did you mean 'framework_requirements'")


def test_a_field_that_fails_validation_names_its_line(tmp_path: Path) -> None:
    path = contract_file(tmp_path, CURSUS.replace('"/opt/ml/processing/output"', '"output"'))
    load_error(path, "expected_output_paths.processed_data", 11, "must be an absolute path")
    path = contract_file(
        tmp_path, CURSUS.replace('"scikit-learn": ">=1.0.0"', '"scikit-learn": None')
    )
    load_error(path, "framework_requirements.scikit-learn", 18, "string")


def test_a_file_without_a_contract(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path, "from cursus.core.base.contract_base import ScriptContract\nX = 1\n"
    )
    load_error(
        path, None, None, "no ScriptContract(...) assigned at module level", "imports cursus"
    )


def test_a_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = contract_file(
        tmp_path, CURSUS.replace('entry_point="preprocess.py",', 'entry_point="preprocess.py" +,')
    )
    load_error(path, None, 9, "syntax error")


# --- several contracts in one file -----------------------------------------------------------

TWO = """
from cursus.core.base.contract_base import ScriptContract

PREP = ScriptContract(entry_point="prep.py", expected_input_paths={}, expected_output_paths={},
                      required_env_vars=["A"])
TRAIN = ScriptContract(entry_point="train.py", expected_input_paths={}, expected_output_paths={},
                       required_env_vars=["B"])
"""


def test_several_contracts_need_the_script_to_choose(tmp_path: Path) -> None:
    path = contract_file(tmp_path, TWO, "contracts.py")
    error = load_error(path, None, None, "defines 2 contracts")
    assert "PREP (line 3, entry_point prep.py), TRAIN (line 5, entry_point train.py)" in str(error)
    assert load_contract(path, "train.py").required_env_vars == ["B"]
    assert load_contract(path, tmp_path / "scripts" / "prep.py").required_env_vars == ["A"]
    with pytest.raises(InputError, match=r"none or several for other\.py"):
        load_contract(path, "other.py")


def test_of_several_contracts_the_one_named_contract(tmp_path: Path) -> None:
    path = contract_file(tmp_path, TWO.replace("TRAIN =", "contract ="), "contracts.py")
    assert load_contract(path).entry_point == "train.py"


def test_a_step_and_a_script_test_pick_their_contract(tmp_path: Path) -> None:
    contracts = contract_file(tmp_path, TWO, "contracts.py")
    script = write(tmp_path, "train.py", "import os\nos.environ['B']\n")
    step = build_step(
        "train", "processing", {"script": "train.py", "contract": "contracts.py"}, tmp_path
    )
    assert step.contract is not None and step.contract.entry_point == "train.py"
    tested = script_step(script, contracts)
    assert tested.contract is not None and tested.contract.required_env_vars == ["B"]


# --- framework_requirements -------------------------------------------------------------------


def test_yaml_contract_with_framework_requirements(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "preprocess.yaml",
        """
        entry_point: preprocess.py
        expected_input_paths: {DATA: /opt/ml/processing/input/data}
        expected_output_paths: {processed_data: /opt/ml/processing/output}
        required_env_vars: [LABEL_FIELD]
        optional_env_vars: {TRAIN_RATIO: "0.7"}
        expected_arguments: {job-type: training}
        framework_requirements: {pandas: ">=1.3.0", scikit-learn: ">=1.0.0", numpy: 1.26}
        """,
    )
    contract = load_contract(path)
    assert contract.framework_requirements == {
        "pandas": ">=1.3.0",
        "scikit-learn": ">=1.0.0",
        "numpy": "1.26",
    }


def test_yaml_framework_requirements_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "entry_point: a.py\nframework_requirements: [pandas]\n")
    with pytest.raises(InputError) as info:
        load_contract(path)
    assert info.value.field == "framework_requirements" and "Traceback" not in str(info.value)


@pytest.mark.parametrize(
    ("version", "specifier", "expected"),
    [
        ("2.2.3", ">=1.3.0", True),
        ("2.2.3", ">=1.2.0,<2.0.0", False),
        ("1.4.2", "~=1.4.0", True),
        ("1.4.2", "~=1.5", False),
        ("1.7.4", "==1.7.*", True),
        ("1.7.4", "!=1.7.*", False),
        ("1.7.4", "1.7.4", True),
        ("1.7.4", "==1.7.6", False),
        ("3.11", ">=3.8", True),
        ("2.9.0.post0", ">2.8", True),
        ("1.0", "latest", None),
        ("1.0", "", None),
        ("1.0", "~=1", None),
        ("not-a-version", ">=1", None),
        ("1.7.4", "1.7.*", True),
        ("1.26.4", " >= 1.20 , < 2 ,", True),
        ("1.26.4", ">=v1.2", True),
        ("1.20.0", "!=1.2.*", True),
        ("1.2.0", "!=1.2.*", False),
        ("1.7.0rc1", "==1.7.*", True),
        ("2.2.3+cpu", "==2.2.3", True),
        ("1.27.0", "~=1.26.0", False),
        # PEP 440, as pip reads it: pre-, post- and local releases are versions of their own
        ("2.0.0rc1", ">=2.0", False),
        ("2.0.0rc1", ">=1.0", True),
        ("1.0rc1", "<1.0", False),
        ("1.26.4", "==2.0rc1", False),
        ("1.26.4", ">1.26.4.dev0", True),
        ("2.9.0.post0", "==2.9.0", False),
        ("2.9.0.post0", ">=2.9.0", True),
        ("1.0.post1", "==1.0", False),
        ("2.2.3+cpu", "==2.2.3+gpu", False),
        ("1.26.4", "===1.26.4.0", False),
    ],
)
def test_satisfies(version: str, specifier: str, expected: bool | None) -> None:
    assert satisfies(version, specifier) is expected


def test_runner_image_packages() -> None:
    packages = runner_image_packages()
    assert packages["python"] == "3.11" and packages["scikit-learn"]
    assert package_key("Scikit_Learn[extra]") == "scikit-learn"
    _, runner_dir = locate_build_files()
    assert packages == {"python": "3.11", **shipped_pins(runner_dir / "requirements.txt")}


def test_pins_are_the_name_equals_version_lines() -> None:
    text = "# pins\nNumPy == 1.26.4  # numeric\n\npandas>=2\nscikit_learn==1.4.2\n==1.0\nsix==\n"
    assert pins_of(text) == {"numpy": "1.26.4", "scikit-learn": "1.4.2"}


def test_framework_issues_are_warnings(tmp_path: Path) -> None:
    contract = ScriptContract(
        entry_point="a.py",
        framework_requirements={
            "pandas": ">=1.2.0,<2.0.0",
            "scikit_learn": ">=1.0",
            "flask": ">=2",
            "boto3": ">=1.26",
            "numpy": "latest",
        },
    )
    step = build_step("a", "processing", {"script": "a.py"}, tmp_path)
    issues = framework_issues(
        step, contract, {"pandas": "2.2.3", "scikit-learn": "1.4.2", "numpy": "1.26.4"}
    )
    assert [i.rule for i in issues] == [ContractRule.FRAMEWORK_REQUIREMENT.value] * 2
    assert all(not i.is_error for i in issues)
    assert (
        "requires pandas>=1.2.0,<2.0.0; cit's runner image has pandas 2.2.3"
        in issues[0].description
    )
    assert "requires flask, boto3, which cit's runner image does not have" in issues[1].description
    assert framework_issues(step, contract, {}) == []

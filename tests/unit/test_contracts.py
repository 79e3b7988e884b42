"""Script contracts: loading from YAML, JSON and Python, and how they set a step's mounts."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from orchestrator.data.contracts import CONTRACT_FIELDS, ScriptContract, load_contract
from orchestrator.data.schemas import DataSchema, ExtraColumns
from orchestrator.errors import CitError, InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import Pipeline, StepKind, build_step
from orchestrator.run.pipeline_run import load_and_validate

from .conftest import write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tabular"

RAW = "/opt/ml/processing/input/raw_data"
TRAIN = "/opt/ml/processing/output/train_split"
REPORT = "/opt/ml/processing/output/report"

CONTRACT_YAML = f"""
entry_point: prep.py
description: Split the raw data.
expected_input_paths:
  raw: {RAW}/
expected_output_paths:
  train: /opt/ml//processing/output/train_split
  report: {REPORT}
required_env_vars: [LABEL]
optional_env_vars: {{RATIO: "0.8"}}
expected_arguments: {{--seed: "42", job-type: null}}
input_schemas:
  raw: ../schemas/raw.yaml
output_schemas:
  train:
    format: parquet
    columns: {{id: integer}}
"""

RAW_SCHEMA = "format: csv\nextra_columns: allow\ncolumns:\n  id: {type: integer}\n"


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    """A project folder with contracts/ and schemas/; returns the contracts folder."""
    (tmp_path / "contracts").mkdir()
    (tmp_path / "schemas").mkdir()
    write(tmp_path / "schemas", "raw.yaml", RAW_SCHEMA)
    return tmp_path / "contracts"


def check_contract(contract: ScriptContract, source: Path) -> None:
    assert contract.entry_point == "prep.py"
    assert contract.description == "Split the raw data."
    assert contract.expected_input_paths == {"raw": RAW}
    assert contract.expected_output_paths == {"train": TRAIN, "report": REPORT}
    assert contract.required_env_vars == ["LABEL"]
    assert contract.optional_env_vars == {"RATIO": "0.8"}
    assert contract.expected_arguments == {"seed": "42", "job-type": None}
    raw = contract.input_schemas["raw"]
    assert raw.format == "csv" and raw.extra_columns is ExtraColumns.ALLOW
    assert raw.source == str((source.parent.parent / "schemas" / "raw.yaml").resolve())
    assert [c.name for c in raw.columns] == ["id"]
    train = contract.output_schemas["train"]
    assert train.format == "parquet" and train.source is None
    assert contract.source == str(source) and contract.label == str(source)


# --- loading ---------------------------------------------------------------------------------


def test_yaml_contract(contracts: Path) -> None:
    path = write(contracts, "prep.yaml", CONTRACT_YAML)
    check_contract(load_contract(path), path)


def test_json_contract(contracts: Path) -> None:
    import yaml

    path = contracts / "prep.json"
    path.write_text(json.dumps(yaml.safe_load(CONTRACT_YAML)), encoding="utf-8")
    check_contract(load_contract(path), path)


def test_python_contract(contracts: Path) -> None:
    path = write(
        contracts,
        "prep_contract.py",
        f"""
        from pathlib import Path
        import yaml
        from orchestrator import ScriptContract
        from orchestrator.data.schemas import load_schema

        HERE = Path(__file__).parent
        data = yaml.safe_load({CONTRACT_YAML!r})
        data["input_schemas"] = {{"raw": load_schema(HERE.parent / "schemas" / "raw.yaml")}}
        contract = ScriptContract(**data)
        """,
    )
    check_contract(load_contract(path), path)


def test_python_file_with_one_contract_of_another_name(contracts: Path) -> None:
    path = write(
        contracts,
        "c.py",
        """
        from orchestrator import ScriptContract
        PREP = ScriptContract(entry_point="prep.py")
        """,
    )
    contract = load_contract(path)
    assert contract.entry_point == "prep.py" and contract.source == str(path)


def test_the_contract_label_without_a_file() -> None:
    assert ScriptContract(entry_point="x.py").label == "contract of x.py"


def test_example_contracts_load() -> None:
    for path in sorted((EXAMPLES / "contracts").glob("*.yaml")):
        contract = load_contract(path)
        assert contract.entry_point == path.stem + ".py"
        for schema in [*contract.input_schemas.values(), *contract.output_schemas.values()]:
            assert isinstance(schema, DataSchema) and schema.source


# --- errors ----------------------------------------------------------------------------------


def load_error(path: Path, field: str | None, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_contract(path)
    error = info.value
    message = str(error)
    assert isinstance(error, CitError) and error.exit_code == 2
    assert error.field == field, message
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    return error


def test_unknown_field_suggests_the_closest(contracts: Path) -> None:
    path = write(contracts, "c.yaml", "entry_point: a.py\nexpected_input_path: {}\n")
    error = load_error(
        path,
        "expected_input_path",
        "unknown field 'expected_input_path' (did you mean 'expected_input_paths'?)",
        "allowed: " + ", ".join(CONTRACT_FIELDS),
    )
    assert error.file == str(path)


def test_unknown_field_without_a_close_match(contracts: Path) -> None:
    path = write(contracts, "c.yaml", "entry_point: a.py\nzzz: 1\n")
    error = load_error(path, "zzz", "unknown field 'zzz'; allowed: entry_point")
    assert "did you mean" not in str(error)


@pytest.mark.parametrize(
    ("text", "field", "fragments"),
    [
        ("description: no entry point\n", "entry_point", ["Field required"]),
        ("- entry_point: a.py\n", None, ["a contract is a mapping with entry_point"]),
        ("", None, ["a contract is a mapping"]),
        (
            "entry_point: a.py\nexpected_input_paths: {raw: input/raw}\n",
            "expected_input_paths.raw",
            ["expected_input_paths.raw: 'input/raw' must be an absolute path inside the container"],
        ),
        (
            "entry_point: a.py\nexpected_output_paths: {out: 5}\n",
            "expected_output_paths.out",
            ["valid string"],
        ),
        ("entry_point: a.py\nrequired_env_vars: LABEL\n", "required_env_vars", ["valid list"]),
        (
            "entry_point: a.py\ninput_schemas: {raw: {format: csv}}\n",
            "input_schemas.raw",
            ["no such name in expected_input_paths"],
        ),
        (
            "entry_point: a.py\nexpected_input_paths: {raw: /x}\n"
            "input_schemas: {raw: {columns: {id: bigint}}}\n",
            "input_schemas.raw.columns.id.type",
            ["unknown type 'bigint'", "allowed: integer"],
        ),
        (
            "entry_point: a.py\nexpected_input_paths: {raw: /x}\n"
            "input_schemas: {raw: {colums: {}}}\n",
            "input_schemas.raw.colums",
            ["did you mean 'columns'"],
        ),
        (
            "entry_point: a.py\nexpected_input_paths: {raw: /x}\ninput_schemas: {raw: [1]}\n",
            "input_schemas.raw",
            ["a schema is a mapping with format"],
        ),
        ("entry_point: a.py\ninput_schemas: [raw]\n", "input_schemas", ["valid dictionary"]),
    ],
)
def test_mistakes_name_file_and_field(
    contracts: Path, text: str, field: str | None, fragments: list[str]
) -> None:
    path = write(contracts, "c.yaml", text)
    error = load_error(path, field, *fragments)
    assert error.file == str(path) and str(error).startswith(str(path))


def test_schema_file_errors_name_the_schema_file(contracts: Path) -> None:
    schemas = (contracts.parent / "schemas").resolve()
    text = "entry_point: a.py\nexpected_input_paths: {raw: /x}\ninput_schemas: {raw: %s}\n"
    write(schemas, "bad.yaml", "columns:\n  id: {type: integer, nulable: false}\n")
    bad = write(contracts, "b.yaml", text % "../schemas/bad.yaml")
    error = load_error(bad, "columns.id.nulable", "did you mean 'nullable'")
    assert error.file == str(schemas / "bad.yaml")


def test_absolute_schema_path(contracts: Path) -> None:
    schema = contracts.parent / "schemas" / "raw.yaml"
    text = (
        f"entry_point: a.py\nexpected_input_paths: {{raw: /x}}\ninput_schemas: {{raw: {schema}}}\n"
    )
    contract = load_contract(write(contracts, "c.yaml", text))
    assert contract.input_schemas["raw"].source == str(schema)


def test_file_level_errors(contracts: Path) -> None:
    load_error(contracts / "absent.yaml", None, "no such contract file")
    load_error(contracts, None, "no such contract file")
    load_error(write(contracts, "c.toml", "x = 1"), None, "allowed: .yaml, .yml, .json, .py")
    error = load_error(write(contracts, "s.yaml", "entry_point: a.py\nx: y: z\n"), None)
    assert "syntax error" in str(error) and error.line == 2
    binary = contracts / "b.yaml"
    binary.write_bytes(b"entry_point: \xff\n")
    load_error(binary, None, "UTF-8")


@pytest.mark.parametrize(
    ("source", "line", "fragments"),
    [
        ("x = (\n", 1, ["syntax error", "never closed"]),
        ("import os\nraise RuntimeError('nope')\n", 2, ["RuntimeError: nope"]),
        ("import sys\nsys.exit(3)\n", 2, ["called sys.exit(3) while defining the contract"]),
        ("raise ValueError('a\\nb')\n", 1, ["ValueError: a; b"]),
        ("x = 1\n", None, ["defines no contract", "variable named 'contract'"]),
        (
            "from orchestrator import ScriptContract\n"
            "A = ScriptContract(entry_point='a.py')\nB = ScriptContract(entry_point='b.py')\n",
            None,
            ["defines no contract"],
        ),
    ],
)
def test_python_contract_errors(
    contracts: Path, source: str, line: int | None, fragments: list[str]
) -> None:
    path = contracts / "c.py"
    path.write_text(source)
    error = load_error(path, None, *fragments)
    assert error.line == line
    assert error.file == str(path)


def test_python_contract_validation_error_is_one_line(contracts: Path) -> None:
    path = contracts / "c.py"
    path.write_text(
        "from orchestrator import ScriptContract\n\n"
        "contract = ScriptContract(\n"
        "    entry_point='a.py', expected_output_paths={'out': 'relative/out'}\n"
        ")\n"
    )
    error = load_error(path, "expected_output_paths.out", "'relative/out' must be an absolute")
    assert error.line == 3


# --- reading contract files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "line", "fragments"),
    [
        (
            "d.yaml",
            "entry_point: a.py\nrequired_env_vars: [A]\nentry_point: b.py\n",
            3,
            ["duplicate key 'entry_point' (first at line 1)"],
        ),
        (
            "n.yaml",
            "entry_point: a.py\noptional_env_vars:\n  A: '1'\n  A: '2'\n",
            4,
            ["duplicate key 'A' (first at line 3)"],
        ),
        (
            "d.json",
            '{"entry_point": "a.py", "expected_arguments": {"x": "1", "x": "2"}}',
            None,
            ["duplicate key 'x'"],
        ),
        ("s.json", '{\n  "entry_point": "a.py",\n}', 3, ["JSON syntax error"]),
    ],
)
def test_duplicate_keys_and_syntax_errors(
    contracts: Path, name: str, text: str, line: int | None, fragments: list[str]
) -> None:
    error = load_error(write(contracts, name, text), None, *fragments)
    assert error.file == str(contracts / name) and error.line == line


def test_yaml_syntax_and_encoding_errors_are_worded_as_for_pipelines(contracts: Path) -> None:
    error = load_error(write(contracts, "s.yaml", "entry_point: a.py\nx: [unclosed\n"), None)
    assert "YAML syntax error: expected ',' or ']'" in str(error)
    binary = contracts / "b.yaml"
    binary.write_bytes(b"entry_point: a.py\ndescription: caf\xe9\n")
    error = load_error(binary, None, "is not valid UTF-8 text (byte 0xe9)", "save the YAML file")
    assert error.line == 2


def test_tab_indented_json_contract(contracts: Path) -> None:
    import yaml

    path = contracts / "prep.json"
    path.write_text(json.dumps(yaml.safe_load(CONTRACT_YAML), indent="\t"), encoding="utf-8")
    assert "\t" in path.read_text()
    check_contract(load_contract(path), path)


def test_numbers_and_booleans_become_text_as_in_a_step_env(contracts: Path) -> None:
    path = write(
        contracts,
        "c.yaml",
        """
        entry_point: a.py
        expected_arguments: {max_depth: 4, rate: 0.5, verbose: true, job-type: null}
        optional_env_vars: {X: 5, DEBUG: false, NAME: n}
        """,
    )
    contract = load_contract(path)
    assert contract.expected_arguments == {
        "max_depth": "4",
        "rate": "0.5",
        "verbose": "True",
        "job-type": None,
    }
    assert contract.optional_env_vars == {"X": "5", "DEBUG": "False", "NAME": "n"}
    step = build_step("s", "processing", {"script": "a.py", "env": {"DEBUG": False}}, contracts)
    assert step.env["DEBUG"] == contract.optional_env_vars["DEBUG"]
    built = ScriptContract(entry_point="a.py", optional_env_vars={"X": 5})  # type: ignore[dict-item]
    assert built.optional_env_vars == {"X": "5"}


def test_a_list_is_still_not_an_env_value(contracts: Path) -> None:
    path = write(contracts, "c.yaml", "entry_point: a.py\noptional_env_vars: {X: [1]}\n")
    load_error(path, "optional_env_vars.X", "valid string")


PY_SCHEMA_CONTRACT = """
from pathlib import Path
from orchestrator import ScriptContract

contract = ScriptContract(
    entry_point="prep.py",
    expected_input_paths={"raw": "/opt/ml/processing/input/raw"},
    expected_output_paths={"train": "/opt/ml/processing/output/train"},
    input_schemas={"raw": "../schemas/raw.yaml"},
    output_schemas={"train": %s},
)
"""


def test_python_contract_schema_paths_resolve_against_its_folder(contracts: Path) -> None:
    schema = (contracts.parent / "schemas" / "raw.yaml").resolve()
    path = write(contracts, "c.py", PY_SCHEMA_CONTRACT % "Path('../schemas/raw.yaml')")
    contract = load_contract(path)
    assert contract.input_schemas["raw"].source == str(schema)
    assert contract.output_schemas["train"].source == str(schema)
    assert contract.input_schemas["raw"].extra_columns is ExtraColumns.ALLOW


def test_a_schema_path_outside_a_contract_file_asks_for_a_mapping() -> None:
    with pytest.raises(ValueError) as info:
        ScriptContract(
            entry_point="a.py",
            expected_input_paths={"train": "/x"},
            input_schemas={"train": "../schemas/features.yaml"},  # type: ignore[dict-item]
        )
    message = str(info.value)
    assert "input_schemas.train" in message
    assert "give the schema as a mapping or use load_schema(path)" in message


def test_a_schema_path_in_a_python_pipeline_asks_for_a_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pipeline.py",
        """
        from orchestrator import Pipeline, ScriptContract

        inline = ScriptContract(
            entry_point="a.py", expected_input_paths={"train": "/x"},
            input_schemas={"train": "schemas/features.yaml"},
        )
        """,
    )
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    error = info.value
    assert error.file == str(path) and error.field == "input_schemas.train" and error.line == 3
    assert "use load_schema(path)" in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("kind", ["input_schemas", "output_schemas"])
def test_a_missing_schema_file_names_the_contract_and_its_field(contracts: Path, kind: str) -> None:
    absent = (contracts.parent / "schemas" / "absent.yaml").resolve()
    text = (
        "entry_point: a.py\nexpected_input_paths: {raw: /x}\nexpected_output_paths: {raw: /y}\n"
        f"{kind}: {{raw: ../schemas/absent.yaml}}\n"
    )
    path = write(contracts, "m.yaml", text)
    error = load_error(path, f"{kind}.raw", f"no such schema file: {absent}")
    assert error.file == str(path) and str(error).startswith(f"{path}: {kind}.raw: ")


def test_a_missing_schema_file_of_a_python_contract(contracts: Path) -> None:
    path = write(contracts, "c.py", PY_SCHEMA_CONTRACT % "'absent.yaml'")
    error = load_error(path, "output_schemas.train", "no such schema file", str(contracts))
    assert error.file == str(path) and error.line == 4


# --- steps that name a contract --------------------------------------------------------------

STEP_CONTRACT = f"""
entry_point: prep.py
expected_input_paths:
  raw: {RAW}
expected_output_paths:
  train: {TRAIN}
  report: {REPORT}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A pipeline folder with scripts/prep.py, data/ and contracts/prep.yaml."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "prep.py").write_text("print('prep')\n")
    (tmp_path / "scripts" / "other.py").write_text("print('other')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a\n1\n")
    (tmp_path / "contracts").mkdir()
    write(tmp_path / "contracts", "prep.yaml", STEP_CONTRACT)
    return tmp_path


def pipeline_yaml(project: Path, step: str) -> Path:
    body = textwrap.indent(textwrap.dedent(step).strip(), "    ")
    text = f"name: demo\nsteps:\n  prep:\n    kind: processing\n{body}\n"
    path = project / "pipeline.yaml"
    path.write_text(text)
    return path


def test_contract_paths_decide_mounts_outputs_and_script(project: Path) -> None:
    path = pipeline_yaml(
        project,
        """
        source_dir: scripts
        contract: contracts/prep.yaml
        inputs: {raw: data, extra: data}
        """,
    )
    step = load_and_validate(path).steps["prep"]
    assert step.contract is not None and step.contract.source == str(
        project / "contracts" / "prep.yaml"
    )
    assert step.script == project / "scripts" / "prep.py"
    assert step.inputs["raw"].destination == RAW
    assert step.inputs["extra"].destination is None
    assert list(step.outputs) == ["train", "report"]
    assert step.outputs["train"].destination == TRAIN
    assert step.outputs["report"].destination == REPORT


def test_listed_outputs_are_kept_and_mounted_at_contract_paths(project: Path) -> None:
    path = pipeline_yaml(
        project,
        """
        script: scripts/other.py
        contract: contracts/prep.yaml
        inputs: {raw: {path: data}}
        outputs: [train, logs]
        """,
    )
    step = load_and_validate(path).steps["prep"]
    assert step.script == project / "scripts" / "other.py"
    assert list(step.outputs) == ["train", "logs"]
    assert step.outputs["train"].destination == TRAIN
    assert step.outputs["logs"].destination is None
    assert step.inputs["raw"].destination == RAW


def test_the_same_explicit_destination_is_accepted(project: Path) -> None:
    path = pipeline_yaml(
        project,
        f"""
        source_dir: scripts
        contract: contracts/prep.yaml
        inputs: {{raw: {{path: data, destination: "{RAW}/"}}}}
        outputs: {{train: {{destination: "{TRAIN}"}}}}
        """,
    )
    step = load_and_validate(path).steps["prep"]
    assert step.inputs["raw"].destination == RAW
    assert step.outputs["train"].destination == TRAIN


@pytest.mark.parametrize(
    ("fields", "field", "given"),
    [
        (
            "inputs: {raw: {path: data, destination: /opt/ml/processing/input/other}}",
            "steps.prep.inputs.raw.destination",
            "/opt/ml/processing/input/other",
        ),
        (
            "outputs: {train: {destination: /opt/ml/processing/output/train}}",
            "steps.prep.outputs.train.destination",
            "/opt/ml/processing/output/train",
        ),
    ],
)
def test_a_conflicting_destination_is_a_field_error(
    project: Path, fields: str, field: str, given: str
) -> None:
    path = pipeline_yaml(project, f"source_dir: scripts\ncontract: contracts/prep.yaml\n{fields}")
    with pytest.raises(InputError) as info:
        load_and_validate(path)
    error = info.value
    assert error.exit_code == 2 and error.file == str(path) and error.field == field
    message = str(error)
    assert given in message and "contracts/prep.yaml" in message
    assert "give the path in one place" in message and "\n" not in message


def test_a_relative_destination_with_a_contract_is_a_field_error(project: Path) -> None:
    path = pipeline_yaml(
        project,
        """
        source_dir: scripts
        contract: contracts/prep.yaml
        inputs: {raw: {path: data, destination: relative/raw}}
        """,
    )
    with pytest.raises(InputError) as info:
        load_and_validate(path)
    assert info.value.field == "steps.prep.inputs.raw.destination"


def test_a_bad_contract_is_reported_against_the_contract_file(project: Path) -> None:
    write(project / "contracts", "bad.yaml", "entry_point: prep.py\nexpected_outputs: {}\n")
    path = pipeline_yaml(project, "source_dir: scripts\ncontract: contracts/bad.yaml\n")
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    assert info.value.file == str(project / "contracts" / "bad.yaml")
    assert "did you mean 'expected_output_paths'" in str(info.value)


def test_a_missing_contract_file(project: Path) -> None:
    path = pipeline_yaml(project, "source_dir: scripts\ncontract: contracts/absent.yaml\n")
    with pytest.raises(InputError, match="no such contract file") as info:
        load_pipeline(path)
    assert info.value.file == str(project / "contracts" / "absent.yaml")


def test_a_contract_of_the_wrong_type(project: Path) -> None:
    path = pipeline_yaml(project, "script: scripts/prep.py\ncontract: 5\n")
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    assert info.value.field == "steps.prep.contract"
    assert "contract file (.yaml, .json, .py)" in str(info.value)


def test_python_pipeline_with_contract_object_and_file(project: Path) -> None:
    path = write(
        project,
        "pipeline.py",
        f"""
        from orchestrator import Pipeline, ScriptContract

        pipeline = Pipeline("demo")
        inline = ScriptContract(
            entry_point="other.py", expected_output_paths={{"out": "{REPORT}"}}
        )
        prep = pipeline.processing(
            "prep", source_dir="scripts", inputs={{"raw": "data"}},
            contract="contracts/prep.yaml",
        )
        pipeline.processing(
            "other", source_dir="scripts", inputs={{"x": prep.output("train")}}, contract=inline
        )
        """,
    )
    pipeline = load_and_validate(path)
    prep, other = pipeline.steps["prep"], pipeline.steps["other"]
    assert prep.inputs["raw"].destination == RAW
    assert prep.outputs["train"].destination == TRAIN
    assert other.script == project / "scripts" / "other.py"
    assert other.outputs["out"].destination == REPORT
    assert other.inputs["x"].destination is None


def test_training_step_takes_its_script_but_keeps_sagemaker_channels(project: Path) -> None:
    write(
        project / "contracts",
        "train.yaml",
        "entry_point: prep.py\nexpected_input_paths: {train: /opt/ml/input/data/train}\n"
        "expected_output_paths: {model: /opt/ml/model}\n",
    )
    pipeline = Pipeline("demo", base_dir=project)
    handle = pipeline.training(
        "fit", source_dir="scripts", inputs={"train": "data"}, contract="contracts/train.yaml"
    )
    step = handle.step
    assert step.kind is StepKind.TRAINING
    assert step.script == project / "scripts" / "prep.py"
    assert step.inputs["train"].destination is None
    assert step.outputs == {}


def test_example_pipelines_mount_where_their_contracts_say() -> None:
    for name in ("pipeline.yaml", "pipeline.py"):
        pipeline = load_and_validate(EXAMPLES / name)
        prep = pipeline.steps["preprocess"]
        assert prep.contract is not None
        for output, spec in prep.outputs.items():
            assert spec.destination == prep.contract.expected_output_paths[output]
        assert prep.inputs["raw"].destination == "/opt/ml/processing/input/raw"


ABSENT_ENTRY_POINT = (
    "entry_point: absent.py\nexpected_output_paths: {out: /opt/ml/processing/output/o}\n"
)


def test_a_missing_entry_point_script_names_the_contract_and_source_dir(project: Path) -> None:
    write(project / "contracts", "absent.yaml", ABSENT_ENTRY_POINT)
    path = pipeline_yaml(project, "source_dir: scripts\ncontract: contracts/absent.yaml\n")
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    error = info.value
    message = str(error)
    assert error.file == str(path) and error.field == "steps.prep.contract.entry_point"
    assert f"no such script: {project / 'scripts' / 'absent.py'}" in message
    assert "entry_point 'absent.py'" in message and "contracts/absent.yaml" in message
    assert f"source_dir {project / 'scripts'}" in message and "\n" not in message


def test_a_missing_entry_point_script_without_source_dir(project: Path) -> None:
    write(project / "contracts", "absent.yaml", ABSENT_ENTRY_POINT)
    path = write(
        project,
        "pipeline.py",
        """
        from orchestrator import Pipeline

        pipeline = Pipeline("demo")
        pipeline.processing("prep", contract="contracts/absent.yaml")
        """,
    )
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    error = info.value
    assert error.field == "steps.prep.contract.entry_point" and error.line == 4
    assert f"no such script: {project / 'absent.py'}" in str(error)
    assert f"the pipeline file's folder {project}" in str(error)

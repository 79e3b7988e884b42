"""How long does cit take to read, check and plan a large SageMaker pipeline definition?

Writes a chain of ``--steps`` processing steps twice, in a temporary folder: as the definition
JSON that SageMaker's ``CreatePipeline`` receives (each step reads a folder inside the previous
step's output through ``Std:Join``, the first reads a pipeline parameter) and as the same
pipeline in cit's own YAML. Then, for N rounds (alternating which goes first), it times, in this
process, what ``cit run`` does before the first container starts: load the file, validate it
and plan the run (every step's SageMaker job: config files, environment, mounts). It prints
each round, the medians and the definition/YAML ratio. It reports; it does not assert on
timing. Exit status 0, or 2 when the benchmark could not start.

    python benchmarks/definition_load.py [--steps 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from orchestrator.run.pipeline_run import load_and_validate  # noqa: E402
from orchestrator.run.plan import plan_run  # noqa: E402
from orchestrator.run.settings import RunSettings  # noqa: E402

CODE = "/opt/ml/processing/input/code"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def s3_input(local: str, uri: Any) -> dict[str, Any]:
    return {
        "InputName": local.rsplit("/", 1)[-1],
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def definition_step(index: int) -> dict[str, Any]:
    name = f"step{index:03d}"
    source: Any = {"Get": "Parameters.InputData"}
    if index > 0:
        previous = f"Steps.step{index - 1:03d}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
        source = {"Std:Join": {"On": "/", "Values": [{"Get": previous}, "part"]}}
    output_uri = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", "bucket", "chain", {"Get": "Execution.PipelineExecutionId"}, name],
        }
    }
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", f"{CODE}/step.py"],
                "ContainerArguments": ["--index", str(index)],
            },
            "RoleArn": "arn:aws:iam::000000000000:role/pipeline",
            "ProcessingInputs": [
                s3_input("/opt/ml/processing/input/prev", source),
                s3_input(CODE, f"s3://bucket/chain/code/{index:064x}/step.py"),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": output_uri,
                            "LocalPath": "/opt/ml/processing/output/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "Environment": {"STEP": name},
        },
    }


def write_definition(folder: Path, steps: int) -> Path:
    definition = {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [{"Name": "InputData", "Type": "String", "DefaultValue": "data"}],
        "Steps": [definition_step(i) for i in range(steps)],
    }
    path = folder / "chain.definition.json"
    path.write_text(json.dumps(definition, indent=1), encoding="utf-8")
    return path


def write_yaml(folder: Path, steps: int) -> Path:
    lines = ["name: chain", "steps:"]
    for index in range(steps):
        name = f"step{index:03d}"
        previous = f"{{step: step{index - 1:03d}, output: out, path: part}}"
        source = "data" if index == 0 else previous
        lines += [
            f"  {name}:",
            "    kind: processing",
            "    script: scripts/step.py",
            f"    arguments: ['--index', '{index}']",
            f"    env: {{STEP: {name}}}",
            f"    inputs: {{prev: {source}}}",
            "    outputs: [out]",
        ]
    path = folder / "chain.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_and_plan(path: Path, runs: Path) -> float:
    """Seconds to load, validate and plan the pipeline in ``path``."""
    started = time.perf_counter()
    pipeline = load_and_validate(path)
    run_id = f"r{time.monotonic_ns()}"
    plan_run(pipeline, path, RunSettings(cit_dir=runs), run_id, runs / run_id)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.steps < 1 or args.rounds < 1:
        print("--steps and --rounds must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cit-bench-") as tmp:
        folder = Path(tmp)
        (folder / "scripts").mkdir()
        (folder / "scripts" / "step.py").write_text("print('step')\n", encoding="utf-8")
        (folder / "step.py").write_text("print('step')\n", encoding="utf-8")
        (folder / "data").mkdir()
        sides: dict[str, Callable[[], float]] = {
            "definition": lambda: load_and_plan(write_definition(folder, args.steps), folder),
            "yaml": lambda: load_and_plan(write_yaml(folder, args.steps), folder),
        }
        sides["definition"](), sides["yaml"]()  # warm-up: imports and caches
        times: dict[str, list[float]] = {"definition": [], "yaml": []}
        for round_number in range(args.rounds):
            order = ["definition", "yaml"] if round_number % 2 == 0 else ["yaml", "definition"]
            for side in order:
                times[side].append(sides[side]())
            print(
                f"round {round_number + 1}: definition {times['definition'][-1]:.3f} s, "
                f"yaml {times['yaml'][-1]:.3f} s"
            )
    definition = statistics.median(times["definition"])
    native = statistics.median(times["yaml"])
    print(
        f"{args.steps} steps, median of {args.rounds}: load + validate + plan of the definition "
        f"{definition:.3f} s, of the same pipeline in cit's YAML {native:.3f} s "
        f"(ratio {definition / native:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

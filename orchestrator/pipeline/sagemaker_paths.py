"""Where SageMaker puts things inside a job's container (``/opt/ml/...``): the paths a script
reads and writes, and where a step's inputs and outputs are mounted."""

from __future__ import annotations

from .model import Step, StepKind

ML = "/opt/ml"


PROCESSING_INPUT = f"{ML}/processing/input"


PROCESSING_OUTPUT = f"{ML}/processing/output"


PROCESSING_CODE = f"{PROCESSING_INPUT}/code"


PROCESSING_CONFIG = f"{ML}/config"


TRAINING_INPUT = f"{ML}/input"


TRAINING_CONFIG = f"{TRAINING_INPUT}/config"


TRAINING_DATA = f"{TRAINING_INPUT}/data"


TRAINING_CODE = f"{ML}/code"


MODEL_DIR = f"{ML}/model"


OUTPUT_DIR = f"{ML}/output"


OUTPUT_DATA_DIR = f"{OUTPUT_DIR}/data"


OUTPUT_INTERMEDIATE_DIR = f"{OUTPUT_DIR}/intermediate"


def input_destination(step: Step, channel: str) -> str:
    explicit = step.inputs[channel].destination
    if explicit:
        return explicit
    base = PROCESSING_INPUT if step.kind is StepKind.PROCESSING else TRAINING_DATA
    return f"{base}/{channel}"


def output_destination(step: Step, name: str) -> str:
    return step.outputs[name].destination or f"{PROCESSING_OUTPUT}/{name}"

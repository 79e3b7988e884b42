"""The tabular example as the SageMaker Python SDK describes it: preprocess -> train -> evaluate.

This is the file a team deploys with ``pipeline.upsert(role_arn=...)``. cit runs it locally,
without any AWS call or upload: ``cit run --dag examples/tabular/sagemaker_pipeline.py``
(needs ``pip install "cit-sagemaker[sagemaker]"``). ``pipeline.py`` beside this file is the
same pipeline in cit's own format.
"""

from pathlib import Path

from sagemaker.inputs import TrainingInput
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.xgboost.estimator import XGBoost

HERE = Path(__file__).resolve().parent
ROLE = "arn:aws:iam::111122223333:role/SageMakerPipelineRole"
OUT = "/opt/ml/processing/output"

session = PipelineSession()
raw_data = ParameterString("RawData", default_value="data/raw")
max_depth = ParameterInteger("MaxDepth", default_value=4)

sklearn = SKLearnProcessor(
    framework_version="1.4-2",
    role=ROLE,
    instance_type="ml.m5.xlarge",
    instance_count=1,
    env={"LABEL_COLUMN": "label"},
    sagemaker_session=session,
)
preprocess = ProcessingStep(
    "preprocess",
    step_args=sklearn.run(
        code=str(HERE / "scripts" / "preprocess.py"),
        inputs=[ProcessingInput(source=raw_data, destination="/opt/ml/processing/input/raw")],
        outputs=[
            ProcessingOutput(output_name=name, source=f"{OUT}/{name}")
            for name in ("train", "val", "test")
        ],
        arguments=["--val-ratio", "0.15", "--test-ratio", "0.15", "--random-seed", "42"],
    ),
)


def split(name: str):  # type: ignore[no-untyped-def]
    return preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


xgboost = XGBoost(
    entry_point="train.py",
    source_dir=str(HERE / "scripts"),
    framework_version="1.7-1",
    role=ROLE,
    instance_type="ml.m5.xlarge",
    instance_count=1,
    hyperparameters={"max_depth": max_depth, "n_estimators": 60, "eta": 0.2},
    sagemaker_session=session,
)
train = TrainingStep(
    "train",
    step_args=xgboost.fit(
        {
            "train": TrainingInput(s3_data=split("train"), content_type="text/csv"),
            "validation": TrainingInput(s3_data=split("val"), content_type="text/csv"),
        }
    ),
)

evaluator = ScriptProcessor(
    image_uri=sklearn.image_uri,
    command=["python3"],
    role=ROLE,
    instance_type="ml.m5.xlarge",
    instance_count=1,
    sagemaker_session=session,
)
evaluate = ProcessingStep(
    "evaluate",
    step_args=evaluator.run(
        code=str(HERE / "scripts" / "evaluate.py"),
        inputs=[
            ProcessingInput(
                source=train.properties.ModelArtifacts.S3ModelArtifacts,
                destination="/opt/ml/processing/input/model",
            ),
            ProcessingInput(source=split("test"), destination="/opt/ml/processing/input/test"),
        ],
        outputs=[
            ProcessingOutput(output_name=name, source=f"{OUT}/{name}")
            for name in ("predictions", "metrics")
        ],
    ),
)

pipeline = Pipeline(
    "tabular-xgboost",
    parameters=[raw_data, max_depth],
    steps=[preprocess, train, evaluate],
    sagemaker_session=session,
)

"""The public names of orchestrator.aws, loaded on first use."""

from .discovery import ExecutionDiscovery as ExecutionDiscovery
from .discovery import SageMakerDiscovery as SageMakerDiscovery
from .discovery import StepOutputs as StepOutputs
from .fake_sagemaker import FakeSageMaker as FakeSageMaker
from .s3 import S3Settings as S3Settings
from .s3_uris import S3Uri as S3Uri

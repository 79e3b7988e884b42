"""The public names of orchestrator.suite, loaded on first use."""

from .config import IntegrationTestConfig as IntegrationTestConfig
from .config import load_config as load_config
from .pipeline import PipelineRun as PipelineRun
from .pipeline import run_pipeline as run_pipeline
from .s3_manager import S3IntegrationManager as S3IntegrationManager

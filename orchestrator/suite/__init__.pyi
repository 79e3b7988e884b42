"""The public names of orchestrator.suite, loaded on first use."""

from .config import IntegrationTestConfig as IntegrationTestConfig
from .config import load_config as load_config
from .s3_manager import S3IntegrationManager as S3IntegrationManager

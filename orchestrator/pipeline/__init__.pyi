"""The public names of orchestrator.pipeline, loaded on first use."""

from .dag import PipelineDAG as PipelineDAG
from .loader import load_pipeline as load_pipeline
from .model import Instance as Instance
from .model import Pipeline as Pipeline
from .model import Step as Step
from .model import StepKind as StepKind
from .model import StepOutput as StepOutput
from .validate import validate_pipeline as validate_pipeline

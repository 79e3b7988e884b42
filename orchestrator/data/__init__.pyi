"""The public names of orchestrator.data, loaded on first use."""

from .capture import capture_output as capture_output
from .contracts import ScriptContract as ScriptContract
from .contracts import load_contract as load_contract
from .metrics import MetricExpectation as MetricExpectation
from .profiles import ColumnProfile as ColumnProfile
from .profiles import DatasetProfile as DatasetProfile
from .profiles import OutputProfile as OutputProfile
from .schemas import ColumnSpec as ColumnSpec
from .schemas import DataSchema as DataSchema
from .schemas import load_schema as load_schema
from .synthetic import generate_table as generate_table

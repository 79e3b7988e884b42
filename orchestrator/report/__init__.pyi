"""The public names of orchestrator.report, loaded on first use."""

from .model import Report as Report
from .model import build_report as build_report
from .model import load_report as load_report

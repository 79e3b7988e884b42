"""The public names of orchestrator.testing, loaded on first use."""

from .unittest_suite import IntegrationTestSuite as IntegrationTestSuite

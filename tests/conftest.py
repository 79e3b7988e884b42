"""Fixtures shared by every test folder."""

from collections.abc import Iterator

import pytest

from orchestrator.cli.defaults import ENVIRONMENT

pytest_plugins = ["tests.s3_server"]


@pytest.fixture(autouse=True)
def no_cit_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test sees only the ``CIT_*`` settings it sets itself, whatever the shell has."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    yield

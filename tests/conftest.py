"""Fixtures shared by every test folder."""

pytest_plugins = ["tests.s3_server"]

"""The command line: `cit` and its commands, a thin layer over the library."""

from .app import main

__all__ = ["main"]

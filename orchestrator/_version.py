"""The version of cit, in one place: the package, the runner image tag and reports read it."""

__version__ = "0.1.0"

"""The command line: `cit` and its commands, a thin layer over the library."""

from .platform_check import refuse_native_windows


def main() -> None:
    """The ``cit`` console script: the platform checked before the commands are imported."""
    refuse_native_windows()
    from .app import main as run_command_line

    run_command_line()


__all__ = ["main"]

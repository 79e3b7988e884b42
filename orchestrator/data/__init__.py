"""Data and tables: what flowed, what it must look like, and checks on it.

``profiles`` what was captured of an output; ``tables`` which files are tables; ``schemas`` and
``contracts`` what a script promises; ``compatibility`` captured data against a schema;
``capture`` profiling an output; ``quality``/``quality_checks`` data-quality checks;
``arrow_literals`` the Arrow values checks compare with, made without pyarrow's pandas import;
``snapshots`` golden schemas; ``synthetic`` generated test data; ``metrics`` a step's metrics
file and the bounds written on them.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

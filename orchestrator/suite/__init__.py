"""Whole runs: ``pipeline`` a pipeline as ``cit run`` runs it (``run_pipeline``: steps, edges,
expectations, reports, one verdict); ``cit test-all``: the configuration file (``config``),
the plan of scenarios and script tests (``plan``), running it (``run``), the global
data-quality checks (``quality``) and the S3 integration manager (``s3_manager``).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

"""Data-flow checks between connected scripts.

``edges`` what flowed along each wire and whether its consumer could use it; ``tester`` the
``PipelineDataFlowTester`` and ``cit test-flow``; ``contract_check`` contracts against
scripts, without running them; ``expectation_results`` the pipeline's expectations judged.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

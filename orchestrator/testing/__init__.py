"""Test-framework adapters: ``unittest_suite`` (``IntegrationTestSuite``) and ``pytest_plugin``.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

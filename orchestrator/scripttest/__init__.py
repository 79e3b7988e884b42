"""Testing one script with test cases: metrics, outputs, data quality, logs.

``cases`` the test-case files; ``case_checks`` judging a case; ``runner`` running cases;
``tester`` the ``ScriptUnitTester`` API; ``on_s3`` a script on data of an earlier execution;
``registry`` the test data registry.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

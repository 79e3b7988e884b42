"""The HTML report: ``page`` the document, ``charts``, ``dag`` the pipeline drawing, ``text``
and ``assets``.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

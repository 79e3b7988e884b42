"""Reports: one model (``model``) rendered as JSON, JUnit (``junit``) and HTML (``html/``),
written by ``write`` as ``config`` asks; ``history`` earlier runs; ``console`` the issues and
panels printed in the terminal.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

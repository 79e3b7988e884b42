"""Engines: where a container spec runs. ``base`` the ``Engine`` protocol every engine keeps;
``spec`` the engine-neutral container spec and labels; ``docker_engine`` the only module that
imports ``docker`` (on first use); ``engine_queries`` the engine's answers to cit's questions,
over its socket without the SDK; ``process_engine`` a script's ``main`` in a host process;
``fake_engine`` for tests; ``image_build`` the runner image; ``cleanup`` containers left by a
killed run.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

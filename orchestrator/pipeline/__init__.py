"""The pipeline: what a user writes, loaded and checked before anything runs.

``model`` steps and the ``Pipeline`` builder; ``dag`` the node-and-edge form; ``loader`` Python
and YAML pipeline files; ``sagemaker_definition`` a SageMaker pipeline definition (JSON) as a
``Pipeline``; ``yaml_writer`` a ``Pipeline`` written as cit's YAML; ``validate`` the checks
before a run; ``graph`` order and ancestry; ``wiring`` which output feeds which input;
``expectations`` what the outputs must show; ``resources`` instance sizes; ``sagemaker_paths``
the ``/opt/ml`` paths; ``source_scan`` what a script reads and writes, read from its source.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

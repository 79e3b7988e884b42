"""One run of a pipeline: plan, execute every step in DAG order, record the results.

``pipeline_run`` load, validate, fetch inputs and execute; ``plan`` the run's containers;
``sagemaker_job`` a step as a SageMaker job (config files, environment, mounts); ``executor``
steps in DAG order; ``step_runner`` one step's container; ``conditions`` condition and fail
steps, evaluated on the host; ``rundir`` the run directory;
``results`` what a run and its steps ended as; ``progress`` what the console shows meanwhile;
``step_cache`` (with ``cache_key`` and ``digests``) the outputs of unchanged steps taken
from earlier runs; ``selection`` part of a pipeline (``--from``, ``--until``, ``--only``);
``observer``, ``hints``, ``secrets``, ``packaging``, ``settings`` the rest of one run.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

"""AWS: the only subpackage that talks to S3, SageMaker or ECR (boto3 is loaded on first use).

``s3_uris`` S3 URIs as written; ``s3`` downloads, uploads and the S3 settings; ``discovery``
the outputs of earlier SageMaker pipeline executions; ``fake_sagemaker`` its stand-in for tests;
``ecr`` the registry login an ECR image's pull needs.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

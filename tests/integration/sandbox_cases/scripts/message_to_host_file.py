import os

os.symlink(os.path.join(os.environ["HOST_TARGETS"], "canary.txt"), "/opt/ml/output/message")

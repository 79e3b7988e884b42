import os
import sys

# On the host this link names cit's own environment.
os.symlink("/proc/self/environ", "/opt/ml/output/failure")
sys.exit(1)

import sys

with open("/opt/ml/output/failure", "w") as handle:
    handle.write("the reason comes first; ")
    handle.truncate(2 * 1024**3)  # 2 GiB, sparse: no disk used
sys.exit(2)

import os
import shutil

targets = os.environ["HOST_TARGETS"]
with open("/opt/ml/model/model.txt", "w") as handle:
    handle.write("weights\n")
os.symlink(targets, "/opt/ml/model/escape")  # kept as a link in model.tar.gz, never followed
shutil.rmtree("/opt/ml/output/data", ignore_errors=True)
os.symlink(targets, "/opt/ml/output/data")  # output.tar.gz must not hold the host folder

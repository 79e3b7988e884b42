import os
import shutil
import stat

out = "/opt/ml/processing/output/data"
canary = os.path.join(os.environ["HOST_TARGETS"], "canary.csv")
with open(f"{out}/real.csv", "w") as handle:
    handle.write("a,b\n1,2\n3,4\n")
os.symlink(canary, f"{out}/0.csv")  # a table, as capture and uploads see it
os.symlink(canary, f"{out}/rows.tsv")  # report samples
os.symlink(os.path.join(os.environ["HOST_TARGETS"], "metrics.json"), f"{out}/metrics.json")
os.symlink(os.environ["HOST_TARGETS"], f"{out}/host")  # a folder
os.symlink("real.csv", f"{out}/latest.csv")  # a link that stays inside
os.mkfifo(f"{out}/pipe.csv")  # a reader that opens it waits forever
shutil.copy("/bin/bash", f"{out}/tool")
os.chmod(f"{out}/tool", 0o4755 | stat.S_ISGID)
print("wrote links")

"""Steps that attack the host through what they write; ``test_sandbox.py`` runs them.

Each script learns the host paths it aims at from ``HOST_TARGETS`` (a folder on the host that
holds a canary file), as a real step can from /proc/self/mountinfo.
"""

import os

from orchestrator import Pipeline

targets = os.environ["CIT_SANDBOX_TARGETS"]
pipeline = Pipeline("sandbox-probes")
env = {"HOST_TARGETS": targets}

pipeline.processing("failure_to_environ", script="scripts/failure_to_environ.py", env=env)
pipeline.processing("message_to_host_file", script="scripts/message_to_host_file.py", env=env)
links = pipeline.processing(
    "links_out", script="scripts/links_out.py", outputs=["data"], env=env
)
pipeline.processing("consume", script="scripts/consume.py", inputs={"data": links.output("data")})
pipeline.training("train_escape", script="scripts/train_escape.py", env=env)
pipeline.processing("huge_failure", script="scripts/huge_failure.py")
pipeline.processing("chatty", script="scripts/chatty.py")

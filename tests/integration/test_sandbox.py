"""A step is untrusted code: real containers attack the host through what they write, and
nothing they aim at is read, copied, packed or shown by cit on the host.

The steps are in ``sandbox_cases/``. They learn the host paths they aim at from an environment
variable, as a real step can from /proc/self/mountinfo; each target holds a canary, and the
canary must appear nowhere in the run directory, the reports or on the console.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.scripttest.registry import TestDataRegistry

from ..runs import run_dirs
from ..s3_server import S3Server
from .conftest import cit_test_script

CASES = Path(__file__).resolve().parent / "sandbox_cases"
MAX_RSS_KIB = 1024 * 1024  # cit read a 2 GiB failure file whole before; it must stay far below

# cit's own run, measuring its peak memory as it exits (a normal exit raises SystemExit).
MEASURED_CIT = """
import os, resource, runpy, sys
sys.argv = ["cit", *sys.argv[2:]]
try:
    runpy.run_module("orchestrator", run_name="__main__")
finally:
    with open(os.environ["CIT_RSS_FILE"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


@dataclass(frozen=True)
class ProbeRun:
    project: Path
    run_dir: Path
    manifest: dict[str, Any]
    console: str
    exit_code: int
    canaries: tuple[str, ...]
    targets: Path
    peak_rss_kib: int

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.manifest["steps"] if s["name"] == name)

    def findings(self, name: str) -> list[dict[str, Any]]:
        return list(self.step(name).get("findings", []))


@pytest.fixture(scope="module")
def probe(
    engine: DockerEngine, runner_image: str, tmp_path_factory: pytest.TempPathFactory
) -> ProbeRun:
    root = tmp_path_factory.mktemp("sandbox")
    project = root / "project"
    shutil.copytree(CASES, project)
    targets = root / "host-targets"
    targets.mkdir()
    file_canary = f"HOSTCANARY{secrets.token_hex(8)}"
    env_canary = f"ENVCANARY{secrets.token_hex(8)}"
    (targets / "canary.txt").write_text(f"{file_canary}\n")
    (targets / "canary.csv").write_text(f"secret\n{file_canary}\n")
    (targets / "metrics.json").write_text(json.dumps({"auc": 0.99, "note": file_canary}))
    (targets / "earlier-report.json").write_text(json.dumps({"leak": file_canary}))
    rss_file = root / "rss"
    env = {
        **os.environ,
        "AWS_SECRET_ACCESS_KEY": env_canary,
        "CIT_SANDBOX_TARGETS": str(targets),
        "CIT_RSS_FILE": str(rss_file),
        "COLUMNS": "200",
    }
    command = [
        sys.executable, "-c", MEASURED_CIT, "--",
        "run", "--dag", str(project / "pipeline.py"), "--cit-dir", str(root / ".cit"),
        "--format", "json", "--format", "junit", "--format", "html",
        "--config", str(project / "cit.yaml"), "--update-snapshots",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=600, check=False
    )
    [run_dir] = run_dirs(root / ".cit" / "runs")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return ProbeRun(
        project=project,
        run_dir=run_dir,
        manifest=manifest,
        console=done.stdout + done.stderr,
        exit_code=done.returncode,
        canaries=(file_canary, env_canary),
        targets=targets,
        peak_rss_kib=int(rss_file.read_text()),
    )


def files_without_following(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``; links are the attack, so this test follows none."""
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if stat.S_ISREG(os.lstat(path).st_mode):
                yield path


def archive_contents(path: Path) -> bytes:
    """The bytes of every regular member of a tarball (its links are kept as links)."""
    with tarfile.open(path) as archive:
        return b"".join(
            archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        )


def test_no_canary_reaches_the_run_directory_reports_or_console(probe: ProbeRun) -> None:
    """The run directory and the project (snapshots are written beside the pipeline)."""
    for canary in probe.canaries:
        assert canary not in probe.console
        written = [*files_without_following(probe.run_dir), *files_without_following(probe.project)]
        for path in written:
            content = archive_contents(path) if path.name.endswith(".tar.gz") else path.read_bytes()
            assert canary.encode() not in content, f"{canary} leaked into {path}"
    reports = {p.name for p in probe.run_dir.iterdir()}
    assert {"report.json", "report.xml", "report.html"} <= reports


def test_failure_file_linked_to_cits_environment_is_not_read(probe: ProbeRun) -> None:
    step = probe.step("failure_to_environ")
    assert step["status"] == "failed" and step["exit_code"] == 1
    assert step["message"] is None
    [finding] = probe.findings("failure_to_environ")
    assert finding["rule"] == "link_outside_output" and finding["severity"] == "error"
    assert "/opt/ml/output/failure" in finding["description"]
    assert "/proc/self/environ" in finding["description"]


def test_message_file_linked_to_a_host_file_is_not_read(probe: ProbeRun) -> None:
    step = probe.step("message_to_host_file")
    assert step["message"] is None
    assert [f["rule"] for f in probe.findings("message_to_host_file")] == ["link_outside_output"]


def test_links_in_an_output_are_neither_captured_nor_followed(probe: ProbeRun) -> None:
    [data] = probe.step("links_out")["outputs"]
    profile = data["profile"]
    datasets = [f for d in profile["datasets"] for f in d["files"]]
    artifacts = [a["path"] for a in profile["artifacts"]]
    assert datasets == ["real.csv"]  # not 0.csv, rows.tsv, latest.csv or the pipe
    assert artifacts == ["tool"]  # not metrics.json, nor anything in host/
    assert data["files"] == 2
    findings = {(f["rule"], f["severity"]) for f in probe.findings("links_out")}
    assert findings == {
        ("link_outside_output", "error"),
        ("link_in_output", "warning"),
        ("special_file_removed", "warning"),
        ("setid_bit_removed", "warning"),
    }
    outside = next(f for f in probe.findings("links_out") if f["rule"] == "link_outside_output")
    for name in ("0.csv", "rows.tsv", "metrics.json", "host"):
        assert f"/opt/ml/processing/output/data/{name}" in outside["description"]


def test_report_samples_and_snapshots_hold_only_what_the_step_really_wrote(
    probe: ProbeRun,
) -> None:
    report = json.loads((probe.run_dir / "report.json").read_text())
    [suite] = report["suites"]
    assert suite["samples"]["links_out"]["data"] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert "links_out" not in suite.get("metrics", {})  # metrics.json is a link: not read
    snapshot = probe.project / "pipeline.snapshots" / "links_out" / "data.json"
    [dataset] = json.loads(snapshot.read_text())["datasets"]
    assert [c["name"] for c in dataset["columns"]] == ["a", "b"]  # not the linked file's


def test_registering_a_run_output_copies_no_link(probe: ProbeRun, tmp_path: Path) -> None:
    registry = TestDataRegistry(tmp_path / "registry")
    entry = registry.register_run_output(
        probe.run_dir, "links_out", "data", script="consume", case="probe"
    )
    stored = tmp_path / "registry" / entry.stored
    assert sorted(p.name for p in stored.iterdir()) == ["real.csv", "tool"]
    assert entry.files == 2
    for path in files_without_following(tmp_path / "registry"):
        assert all(c.encode() not in path.read_bytes() for c in probe.canaries)


def test_a_chatty_steps_log_is_cut_at_the_configured_limit(probe: ProbeRun) -> None:
    step = probe.step("chatty")
    assert step["status"] == "succeeded"
    log = Path(step["log_file"]).read_text().splitlines()
    assert log[0].startswith("progress 000000")
    assert log[-2] == "[cit] log.txt is cut here at 256.0 KiB (log limit)"
    assert log[-1].startswith("[cit] ") and "were not saved" in log[-1]
    assert Path(step["log_file"]).stat().st_size < 256 * 1024 + 1024
    assert step["log_tail"][-1] == "the last line"


def test_setuid_bits_and_special_files_do_not_reach_the_host(probe: ProbeRun) -> None:
    folder = probe.run_dir / "steps" / "links_out" / "outputs" / "data"
    mode = os.lstat(folder / "tool").st_mode
    assert stat.S_ISREG(mode) and not mode & (stat.S_ISUID | stat.S_ISGID)
    assert not os.path.lexists(folder / "pipe.csv")
    assert os.path.islink(folder / "latest.csv")  # kept: it only names a file beside it


def test_the_consumer_still_runs_and_the_escaping_link_fails_the_run(probe: ProbeRun) -> None:
    assert probe.step("consume")["status"] == "succeeded"
    assert probe.exit_code == 1
    report = json.loads((probe.run_dir / "report.json").read_text())
    failed = [t for s in report["suites"] for t in s["tests"] if t["outcome"] == "failed"]
    assert any("link_outside_output" in json.dumps(t) for t in failed)


def test_training_folders_replaced_by_links_are_not_packed(probe: ProbeRun) -> None:
    step = probe.step("train_escape")
    assert step["status"] == "succeeded"
    outputs = probe.run_dir / "steps" / "train_escape" / "outputs"
    with tarfile.open(outputs / "model" / "model.tar.gz") as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert set(members) == {"model.txt", "escape"}
    assert members["escape"].issym() and members["escape"].linkname == str(probe.targets)
    with tarfile.open(outputs / "output_data" / "output.tar.gz") as archive:
        assert archive.getnames() == []
    described = " ".join(f["description"] for f in probe.findings("train_escape"))
    assert "/opt/ml/output/data" in described and "/opt/ml/model/escape" in described


def test_a_sparse_2_gib_failure_file_is_read_within_bounds(probe: ProbeRun) -> None:
    step = probe.step("huge_failure")
    assert step["status"] == "failed"
    assert step["message"].startswith("the reason comes first;")
    assert len(step["message"]) <= 1024
    assert probe.peak_rss_kib < MAX_RSS_KIB, f"cit peaked at {probe.peak_rss_kib} KiB"


def test_uploads_send_only_what_the_step_really_wrote(
    engine: DockerEngine, runner_image: str, s3_server: S3Server, tmp_path: Path
) -> None:
    """`cit run --upload-outputs`: a link to a host file is not uploaded with that file's
    content (capture counted 1 file while the upload sent 3)."""
    project = tmp_path / "project"
    shutil.copytree(CASES / "scripts", project / "scripts")
    targets = tmp_path / "host-targets"
    targets.mkdir()
    canary = f"HOSTCANARY{secrets.token_hex(8)}"
    for name in ("canary.csv", "metrics.json"):
        (targets / name).write_text(f"secret\n{canary}\n")
    (project / "pipeline.yaml").write_text(
        "name: upload-probe\nsteps:\n  links_out: {kind: processing, "
        f"script: scripts/links_out.py, outputs: [data], env: {{HOST_TARGETS: '{targets}'}}}}\n"
    )
    bucket = s3_server.bucket()
    done = subprocess.run(
        [
            sys.executable, "-m", "orchestrator", "run", "--dag", str(project / "pipeline.yaml"),
            "--cit-dir", str(tmp_path / ".cit"), "-q",
            "--upload-outputs", f"s3://{bucket}/ci", "--keep-uploads",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "uploaded links_out/data: 2 files" in done.stdout, done.stdout + done.stderr
    assert "5 link(s) not followed, not uploaded" in done.stdout
    client = s3_server.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(k.rsplit("/data/", 1)[1] for k in keys) == ["real.csv", "tool"]
    for key in keys:
        assert canary.encode() not in client.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_cases_metrics_are_not_read_through_a_link(
    engine: DockerEngine, runner_image: str, tmp_path: Path
) -> None:
    """`cit test-script`: metrics.json linked to a host file is not the case's metrics."""
    targets = tmp_path / "host-targets"
    targets.mkdir()
    (targets / "metrics.json").write_text(json.dumps({"auc": 0.99}))
    script = tmp_path / "score.py"
    script.write_text(
        "import os\n"
        "os.makedirs('/opt/ml/processing/output/metrics', exist_ok=True)\n"
        f"os.symlink('{targets}/metrics.json', "
        "'/opt/ml/processing/output/metrics/metrics.json')\n"
    )
    cases = tmp_path / "cases.yaml"
    cases.write_text("test_cases:\n  - name: linked\n    expected_metrics: {auc: '>= 0.9'}\n")
    done, report = cit_test_script(script, cases, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    [case] = json.loads(report.read_text())["test_results"]
    assert not case["passed"]
    assert "0.99" not in json.dumps(case)
    messages = [f["message"] for f in case["failures"]]
    assert "metrics file 'metrics.json' was not written (outputs: none)" in messages
    linked = "[link_outside_output] '/opt/ml/processing/output/metrics/metrics.json'"
    assert any(m.startswith(linked) for m in messages)

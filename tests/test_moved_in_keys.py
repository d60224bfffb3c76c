"""The keys issue #22 adds for what moved-in jobs say: each reaches the generated file as HTCondor or
Slurm reads it, and each is an error with its line and column on the scheduler (or runtime) that has
no place for it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import htcondor2
import pytest

from tests.conftest import run_cli, shellcheck

HTCONDOR = """\
schema_version: 1
name: demo
source: [run.sh]
jobs:
  a:
    runtime: container
    image: docker://python:3.12-slim
    universe: docker
    docker_pull_policy: always
    command: [bash, run.sh]
    resources: {gpus: 1}
    gpu: {require: "(Capability >= 7.0) && (Capability < 9.0)"}
    when_to_transfer_output: ON_EXIT_OR_EVICT
    checkpoint: {exit_code: 85}
    count: 5
    notification: Complete
    notify_user: alice@example.edu
    batch_name: nightly report
"""


def _write(root: Path, spec: str) -> None:
    (root / "specs").mkdir(exist_ok=True)
    (root / "specs" / "project.yaml").write_text(spec)
    (root / "run.sh").write_text("echo hi\n")


def test_htcondor_keys_reach_the_sub_as_htcondor_reads_them(tmp_path: Path) -> None:
    _write(tmp_path, HTCONDOR)
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    text = (tmp_path / "build" / "htcondor" / "a.sub").read_text()
    sub = htcondor2.Submit(text)
    assert sub["universe"] == "docker" and sub["docker_image"] == "python:3.12-slim" and "container_image" not in sub
    assert sub["docker_pull_policy"] == "always" and sub["when_to_transfer_output"] == "ON_EXIT_OR_EVICT"
    assert sub["require_gpus"] == "(Capability >= 7.0) && (Capability < 9.0)"
    assert sub["checkpoint_exit_code"] == "85" and "transfer_checkpoint_files" not in sub
    assert sub["notification"] == "Complete" and sub["notify_user"] == "alice@example.edu"
    assert sub["batch_name"] == "nightly report"
    assert text.rstrip().endswith("queue 5")
    with_sweep = HTCONDOR.replace("    count: 5\n", "    count: 2\n    sweep: {seed: [1, 2]}\n").replace(
        "[bash, run.sh]", "[bash, run.sh, '{seed}']"
    )
    (tmp_path / "specs" / "project.yaml").write_text(with_sweep)
    assert run_cli("build", cwd=tmp_path).returncode == 0
    sub = htcondor2.Submit((tmp_path / "build" / "htcondor" / "a.sub").read_text())
    assert (
        len(list(sub.itemdata())) == 2
        and "queue 2 PixiHtcSweep0 from (" in (tmp_path / "build" / "htcondor" / "a.sub").read_text()
    )


PACK = """\
schema_version: 1
name: demo
source: [run.sh]
environments:
  cpu: {dependencies: {numpy: "*"}}
container: {environment: cpu}
jobs:
  a:
    runtime: pixi-pack
    environment: cpu
    command: [bash, run.sh]
    resources: {gpus: 0}
"""


@pytest.mark.parametrize("allowed", [True, False])
def test_the_os_clause_of_pixi_pack_jobs_is_removable(tmp_path: Path, allowed: bool) -> None:
    _write(tmp_path, PACK + ("" if allowed else "    os_requirement: false\n"))
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    sub = htcondor2.Submit((tmp_path / "build" / "htcondor" / "a.sub").read_text())
    assert ("(OpSysMajorVer > 7)" in sub.get("requirements", "")) is allowed


SLURM = """\
schema_version: 1
name: demo
scheduler: slurm
source: [run.sh]
jobs:
  a:
    runtime: host
    command: [bash, run.sh]
    resources: {gpus: 2, cpus: 8, memory: 4GB}
    slurm:
      array: "0-9%2"
      signal: "B:USR1@60"
      requeue: true
      mail_type: END,FAIL
      mail_user: carol@example.org
      memory_option: mem-per-cpu
      cpu_option: cpus-per-gpu
      gpu_option: gpus-per-node
      submit_dir: task
"""


def test_slurm_keys_reach_the_sbatch_lines(tmp_path: Path) -> None:
    _write(tmp_path, SLURM)
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    script = tmp_path / "build" / "slurm" / "a.sbatch"
    lines = [line for line in script.read_text().splitlines() if line.startswith("#SBATCH")]
    for option in (
        "--array=0-9%2",
        "--signal=B:USR1@60",
        "--requeue",
        "--mail-type=END,FAIL",
        "--mail-user=carol@example.org",
        "--mem-per-cpu=4G",
        "--cpus-per-gpu=8",
        "--gpus-per-node=2",
        "--output=logs/a_%A_%a.out",
    ):
        assert f"#SBATCH {option}" in lines
    assert not any(line.startswith(("#SBATCH --mem=", "#SBATCH --cpus-per-task")) for line in lines)
    assert shellcheck(script).returncode == 0
    (tmp_path / "specs" / "project.yaml").write_text(SLURM.replace("memory_option: mem-per-cpu", "memory_option: none"))
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert "--mem" not in script.read_text()


PAYLOAD = """\
trap 'echo "$SLURM_SUBMIT_DIR" > got-usr1; exit 0' USR1
touch started
for _ in $(seq 200); do sleep 0.1; done
exit 3
"""


def test_a_batch_signal_is_passed_on_to_the_command_which_sees_its_task_directory(tmp_path: Path) -> None:
    """Slurm sends --signal=B:USR1 to the batch script only: the script passes it on, and the user's
    script's own trap runs. With submit_dir: task, SLURM_SUBMIT_DIR is where its files are linked."""
    _write(tmp_path, SLURM)
    (tmp_path / "run.sh").write_text(PAYLOAD)
    assert run_cli("build", cwd=tmp_path).returncode == 0
    env = {
        "PATH": "/usr/bin:/bin",
        "SLURM_SUBMIT_DIR": str(tmp_path / "build"),
        "SLURM_JOB_ID": "41",
        "SLURM_ARRAY_JOB_ID": "40",
        "SLURM_ARRAY_TASK_ID": "0",
    }
    batch = subprocess.Popen(
        ["bash", "slurm/a.sbatch"],
        cwd=tmp_path / "build",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    task = tmp_path / "build" / "outputs" / "a" / "41"
    for _ in range(100):
        if (task / "started").exists():
            break
        time.sleep(0.1)
    os.kill(batch.pid, signal.SIGUSR1)
    _, stderr = batch.communicate(timeout=30)
    assert batch.returncode == 0, stderr
    assert (task / "got-usr1").read_text().strip() == str(task.resolve())


@pytest.mark.parametrize(
    ("spec", "where", "message"),
    [
        (SLURM.replace("    slurm:\n", "    count: 3\n    slurm:\n"), "error: jobs.a.count", "for HTCondor jobs"),
        (
            SLURM.replace("    slurm:\n", "    notification: Always\n    slurm:\n"),
            "error: jobs.a.notification",
            "use slurm.mail_type",
        ),
        (SLURM.replace("    slurm:\n", "    universe: docker\n    slurm:\n"), "error: jobs.a.universe", "HTCondor"),
        (
            SLURM.replace("    slurm:\n", "    sweep: {seed: [1, 2]}\n    slurm:\n").replace(
                "run.sh]", "run.sh, '{seed}']"
            ),
            "error: jobs.a.slurm.array",
            "the sweep makes this job's array",
        ),
        (
            SLURM.replace("    slurm:\n", "    checkpoint: {files: [c.pt]}\n    slurm:\n"),
            "error: jobs.a.slurm.signal",
            "signal_seconds",
        ),
        (
            SLURM.replace("gpus: 2", "gpus: 0").replace("      gpu_option: gpus-per-node\n", ""),
            "error: jobs.a.slurm.cpu_option",
            "asks for no GPU",
        ),
        (SLURM.replace('signal: "B:USR1@60"', 'signal: "B:KILL; rm"'), "error: jobs.a.slurm.signal", "is not valid"),
        (HTCONDOR.replace("    universe: docker\n", ""), "error: jobs.a.docker_pull_policy", "add universe: docker"),
        (
            HTCONDOR.replace("    universe: docker\n    docker_pull_policy: always\n", "    os_requirement: false\n"),
            "error: jobs.a.os_requirement",
            "only pixi-pack jobs",
        ),
        (HTCONDOR.replace("gpus: 1}", "gpus: 1}\n    slurm: {array: '1-5'}"), "error: jobs.a.slurm", "for Slurm jobs"),
        (
            HTCONDOR.replace("notify_user: alice@example.edu", "notify_usr: alice@example.edu"),
            "error: jobs.a",
            "notify_user",
        ),
        (
            HTCONDOR.replace("notify_user: alice@example.edu", "notify_user: 'a@b.c\\nqueue'"),
            "error: jobs.a.notify_user",
            "is not valid",
        ),
    ],
)
def test_a_key_where_it_has_no_place_is_a_located_error(tmp_path: Path, spec: str, where: str, message: str) -> None:
    _write(tmp_path, spec)
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2
    line = next((line for line in result.stderr.splitlines() if where in line), "")
    assert re.match(r"specs/project\.yaml:[0-9]+:[0-9]+: ", line) and message in line, result.stderr

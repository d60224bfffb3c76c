"""The example pipeline in its Slurm form (#24) on a real local Slurm (tests/slurm_cluster.py): a small
train sweep on the offline digits, then evaluate and aggregate, in order; and a failed training task
stops what depends on it. Starts its own cluster; keep runs short."""

from __future__ import annotations

import csv
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.slurm_cluster import Cluster, missing

PYTHON_BIN = Path(sys.executable).parent  # has torch and matplotlib


def slurm_form(root: Path, batch_sizes: str, lrs: str) -> Path:
    text = (REPO / "specs" / "examples" / "pipeline.yaml").read_text()
    text = re.sub(r"^scheduler: htcondor.*$", "scheduler: slurm", text, flags=re.M)
    text = re.sub(r"resources: \{[^}]*\}", "resources: {cpus: 1, gpus: 0, memory: 512MB}", text)
    text = text.replace("--epochs, 3", "--epochs, 1").replace("batch_size: [64, 128]", f"batch_size: {batch_sizes}")
    text = text.replace("lr: [0.5, 1.0]", f"lr: {lrs}").replace("retries: 2", "retries: 1")
    (root / "specs" / "examples").mkdir(parents=True)
    (root / "specs" / "examples" / "pipeline.yaml").write_text(text)
    result = run_cli("build", "specs/examples/pipeline.yaml", "--out", "build", cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing()
    if reason:
        pytest.skip(f"no Slurm cluster: {reason}")
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    running = Cluster(tmp_path_factory.mktemp("pipeline-cluster"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def run_pipeline(root: Path, cluster: Cluster) -> dict[str, str]:
    from pixi_htc.mnist_data import write_tarball
    from tests.digits import write_digits

    write_digits(root / "digits" / "data")
    write_tarball(root / "digits" / "data", root / "build" / "MNIST_data.tar.gz")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    # Apptainer's stand-in: runs what follows the image, in the directory --pwd names, with torch on PATH.
    executable(
        bin_dir / "apptainer",
        f"""#!/bin/bash
set -euo pipefail
[ "$1" = exec ] || exit 64
shift
while [ $# -gt 0 ]; do
    case "$1" in
        --nv) shift ;;
        --bind) shift 2 ;;
        --pwd) cd "$2"; shift 2 ;;
        *) break ;;
    esac
done
shift
[ "$1" = /app/entrypoint.sh ] && shift
export PATH="{PYTHON_BIN}:$PATH"
exec "$@"
""",
    )
    env = {"SLURM_CONF": cluster.env["SLURM_CONF"], "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = run_cli("submit", "specs/examples/pipeline.yaml", "--out", "build", cwd=root, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    ids = dict(re.findall(r"^(\w+): Slurm job (\d+)", result.stdout, flags=re.M))
    assert list(ids) == ["train", "evaluate", "aggregate"], result.stdout
    cluster.wait_jobs(list(ids.values()), timeout=240)
    return ids


def tasks(cluster: Cluster, job_id: str) -> dict[str, dict[str, str]]:
    """Each task's (or the job's) scontrol fields, by array task id ('-' for a single job)."""
    text = cluster.client("scontrol", "show", "job", "-o", job_id).stdout
    found = {}
    for line in text.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        found[fields.get("ArrayTaskId", "-")] = fields
    return found


def test_train_evaluate_aggregate_run_in_order_and_the_aggregate_sees_every_process(
    tmp_path: Path, cluster: Cluster
) -> None:
    root = slurm_form(tmp_path, "[64]", "[0.5, 1.0]")
    ids = run_pipeline(root, cluster)
    train, evaluate, aggregate = (tasks(cluster, ids[name]) for name in ("train", "evaluate", "aggregate"))
    assert {task: fields["JobState"] for task, fields in train.items()} == {"0": "COMPLETED", "1": "COMPLETED"}
    assert {task: fields["JobState"] for task, fields in evaluate.items()} == {"0": "COMPLETED", "1": "COMPLETED"}
    assert aggregate["-"]["JobState"] == "COMPLETED", cluster.logs()
    for task in ("0", "1"):  # each evaluation after its own training (ISO times compare as text)
        assert evaluate[task]["StartTime"] >= train[task]["EndTime"]
        assert aggregate["-"]["StartTime"] >= evaluate[task]["EndTime"]
    build = root / "build"
    out = build / "outputs" / "aggregate" / ids["aggregate"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert sorted((row["job"], row["process"], row["lr"], row["batch_size"]) for row in rows) == [
        ("evaluate", "0", "0.5", "64"),
        ("evaluate", "1", "1.0", "64"),
    ]
    assert all(0.2 < float(row["accuracy"]) <= 1 for row in rows), rows  # far above chance, after one epoch
    assert (out / "results.md").read_text().startswith("| job | process |")
    assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
    for task in ("0", "1"):  # the evaluation scored the model its own training task saved
        linked = build / "outputs" / "evaluate" / f"{ids['evaluate']}_{task}" / "mnist_cnn.pt"
        assert linked.resolve() == (build / "outputs" / "train" / f"{ids['train']}_{task}" / "mnist_cnn.pt").resolve()


def never_started(task: dict[str, str]) -> bool:
    """A job cancelled while it waited: Slurm gives it no start (StartTime None or Unknown), a run time
    of zero, or one counted from the epoch (tens of thousands of days: it never had a start)."""
    days = task["RunTime"].split("-")[0] if "-" in task["RunTime"] else "0"
    return task["StartTime"] in ("None", "Unknown") or task["RunTime"] == "00:00:00" or int(days) > 10_000


def test_a_failed_training_task_stops_what_depends_on_it(tmp_path: Path, cluster: Cluster) -> None:
    root = slurm_form(tmp_path, "[64, 0]", "[0.5]")  # batch size 0: the trainer refuses it
    ids = run_pipeline(root, cluster)
    train, evaluate, aggregate = (tasks(cluster, ids[name]) for name in ("train", "evaluate", "aggregate"))
    assert train["0"]["JobState"] == "COMPLETED" and train["1"]["JobState"] == "FAILED", train
    assert evaluate["0"]["JobState"] == "COMPLETED", evaluate
    assert evaluate["1"]["JobState"] == "CANCELLED" and never_started(evaluate["1"]), evaluate
    assert aggregate["-"]["JobState"] == "CANCELLED" and never_started(aggregate["-"]), aggregate
    log = (root / "build" / "logs" / f"train_{ids['train']}_1.out").read_text()
    assert "# Retry 1 of 1" in log, log  # retries: 1 ran it again before giving up
    assert not (root / "build" / "outputs" / "aggregate").exists()

"""pixi-htc results on metrics from real training runs of the bundled trainer (offline digits),
laid out exactly where the generated transfer_output_remaps leave them."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from pixi_htc.follow.metrics import MetricsError, read_metrics
from tests.conftest import DEFAULT_SPEC, load_project, run_cli

pytest.importorskip("torch")
pytest.importorskip("sklearn")
from tests.digits import write_digits
from tests.sweep_runs import land, train

CLUSTER = 4242
TRAINED = (0, 1, 3)  # process 2 has not come back


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """metrics.jsonl of three sweep processes, trained once for this module."""
    work = tmp_path_factory.mktemp("sweep")
    write_digits(work / "data")
    job = next(j for j in load_project(DEFAULT_SPEC).jobs if j.name == "mnist-sweep")
    return {proc: train(job, proc, work / "data", work / f"p{proc}", epochs=2) for proc in TRAINED}


@pytest.fixture
def built(project_dir: Path, runs: dict[int, Path]) -> Path:
    assert run_cli("build", cwd=project_dir).returncode == 0
    job = next(
        j for j in load_project(project_dir / "specs" / "project.yaml", project_dir).jobs if j.name == "mnist-sweep"
    )
    for proc, metrics in runs.items():
        land(project_dir, job, CLUSTER, proc, metrics)
    return project_dir


@pytest.mark.slow
def test_table_csv_best_and_plots(built: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run_cli("results", cwd=built)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "mnist-sweep: cluster 4242, 3 of 4 process(es) have metrics" in out
    csv_path = built / "build" / "outputs" / "mnist-sweep_4242_results.csv"
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [(r["process"], r["batch_size"], r["lr"]) for r in rows] == [
        ("0", "64", "0.5"),
        ("1", "64", "1.0"),
        ("2", "128", "0.5"),
        ("3", "128", "1.0"),
    ]
    done = [r for r in rows if r["status"] == "ok"]
    assert len(done) == 3 and all(r["epochs"] == "2" and 0.3 < float(r["accuracy"]) <= 1 for r in done)
    assert rows[2]["status"] == "no output yet" and rows[2]["accuracy"] == ""
    assert rows[0]["metrics_file"] == "build/outputs/mnist-sweep_4242_0_metrics.jsonl"
    best = max(done, key=lambda r: float(r["accuracy"]))
    assert f"best by accuracy (higher is better): process 4242.{best['process']}" in out
    for name in ("mnist-sweep_curves.png", "mnist-sweep_accuracy_by_lr.png", "mnist-sweep_accuracy_by_batch_size.png"):
        assert (built / "build" / "outputs" / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same metrics give the same CSV, byte for byte.
    first = csv_path.read_bytes()
    assert run_cli("results", "--no-plots", cwd=built).returncode == 0 and csv_path.read_bytes() == first


@pytest.mark.slow
def test_a_loss_is_lower_better_and_the_flag_wins(built: Path) -> None:
    out = run_cli("results", "--metric", "test_loss", "--no-plots", cwd=built).stdout
    assert "best by test_loss (lower is better)" in out
    out = run_cli("results", "--metric", "test_loss", "--higher-is-better", "--no-plots", cwd=built).stdout
    assert "best by test_loss (higher is better)" in out
    result = run_cli("results", "--metric", "nope", "--no-plots", cwd=built)
    assert result.returncode == 2 and "no metric 'nope'" in result.stderr and "accuracy" in result.stderr


@pytest.mark.slow
def test_without_matplotlib_the_table_still_prints(built: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('not installed')\n")
    import os

    result = run_cli(
        "results", cwd=built, env={"PYTHONPATH": os.pathsep.join([str(blocker), str(Path(__file__).parents[1])])}
    )
    assert result.returncode == 0, result.stderr
    assert "best by accuracy" in result.stdout and "plots need matplotlib" in result.stdout


@pytest.mark.slow
def test_a_process_still_writing_and_a_damaged_file(built: Path, runs: dict[int, Path]) -> None:
    outputs = built / "build" / "outputs"
    text = runs[0].read_text()
    (outputs / "mnist-sweep_4242_0_metrics.jsonl").write_text(text[: len(text) - 20])  # cut inside the last line
    records, note = read_metrics(outputs / "mnist-sweep_4242_0_metrics.jsonl", "m")
    assert len(records) == 1 and "still being written" in note
    (outputs / "mnist-sweep_4242_1_metrics.jsonl").write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(MetricsError, match=r"^m:2: not a JSON line"):
        read_metrics(outputs / "mnist-sweep_4242_1_metrics.jsonl", "m")
    result = run_cli("results", "--no-plots", cwd=built)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert "mnist-sweep_4242_1_metrics.jsonl:2: not a JSON line" in result.stdout
    assert "still being written" in result.stdout


def test_a_job_without_metrics(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    result = run_cli("results", "--job", "mnist-gpu-docker", cwd=project_dir)
    assert result.returncode == 2 and "no job lists metrics.jsonl in its outputs" in result.stderr
    result = run_cli("results", "--no-plots", cwd=project_dir)
    assert result.returncode == 0 and "no metrics.jsonl has come back yet" in result.stdout


def test_remaps_are_read_from_the_sub(project_dir: Path) -> None:
    from pixi_htc.schedulers.htcondor.jobfiles import job_files

    assert run_cli("build", cwd=project_dir).returncode == 0
    from pixi_htc.pipeline.compile import compile_spec

    files = job_files(compile_spec(project_dir / "specs" / "project.yaml", project_dir / "build"), "mnist-sweep")
    assert [name for name, _ in files.remaps] == ["mnist_cnn.pt", "metrics.jsonl"]
    landed = files.landed("metrics.jsonl")
    assert landed is not None and landed.path(7, 3) == "outputs/mnist-sweep_7_3_metrics.jsonl"
    # The .sub is rendered in memory: build/'s copy, edited or gone, is never read.
    shutil.rmtree(project_dir / "build" / "htcondor")
    result = run_cli("results", "--no-plots", cwd=project_dir)
    assert result.returncode == 0 and "no metrics.jsonl has come back yet" in result.stdout

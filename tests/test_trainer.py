"""The payload, offline: it learns, logs like the seed, checkpoints, resumes exactly, exits 85."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pixi_htc.mnist_data import write_tarball
from tests.conftest import REPO, load_project

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("sklearn")
from tests.digits import write_digits

TRAINER = REPO / "compiler" / "payload" / "torch_MNIST.py"
TRAIN_LINE = re.compile(r"^Train Epoch: \d+ \[\d+/\d+ \(\d+%\)\]\tLoss: \d+\.\d{6}$")
TEST_LINE = re.compile(r"^Test set: Average loss: \d+\.\d{4}, Accuracy: (\d+)/(\d+) \((\d+)%\)$")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    write_digits(root / "data")
    return root / "data"


def train(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TRAINER), "--no-cuda", "--log-interval", "5", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def metrics(path: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_learns_offline_and_logs_like_the_seed(tmp_path: Path, data_dir: Path) -> None:
    result = train("--data-dir", str(data_dir), "--epochs", "4", "--loader", "tensor", "--save-model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    train_lines = [line for line in lines if line.startswith("Train Epoch")]
    assert train_lines and all(TRAIN_LINE.match(line) for line in train_lines)
    tests = [TEST_LINE.match(line) for line in lines if line.startswith("Test set")]
    assert len(tests) == 4 and all(tests)
    correct, total, _ = (int(g) for g in tests[-1].groups())  # type: ignore[union-attr]
    assert correct / total >= 0.85, f"only {correct}/{total}: chance is 10%"
    assert (tmp_path / "mnist_cnn.pt").stat().st_size > 1_000_000  # 1.2M parameters
    records = metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["accuracy"] == correct / total
    assert all(r["samples_per_second"] > 0 and r["seconds"] > 0 for r in records)


def test_both_data_paths_feed_the_same_normalised_images(data_dir: Path) -> None:
    import torch

    sys.path.insert(0, str(TRAINER.parent))
    try:
        import torch_MNIST as trainer
    finally:
        sys.path.pop(0)
    train_set, _ = trainer.load_datasets(str(data_dir))
    images, labels = trainer.device_tensors(train_set, torch.device("cpu"))
    for index in (0, 7, len(train_set) - 1):
        image, label = train_set[index]
        assert torch.allclose(images[index], image, atol=1e-6) and labels[index] == label


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("clang++")),
    reason="torch.compile on the CPU needs a C++ compiler (g++ or clang++)",
)
def test_compiled_channels_last_path_learns_and_saves_plain_weights(tmp_path: Path, data_dir: Path) -> None:
    """The GPU fast path's optional flags, run on the CPU: they must train, and the saved state dict
    must be the plain model's (no torch.compile `_orig_mod.` prefix), so the seed's loader reads it."""
    import torch

    result = train(
        "--data-dir",
        str(data_dir),
        "--epochs",
        "2",
        "--batch-size",
        "128",
        "--loader",
        "tensor",
        "--compile",
        "--compile-mode",
        "reduce-overhead",
        "--channels-last",
        "--save-model",
        "--checkpoint",
        "ck.pt",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert metrics(tmp_path / "metrics.jsonl")[-1]["accuracy"] >= 0.75, "chance is 10%"
    weights = torch.load(tmp_path / "mnist_cnn.pt")
    assert set(weights) == set(torch.load(tmp_path / "ck.pt", weights_only=False)["model"])
    assert {name.split(".")[0] for name in weights} == {"conv1", "conv2", "fc1", "fc2"}


@pytest.mark.slow
def test_checkpoint_exit_85_then_resume_matches_an_uninterrupted_run(tmp_path: Path, data_dir: Path) -> None:
    common = ["--data-dir", str(data_dir), "--epochs", "2", "--loader", "tensor", "--batch-size", "128"]
    straight = tmp_path / "straight"
    straight.mkdir()
    assert train(*common, "--checkpoint", "ck.pt", cwd=straight).returncode == 0
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    # The budget from the environment the first time, from the flag the second.
    first = train(
        *common, "--checkpoint", "ck.pt", "--checkpoint-exit", cwd=interrupted, env={"PIXI_HTC_TIME_BUDGET": "0"}
    )
    assert first.returncode == 85, first.stderr
    assert "exiting 85" in first.stdout and [r["epoch"] for r in metrics(interrupted / "metrics.jsonl")] == [1]
    second = train(*common, "--checkpoint", "ck.pt", "--checkpoint-exit", "--time-budget", "0", cwd=interrupted)
    assert second.returncode == 0, second.stderr
    assert "Resuming from ck.pt after epoch 1" in second.stdout
    resumed, uninterrupted = metrics(interrupted / "metrics.jsonl"), metrics(straight / "metrics.jsonl")
    assert [r["epoch"] for r in resumed] == [1, 2]
    for key in ("train_loss", "test_loss", "accuracy"):
        assert resumed[1][key] == uninterrupted[1][key], key


def test_missing_data_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = train("--data-dir", str(tmp_path / "nothing"), "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("torch_MNIST.py:")]
    assert len(message) == 1 and "make data" in message[0]


def test_detect_gpu_prints_versions(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(TRAINER.parent / "torch_detect_GPU.py")], capture_output=True, text=True, check=True
    )
    assert "PyTorch build:" in result.stdout and "Number of GPUs:" in result.stdout and "cuDNN" in result.stdout


def test_data_tarball_is_reproducible(tmp_path: Path, data_dir: Path) -> None:
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    write_tarball(data_dir.parent / "data", first)
    (data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").touch()  # a new mtime changes nothing
    write_tarball(data_dir.parent / "data", second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with tarfile.open(first) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["data", "data/MNIST", "data/MNIST/raw"] + [
            f"data/MNIST/raw/{n}"
            for n in (
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte",
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
            )
        ]
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)
    assert first.read_bytes()[4:8] == b"\x00\x00\x00\x00", "gzip header must carry no timestamp"


def test_generated_jobs_call_the_trainer_with_flags_it_accepts() -> None:
    from pixi_htc.artifacts.base import Layout
    from pixi_htc.schedulers.htcondor.render import plan
    from tests.conftest import DEFAULT_SPEC

    sys.path.insert(0, str(TRAINER.parent))
    try:
        import torch_MNIST as trainer
    finally:
        sys.path.pop(0)
    project = load_project(DEFAULT_SPEC)
    for job in project.jobs:
        assert job.command[1] == "src/torch_MNIST.py"
        values = {name: values[0] for name, values in job.sweep}
        argv = [a.format(**values) if "{" in a else a for a in job.command[2:]]
        trainer.parse_args(argv)  # exits 2 on an unknown flag
        job_plan = plan(project, job, Layout())
        assert "src" in job_plan.transfer_inputs and job_plan.command.startswith("python src/torch_MNIST.py")

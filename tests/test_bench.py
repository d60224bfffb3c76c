"""The benchmark's own parts: the MNIST-sized offline set keeps its splits apart, and the summary
computes rates, the ratio and the time to the seed's accuracy from the trainer's metrics."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tests.bench_trainer import SEED, plan, seconds_to_accuracy, summarise

pytest.importorskip("torch")
pytest.importorskip("sklearn")
from tests.digits import MAX_SHIFT, write_digits


def read_idx(raw: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images = (raw / f"{split}-images-idx3-ubyte").read_bytes()
    labels = (raw / f"{split}-labels-idx1-ubyte").read_bytes()
    magic, count, rows, cols = struct.unpack(">IIII", images[:16])
    assert (magic, rows, cols) == (2051, 28, 28)
    assert struct.unpack(">II", labels[:8]) == (2049, count)
    return np.frombuffer(images[16:], np.uint8).reshape(count, 28, 28), np.frombuffer(labels[8:], np.uint8)


def shifted_versions(images: np.ndarray) -> set[bytes]:
    span = range(-MAX_SHIFT, MAX_SHIFT + 1)
    return {np.roll(image, (dy, dx), axis=(0, 1)).tobytes() for image in images for dy in span for dx in span}


def test_resampled_splits_have_the_asked_sizes_and_never_share_a_digit(tmp_path: Path) -> None:
    write_digits(tmp_path / "small")
    train_originals, _ = read_idx(tmp_path / "small" / "MNIST" / "raw", "train")
    test_originals, test_original_labels = read_idx(tmp_path / "small" / "MNIST" / "raw", "t10k")

    assert write_digits(tmp_path / "sized", sizes=(300, 120)) == (300, 120)
    test_images, test_labels = read_idx(tmp_path / "sized" / "MNIST" / "raw", "t10k")
    assert len(test_images) == 120 and set(test_labels) <= set(test_original_labels)
    from_test, from_train = shifted_versions(test_originals), shifted_versions(train_originals)
    assert all(image.tobytes() in from_test for image in test_images)
    assert not any(image.tobytes() in from_train for image in test_images)
    train_images, _ = read_idx(tmp_path / "sized" / "MNIST" / "raw", "train")
    assert len(train_images) == 300 and all(image.tobytes() in from_train for image in train_images)
    assert len({image.tobytes() for image in train_images}) > 200, "shifts make most draws distinct"


def record(accuracy: float, seconds: float, rate: float) -> dict[str, float]:
    return {"accuracy": accuracy, "seconds": seconds, "samples_per_second": rate}


def test_summary_skips_the_warm_up_epoch_in_rates_but_not_in_time_to_accuracy() -> None:
    seed = [record(0.90, 10.0, 100.0), record(0.95, 8.0, 125.0), record(0.97, 8.0, 125.0)]
    fast = [record(0.93, 4.0, 250.0), record(0.975, 1.0, 1000.0), record(0.98, 1.0, 1000.0)]
    faster = [record(0.93, 4.0, 250.0), record(0.975, 0.5, 2000.0), record(0.98, 0.5, 2000.0)]
    summary = summarise(seed, {"tensor": fast, "tensor --bf16": faster}, tolerance=0.0)
    assert summary["seed_final_accuracy"] == 0.97
    runs = summary["runs"]
    assert list(runs) == [SEED, "tensor", "tensor --bf16"] and "ratio" not in runs[SEED]
    assert runs["tensor"]["ratio"] == 8.0 and runs["tensor --bf16"]["ratio"] == 16.0
    assert runs["tensor"]["seconds_per_epoch"] == 1.0 and runs["tensor"]["first_epoch_seconds"] == 4.0
    assert runs[SEED]["seconds_to_seed_accuracy"] == 26.0
    assert runs["tensor"]["seconds_to_seed_accuracy"] == 5.0
    assert seconds_to_accuracy(fast, 0.99) is None


def test_accuracy_within_tolerance_counts_as_reaching_the_seed() -> None:
    seed = [record(0.98, 2.0, 100.0), record(0.9917, 2.0, 100.0)]
    fast = [record(0.98, 1.0, 200.0), record(0.9911, 1.0, 200.0)]
    assert summarise(seed, {"tensor": fast}, tolerance=0.0)["runs"]["tensor"]["seconds_to_seed_accuracy"] is None
    assert summarise(seed, {"tensor": fast}, tolerance=0.001)["runs"]["tensor"]["seconds_to_seed_accuracy"] == 2.0


def test_the_seed_runs_as_the_seed_does_whatever_the_fast_flags() -> None:
    """Speed-up flags go to the fast path only: a compiled or bf16 baseline is not the seed's path."""
    assert plan(None, []) == {SEED: ["--loader", "dataloader"], "tensor": ["--loader", "tensor"]}
    assert plan(["", "--bf16 --channels-last"], ["--no-cuda"]) == {
        SEED: ["--loader", "dataloader", "--no-cuda"],
        "tensor": ["--loader", "tensor", "--no-cuda"],
        "tensor --bf16 --channels-last": ["--loader", "tensor", "--bf16", "--channels-last", "--no-cuda"],
    }

"""A small, real handwritten-digit set in torchvision's MNIST idx layout, made offline.

scikit-learn's load_digits (1797 8x8 images, 0-16) scaled to 0-255, resized to 20x20 and padded to
28x28 like MNIST. Trains the seed model far past chance, so a test can tell learning from noise.

With sizes given (the benchmark's MNIST-sized set: 60,000 + 10,000), each split is drawn with
replacement from its own originals and shifted by up to 2 pixels, so a throughput figure counts
as many images as real MNIST and the test split still holds only digits the model never trained on.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

MNIST_SIZES = (60_000, 10_000)
MAX_SHIFT = 2  # the 20x20 digit sits in a 4-pixel border, so a 2-pixel shift never clips it


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(images).float().unsqueeze(1)
    return F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False).squeeze(1).numpy()


def _resample(
    images: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`size` images drawn with replacement, each moved by a random shift of at most MAX_SHIFT pixels."""
    pick = rng.integers(0, len(labels), size)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, (size, 2))
    out = np.empty((size, *images.shape[1:]), dtype=images.dtype)
    for i, (source, (dy, dx)) in enumerate(zip(pick, shifts, strict=True)):
        out[i] = np.roll(images[source], (dy, dx), axis=(0, 1))
    return out, labels[pick]


def write_digits(
    data_dir: Path, test_fraction: float = 0.25, seed: int = 0, sizes: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Write train and t10k idx files under data_dir/MNIST/raw; returns (train, test) counts."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = _resize(digits.images * (255.0 / 16.0), 20).clip(0, 255).round().astype(np.uint8)
    images = np.pad(images, ((0, 0), (4, 4), (4, 4)))
    labels = digits.target.astype(np.uint8)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    splits = {
        "train": (images[order[n_test:]], labels[order[n_test:]]),
        "t10k": (images[order[:n_test]], labels[order[:n_test]]),
    }
    if sizes is not None:
        splits = {name: _resample(*split, size, rng) for (name, split), size in zip(splits.items(), sizes, strict=True)}
    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, (split_images, split_labels) in splits.items():
        count = len(split_labels)
        (raw / f"{name}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, count, 28, 28) + split_images.tobytes()
        )
        (raw / f"{name}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) + split_labels.tobytes())
    return len(splits["train"][1]), len(splits["t10k"][1])

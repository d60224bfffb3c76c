"""A small, real handwritten-digit set in torchvision's MNIST idx layout, made offline.

scikit-learn's load_digits (1797 8x8 images, 0-16) scaled to 0-255, resized to 20x20 and padded to
28x28 like MNIST. Trains the seed model far past chance, so a test can tell learning from noise.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(images).float().unsqueeze(1)
    return F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False).squeeze(1).numpy()


def write_digits(data_dir: Path, test_fraction: float = 0.25, seed: int = 0) -> tuple[int, int]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = _resize(digits.images * (255.0 / 16.0), 20).clip(0, 255).round().astype(np.uint8)
    images = np.pad(images, ((0, 0), (4, 4), (4, 4)))
    labels = digits.target.astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    splits = {"t10k": order[:n_test], "train": order[n_test:]}
    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, index in splits.items():
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, len(index), 28, 28)
                                                         + images[index].tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, len(index)) + labels[index].tobytes())
    return len(splits["train"]), len(splits["t10k"])

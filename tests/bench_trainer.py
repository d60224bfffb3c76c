"""`make bench`: the tensor (fast) path against the seed's DataLoader path, same data, same epochs, one run.

Prints samples/s for both, the ratio, and each path's final accuracy. Uses real MNIST when
build/data or ./data holds it (make data), else the offline digits set. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINER = REPO / "compiler" / "payload" / "torch_MNIST.py"


def find_data(work: Path) -> tuple[Path, str]:
    for candidate in (REPO / "build" / "data", REPO / "data"):
        if (candidate / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return candidate, "MNIST"
    from tests.digits import write_digits

    write_digits(work / "data")
    return work / "data", "digits (offline stand-in for MNIST)"


def run(loader: str, data: Path, epochs: int, work: Path, extra: list[str]) -> list[dict[str, float]]:
    out = work / loader
    subprocess.run([sys.executable, str(TRAINER), "--data-dir", str(data), "--epochs", str(epochs), "--loader", loader,
                    "--log-interval", "1000000", "--output-dir", str(out), *extra], check=True, stdout=subprocess.DEVNULL)
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="trainer flags for both runs, e.g. --no-cuda")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        data, name = find_data(work)
        print(f"data: {name}; epochs: {args.epochs}; flags: {' '.join(args.extra) or '(none)'}")
        results = {loader: run(loader, data, args.epochs, work, args.extra) for loader in ("dataloader", "tensor")}
    # Skip the first epoch (warm-up: allocations, cuDNN autotuning, torch.compile).
    rates = {}
    for loader, records in results.items():
        steady = records[1:] or records
        rates[loader] = sum(r["samples_per_second"] for r in steady) / len(steady)
        seconds = sum(r["seconds"] for r in steady) / len(steady)
        print(f"{loader:>10}: {rates[loader]:>12,.0f} samples/s  {seconds:8.3f} s/epoch  "
              f"final accuracy {records[-1]['accuracy']:.4f}")
    print(f"ratio tensor/dataloader: {rates['tensor'] / rates['dataloader']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

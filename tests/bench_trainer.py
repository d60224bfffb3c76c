"""`make bench`: the trainer's fast path against the seed's DataLoader path, same data, same epochs, one run.

The baseline is the seed's path as the seed runs it: `--loader dataloader` and the seed's defaults
(batch 64), no speed-up flags. Each --fast variant runs the tensor path with its own flags. For every
run: samples/s, seconds per epoch, final accuracy, and the training seconds it took to first reach
the seed's final accuracy (less --tolerance); for each variant, its throughput ratio to the seed.

Data: real MNIST when build/data or ./data holds it (`make data`), else the offline digits set, at
its own small size or, with --size mnist, resampled to MNIST's 60,000 + 10,000 images (use that on
a GPU, where a 1,348-image epoch is too short to time). Not part of `make test`.

On a GPU machine with torch but no network (no venv, no make):
    python3 -m tests.bench_trainer --size mnist --epochs 3 --fast= \
        --fast="--bf16 --channels-last" --fast="--compile --compile-mode reduce-overhead" --json bench.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TRAINER = REPO / "compiler" / "payload" / "torch_MNIST.py"
SEED = "seed (dataloader)"
# One standard error of a 99%-accurate score on 10,000 test images: sqrt(0.99 * 0.01 / 10_000).
# Two runs that differ by less than this have the same accuracy within noise.
DEFAULT_TOLERANCE = 0.001

Record = dict[str, Any]


def find_data(work: Path, size: str) -> tuple[Path, str]:
    for candidate in (REPO / "build" / "data", REPO / "data"):
        if (candidate / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return candidate, "MNIST"
    from tests.digits import MNIST_SIZES, write_digits

    train, test = write_digits(work / "data", sizes=MNIST_SIZES if size == "mnist" else None)
    return work / "data", f"digits, {train:,} train + {test:,} test images (offline stand-in for MNIST)"


def run(flags: list[str], data: Path, epochs: int, work: Path, name: str) -> list[Record]:
    out = work / name
    subprocess.run(
        [
            sys.executable,
            str(TRAINER),
            "--data-dir",
            str(data),
            "--epochs",
            str(epochs),
            "--log-interval",
            "1000000",
            "--output-dir",
            str(out),
            *flags,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def plan(fast: list[str] | None, common: list[str]) -> dict[str, list[str]]:
    """Each run's name and trainer flags: the seed's path with none of the fast flags, then one
    tensor-path run per variant."""
    runs = {SEED: ["--loader", "dataloader", *common]}
    for flags in fast or [""]:
        runs[f"tensor {flags}".strip()] = ["--loader", "tensor", *flags.split(), *common]
    return runs


def seconds_to_accuracy(records: list[Record], target: float) -> float | None:
    """Training seconds (evaluation excluded) until the first epoch whose test accuracy reaches target."""
    elapsed = 0.0
    for record in records:
        elapsed += record["seconds"]
        if record["accuracy"] >= target:
            return elapsed
    return None


def summarise(
    seed: list[Record], fast: dict[str, list[Record]], tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """One row per run, the seed's first. The first epoch is left out of the rates (warm-up:
    allocations, cuDNN autotuning, torch.compile) but kept in the time to accuracy, which is what
    a user waits for."""
    target = seed[-1]["accuracy"] - tolerance

    def row(records: list[Record]) -> dict[str, Any]:
        steady = records[1:] or records
        return {
            "samples_per_second": sum(r["samples_per_second"] for r in steady) / len(steady),
            "seconds_per_epoch": sum(r["seconds"] for r in steady) / len(steady),
            "first_epoch_seconds": records[0]["seconds"],
            "final_accuracy": records[-1]["accuracy"],
            "seconds_to_seed_accuracy": seconds_to_accuracy(records, target),
        }

    rows = {SEED: row(seed)} | {name: row(records) for name, records in fast.items()}
    for name in fast:
        rows[name]["ratio"] = rows[name]["samples_per_second"] / rows[SEED]["samples_per_second"]
    return {"seed_final_accuracy": seed[-1]["accuracy"], "target_accuracy": target, "runs": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--size",
        choices=("digits", "mnist"),
        default="digits",
        help="size of the offline stand-in when real MNIST is absent (default: %(default)s)",
    )
    parser.add_argument(
        "--fast",
        action="append",
        metavar="FLAGS",
        help='a fast-path variant: trainer flags for the tensor path, e.g. --fast="--bf16"; '
        "repeat for more (default: one, with no flags)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="time to accuracy counts from the seed's final accuracy less this (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("common", nargs="*", help="trainer flags for every run, after --, e.g. -- --no-cuda")
    args = parser.parse_args()
    runs = plan(args.fast, args.common)
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        data, data_name = find_data(work, args.size)
        print(f"data: {data_name}; epochs: {args.epochs}; flags for every run: {' '.join(args.common) or '(none)'}")
        results = {
            name: run(flags, data, args.epochs, work, f"run{index}") for index, (name, flags) in enumerate(runs.items())
        }
    seed = results.pop(SEED)
    summary = summarise(seed, results, args.tolerance)
    print(
        f"seed final accuracy {summary['seed_final_accuracy']:.4f}; "
        f"time to accuracy counts training seconds until {summary['target_accuracy']:.4f}"
    )
    width = max(len(name) for name in summary["runs"])
    for name, row in summary["runs"].items():
        reached = row["seconds_to_seed_accuracy"]
        when = f"after {reached:.3f} s" if reached is not None else f"not within {args.epochs} epochs"
        ratio = f"  {row['ratio']:.2f}x the seed" if "ratio" in row else ""
        print(
            f"{name:>{width}}: {row['samples_per_second']:>12,.0f} samples/s  {row['seconds_per_epoch']:8.3f} s/epoch  "
            f"(first {row['first_epoch_seconds']:.3f} s)  final accuracy {row['final_accuracy']:.4f}  "
            f"reached it {when}{ratio}"
        )
    if args.json:
        summary.update(data=data_name, epochs=args.epochs, common_flags=args.common)
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

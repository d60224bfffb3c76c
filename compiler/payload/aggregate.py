"""Gather a pipeline's evaluations into one table (#24): the last step of specs/examples/pipeline.yaml.

Reads <directory>/<process>/<metrics file> for each directory named (a job's outputs, as a pipeline
hands them over on HTCondor and on Slurm), writes results.csv and results.md ranked by a metric, and
results.png when matplotlib is installed. Standard library otherwise: it runs in any environment.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Gather metrics lines of every process into a results table")
    p.add_argument("directories", nargs="+", help="directories holding <process>/<metrics file>")
    p.add_argument("--metrics-file", default="evaluation.jsonl", help="the file of JSON lines each process left")
    p.add_argument("--metric", default="accuracy", help="the column that ranks the rows (higher is better)")
    p.add_argument("--output-dir", default=".", help="where results.csv, results.md and results.png go")
    return p.parse_args(argv)


def gather(directories: list[str], metrics_file: str) -> list[dict[str, object]]:
    """One row per process: its last metrics line, with where it came from."""
    rows = []
    for directory in directories:
        processes = sorted((p for p in Path(directory).iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
        for process in processes:
            lines = (process / metrics_file).read_text(encoding="utf-8").splitlines()
            rows.append({"job": Path(directory).name, "process": int(process.name), **json.loads(lines[-1])})
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = gather(args.directories, args.metrics_file)
    if not rows:
        print("aggregate.py: no process left a metrics file", file=sys.stderr)
        return 1
    rows.sort(key=lambda row: (-float(row.get(args.metric, float("-inf"))), row["job"], row["process"]))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    table = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    table += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in rows]
    (out / "results.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))
    print(f"best: {rows[0]['job']} process {rows[0]['process']} ({args.metric} {rows[0].get(args.metric)})")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        print("aggregate.py: matplotlib is not installed, so results.png was not drawn")
        return 0
    figure, axes = pyplot.subplots(figsize=(6, 3))
    axes.bar([f"{row['job']}.{row['process']}" for row in rows], [float(row.get(args.metric, 0)) for row in rows])
    axes.set_ylabel(args.metric)
    figure.tight_layout()
    figure.savefig(out / "results.png", metadata={"Software": None})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`make bench`: how long `pixi-htc check` takes to start and answer, as a ratio to a bare
`python -c pass` timed in the same run on the same machine (issue #20: under 4 times).

The project is a copy of the bundled spec in a temporary directory, built once; the check then
answers from its cache (pipeline/check_cache.py) as it does on every commit that changes nothing.
Also timed: the full check (a fresh cache each run), and explain on one line. Not part of `make test`.

    python -m tests.bench_check [--runs 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 4.0


def median_seconds(
    command: list[str], cwd: Path, env: dict[str, str], runs: int, before: list[str] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if before:
            shutil.rmtree(before[0], ignore_errors=True)
        start = time.perf_counter()
        result = subprocess.run(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode()}")
    return statistics.median(times)


def measure(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch, "project")
        (root / "specs").mkdir(parents=True)
        shutil.copy(REPO / "specs" / "project.yaml", root / "specs" / "project.yaml")
        cache = Path(scratch, "cache")
        env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache)}
        cli = [sys.executable, "-m", "pixi_htc"]
        subprocess.run([*cli, "build"], cwd=root, env=env, stdout=subprocess.DEVNULL, check=True)
        bare = median_seconds([sys.executable, "-c", "pass"], root, env, runs)
        cached = median_seconds([*cli, "check"], root, env, runs)
        full = median_seconds([*cli, "check"], root, env, max(3, runs // 3), before=[str(cache)])
        subprocess.run([*cli, "check"], cwd=root, env=env, stdout=subprocess.DEVNULL, check=True)
        explain = median_seconds([*cli, "explain", "build/htcondor/mnist-sweep.sub:27"], root, env, 3)
    return {
        "python_c_pass_s": bare,
        "check_cached_s": cached,
        "check_full_s": full,
        "explain_line_s": explain,
        "ratio_cached": cached / bare,
        "ratio_full": full / bare,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per timing; the median is shown (default: 15)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    numbers = measure(args.runs)
    print(f"python -c pass        {numbers['python_c_pass_s'] * 1000:7.1f} ms")
    print(
        f"pixi-htc check        {numbers['check_cached_s'] * 1000:7.1f} ms  {numbers['ratio_cached']:5.1f}x  "
        f"(cached; target under {TARGET:.0f}x: {'met' if numbers['ratio_cached'] < TARGET else 'NOT met'})"
    )
    print(f"pixi-htc check, full  {numbers['check_full_s'] * 1000:7.1f} ms  {numbers['ratio_full']:5.1f}x  (no cache)")
    print(f"pixi-htc explain      {numbers['explain_line_s'] * 1000:7.1f} ms  (one line of mnist-sweep.sub)")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

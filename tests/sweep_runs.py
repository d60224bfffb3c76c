"""Real metrics for the results tests: the bundled trainer, run for a few epochs on the offline
digits set, once per combination of a job's sweep, its metrics.jsonl put where the generated
transfer_output_remaps would leave it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pixi_htc.pipeline.compile import compile_spec
from pixi_htc.schedulers.htcondor.jobfiles import job_files
from pixi_htc.spec.model import PLACEHOLDER, Job

TRAINER = Path(__file__).resolve().parents[1] / "compiler" / "payload" / "torch_MNIST.py"


def job_arguments(job: Job, proc: int, data_dir: Path, epochs: int) -> list[str]:
    """The job's own command for this process (its sweep values in), on the CPU, few epochs."""
    values = dict(zip(job.sweep_variables, job.sweep_rows[proc])) | {"process": str(proc), "cluster": "0"}
    args = [PLACEHOLDER.sub(lambda m: values[m.group(1)], a) for a in job.command]
    args = args[args.index("src/torch_MNIST.py") + 1 :]
    for flag, value in (("--data-dir", str(data_dir)), ("--epochs", str(epochs))):
        args[args.index(flag) + 1] = value
    # No checkpoint exits here: a test run has no time budget to run out of.
    args = [a for a in args if a != "--checkpoint-exit"]
    return [*args, "--no-cuda", "--loader", "tensor", "--log-interval", "50"]


def train(job: Job, proc: int, data_dir: Path, work: Path, epochs: int = 2) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(TRAINER), *job_arguments(job, proc, data_dir, epochs)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return work / "metrics.jsonl"


def land(root: Path, job: Job, cluster: int, proc: int, metrics: Path) -> Path:
    """Copy a metrics file to where the .sub's transfer_output_remaps sends it."""
    compiled = compile_spec(root / "specs" / "project.yaml", root / "build")
    build_dir = root / "build"
    target = job_files(compiled, job.name).landed("metrics.jsonl")
    assert target is not None, "the job's .sub does not transfer metrics.jsonl"
    path = build_dir / target.path(cluster, proc)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(metrics, path)
    return path

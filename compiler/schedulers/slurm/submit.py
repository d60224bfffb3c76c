"""`pixi-htc submit` for Slurm jobs: sbatch the generated script (no shell), or list what would be queued
and let `sbatch --test-only` judge the script where sbatch is installed. Each submission's job id is
added to logs/<job>.slurm-jobs, so that status and results know the newest."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ...artifacts.base import Layout
from ...core import foreign
from ...core.errors import UsageError
from ...spec.model import Job
from . import lognames
from .render import options

SBATCH_TIMEOUT = 120  # seconds: sbatch waits for slurmctld, which may be busy
# sbatch's words when it finds no cluster to ask (no slurm.conf, no controller): nothing to judge by.
NO_CLUSTER = ("Could not establish a configuration source", "Unable to contact slurm controller")
JOB_ID = re.compile(r"[0-9]{1,18}")  # Slurm's job ids: ASCII digits


def submissions(job: Job) -> str:
    """The file each submission's Slurm job id is added to, relative to the build directory."""
    return f"logs/{job.name}.slurm-jobs"


def script(job: Job) -> str:
    """The script's path, relative to the build directory sbatch runs in."""
    return f"slurm/{job.name}.sbatch"


def describe(job: Job, layout: Layout) -> Iterator[str]:
    """One line per array task (or one for a single job): its sweep values and what it asks for."""
    asks = " ".join(
        f"{name}={value}"
        for name, value in options(job, layout)
        if name in ("cpus-per-task", "mem", "gres", "gpus", "tmp", "time", "partition", "account", "qos", "constraint")
    )
    rows = job.sweep_rows or [()]
    for task, row in enumerate(rows):
        values = "".join(f"{name}={value} " for name, value in zip(job.sweep_variables, row))
        label = f"{job.name}[{task}]" if job.swept else job.name
        yield f"{label}: {values}{asks} runtime={job.runtime} script={script(job)}"


def _sbatch(build_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise UsageError(
            "sbatch is not installed here; run pixi-htc submit on your cluster's login node, or use --dry-run"
        )
    try:
        return subprocess.run(
            [sbatch, *args], cwd=build_dir, capture_output=True, text=True, check=False, timeout=SBATCH_TIMEOUT
        )
    except subprocess.TimeoutExpired as error:
        raise UsageError(f"sbatch did not answer within {SBATCH_TIMEOUT} s") from error


def dry_run(build_dir: Path, job: Job, layout: Layout) -> None:
    for line in describe(job, layout):
        print(line)
    if shutil.which("sbatch") is None:
        print(f"{job.name}: sbatch is not installed here, so its --test-only check was skipped")
        return
    result = _sbatch(build_dir, "--test-only", script(job))
    message = " ".join((result.stderr + result.stdout).split())
    if result.returncode != 0 and any(words in message for words in NO_CLUSTER):
        print(f"{job.name}: sbatch finds no Slurm cluster from here, so its --test-only check was skipped")
        return
    if result.returncode != 0:
        raise UsageError(f"sbatch --test-only {script(job)} refused it: {message}")
    print(f"{job.name}: sbatch --test-only: {message}")


def submit(build_dir: Path, job: Job, layout: Layout) -> str:
    """Queue the job; returns Slurm's job id."""
    # Slurm opens each task's logs before the script runs, and does not make their directories.
    (build_dir / "logs").mkdir(exist_ok=True)
    (build_dir / "outputs").mkdir(exist_ok=True)
    lognames.make_directories(build_dir, job, layout)
    result = _sbatch(build_dir, "--parsable", script(job))
    if result.returncode != 0:
        raise UsageError(f"sbatch {script(job)} failed: {' '.join(result.stderr.split())}")
    job_id = result.stdout.strip().split(";")[0]
    if JOB_ID.fullmatch(job_id):
        _remember(build_dir, job, job_id)
    tasks = len(job.sweep_rows) or 1
    print(
        f"{job.name}: submitted {tasks} task(s) as Slurm job {job_id}; follow it with squeue -j {job_id}, "
        f"logs in logs/{job.name}_{job_id}*"
    )
    return job_id


def _remember(build_dir: Path, job: Job, job_id: str) -> None:
    """Add the id to logs/<job>.slurm-jobs, newest last (status follows the newest), never through a link."""
    path = build_dir / submissions(job)
    try:
        foreign.link_inside(path, build_dir)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            os.write(fd, f"{job_id}\n".encode())
        finally:
            os.close(fd)
    except (foreign.ForeignFileError, OSError) as error:
        why = error if isinstance(error, foreign.ForeignFileError) else error.strerror
        print(
            f"{job.name}: note: {submissions(job)} {why}: the id is not recorded there; "
            f"pixi-htc status --cluster {job_id} follows it"
        )

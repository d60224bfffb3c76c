"""A pipeline on Slurm (#24): what each script links from the jobs it runs after, and the submission
of every job in order, each with --dependency on the job ids sbatch gave the jobs before it.

A job after a whole job: afterok:<id> (for an array, every task succeeded). A for_each job is an
array of the same rows: aftercorr:<id>, so task i starts once task i of the sweep succeeded. An
always job: afterany:<id> (every task ended, in any state; for a for_each always job that means the
whole array, as Slurm has no per-task form of afterany). --kill-on-invalid-dep=yes: a job whose
dependency can never be met (a task it needs failed) is cancelled instead of pending forever, and
so are the jobs after it. Each script learns the ids of the jobs it follows from PIXI_HTC_AFTER_<JOB>
(--export), and links their task directories: a for_each job its task's outputs under their own
names, a job after a whole job a directory <job>/<task> per task.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...artifacts.base import Layout
from ...core.errors import UsageError
from ...spec.graph import order
from ...spec.model import Job, Project
from ..common import shell_word
from . import lognames

Sbatch = Callable[..., subprocess.CompletedProcess[str]]  # (build_dir, *arguments)
VARIABLE_PREFIX = "v_"  # render.py's, for the sweep values a for_each job shares with the sweep


@dataclass(frozen=True, kw_only=True)
class Upstream:
    job: str
    variable: str  # the environment variable holding its Slurm job id
    each: bool  # for_each: this task's files; else every task's directory
    array: bool  # whether it is a job array (task directories <id>_<task>)
    tasks: int
    outputs: tuple[str, ...]  # shell words of its output names (for_each)


def id_variable(name: str) -> str:
    """PIXI_HTC_AFTER_<JOB>: a slug's '-' becomes '_' (slugs have no '_', so no two jobs share one)."""
    return "PIXI_HTC_AFTER_" + name.upper().replace("-", "_")


def upstream(project: Project, job: Job) -> tuple[Upstream, ...]:
    jobs = {other.name: other for other in project.jobs}
    found = []
    for name in job.upstream:
        other = jobs[name]
        found.append(
            Upstream(
                job=name,
                variable=id_variable(name),
                each=name == job.for_each,
                array=other.swept,
                tasks=len(other.sweep_rows) or 1,
                outputs=tuple(shell_word(output, prefix=VARIABLE_PREFIX) for output in other.outputs),
            )
        )
    return tuple(found)


def dependency(job: Job, ids: dict[str, str]) -> str | None:
    """--dependency's value: every condition must hold (',')."""
    if not job.upstream:
        return None
    if job.always:
        return ",".join(f"afterany:{ids[name]}" for name in job.upstream)
    kinds = {name: "aftercorr" if name == job.for_each else "afterok" for name in job.upstream}
    return ",".join(f"{kinds[name]}:{ids[name]}" for name in job.upstream)


def sbatch_arguments(job: Job, ids: dict[str, str]) -> list[str]:
    """What `pixi-htc submit` adds in front of the script for a job of a pipeline."""
    after = dependency(job, ids)
    if after is None:
        return []
    exports = ",".join(f"{id_variable(name)}={ids[name]}" for name in job.upstream)
    return [f"--dependency={after}", "--kill-on-invalid-dep=yes", f"--export=ALL,{exports}"]


def has_pipeline(project: Project) -> bool:
    return any(job.in_pipeline for job in project.jobs_on("slurm"))


def dry_run(project: Project) -> None:
    ids = {job.name: f"<{job.name}>" for job in project.jobs_on("slurm")}
    for job in order(project.jobs_on("slurm")):
        print(" ".join(["sbatch", "--parsable", *sbatch_arguments(job, ids), f"slurm/{job.name}.sbatch"]))


def submit(project: Project, build_dir: Path, sbatch: Sbatch, layout: Layout) -> dict[str, str]:
    """sbatch every Slurm job in order (through submit.py's one sbatch caller, passed in: submit.py
    reads render.py, which reads this module); returns each job's id. A refusal stops the rest (and
    says which were queued: the scheduler cancels those whose dependency it can no longer meet)."""

    def script(job: Job) -> str:
        return f"slurm/{job.name}.sbatch"

    (build_dir / "logs").mkdir(exist_ok=True)
    (build_dir / "outputs").mkdir(exist_ok=True)
    for job in project.jobs_on("slurm"):
        lognames.make_directories(build_dir, job, layout)
    ids: dict[str, str] = {}
    for job in order(project.jobs_on("slurm")):
        result = sbatch(build_dir, "--parsable", *sbatch_arguments(job, ids), script(job))
        if result.returncode != 0:
            queued = ", ".join(f"{name} ({number})" for name, number in ids.items()) or "none"
            raise UsageError(
                f"sbatch {script(job)} failed: {' '.join(result.stderr.split())}; queued before it: {queued}"
            )
        ids[job.name] = result.stdout.strip().split(";")[0]
        after = f" after {', '.join(job.upstream)}" if job.upstream else ""
        print(f"{job.name}: Slurm job {ids[job.name]}{after}")
    return ids

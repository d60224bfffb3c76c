"""Rules about schedulers (#14): a key, a runtime or a path only one scheduler understands is an error
on the other's jobs, with its line and column, never silently dropped."""

from __future__ import annotations

from collections.abc import Iterator

from .loader import KeyPath
from .model import Job, Project
from .problem import Problem

# Job keys that only HTCondor's submit language has a place for, and what a Slurm job uses instead.
HTCONDOR_ONLY: dict[str, str] = {
    "attributes": "",
    "batch_name": " (a Slurm job is named after its key)",
    "chtc": "",
    "count": " (a Slurm job array is slurm.array)",
    "docker_pull_policy": "",
    "docker_network_type": "",
    "initialdir": " (a Slurm task runs in its own directory, outputs/<job>/<task>; see slurm.submit_dir)",
    "should_transfer_files": " (a Slurm task reads its files on the shared filesystem)",
    "notification": "; on Slurm, use slurm.mail_type",
    "notify_user": "; on Slurm, use slurm.mail_user",
    "os_requirement": "",
    "universe": "",
    "when_to_transfer_output": " (a Slurm task's files stay on the shared filesystem)",
    "logs": "; on Slurm, name the logs with slurm.output and slurm.error (Slurm's %j, %A, %a...)",
    "getenv": " (sbatch already gives a Slurm job the submitting shell's environment, its --export=ALL default)",
    "gpu": "; on Slurm, name the GPU with slurm.gpu_type or a node feature with slurm.constraint",
    "max_retries": "",
    "on_exit_hold": "",
    "on_exit_remove": "",
    "ospool": "",
    "output_remaps": " (a Slurm task's outputs stay in its own directory, outputs/<job>/<task>)",
    "periodic_hold": "",
    "periodic_release": "",
    "periodic_remove": "",
    "requirements": "; on Slurm, use slurm.constraint",
    "retry_until": "",
    "stream_error": " (Slurm writes logs/ on the shared filesystem as the job runs)",
    "stream_output": " (Slurm writes logs/ on the shared filesystem as the job runs)",
}
SLURM_ONLY: dict[str, str] = {"slurm": ""}
SLURM_ONLY_RUNTIMES = frozenset({"pixi"})


def scheduler_problems(project: Project) -> Iterator[Problem]:
    for job in project.jobs:
        yield from _job_problems(project, job)
    if project.jobs and "slurm" in project.keys and not project.jobs_on("slurm"):
        yield Problem(
            ("slurm",),
            "no job runs on Slurm (scheduler: slurm, for the project or a job); remove 'slurm' or move a job there",
            _scheduler_reads(project),
            at_key=True,
        )
    if project.jobs and "site" in project.keys and not project.jobs_on("htcondor"):
        yield Problem(
            ("site",),
            "'site' chooses an HTCondor pool, and every job runs on Slurm; remove it",
            _scheduler_reads(project),
            at_key=True,
        )
    slurm_packs = [job for job in project.jobs_on("slurm") if job.runtime == "pixi-pack"]
    if slurm_packs and project.pack.archive is not None and "://" in project.pack.archive:
        yield Problem(
            ("pack", "archive"),
            f"job '{slurm_packs[0].name}' runs on Slurm, which reads the archive from "
            "the shared filesystem and fetches no URL: name a path relative to the build directory",
            (("pack", "archive"), *_scheduler_reads(project)),
        )


def _scheduler_reads(project: Project) -> tuple[KeyPath, ...]:
    return (("scheduler",), *(("jobs", job.name, "scheduler") for job in project.jobs))


def _job_problems(project: Project, job: Job) -> Iterator[Problem]:
    def j(*keys: str | int) -> KeyPath:
        return ("jobs", job.name, *keys)

    reads: tuple[KeyPath, ...] = (("scheduler",), j("scheduler"))
    other, wrong_keys = ("HTCondor", SLURM_ONLY) if job.scheduler == "htcondor" else ("Slurm", HTCONDOR_ONLY)
    owner = "Slurm" if other == "HTCondor" else "HTCondor"
    for key in sorted(set(job.keys) & set(wrong_keys)):
        yield Problem(
            j(key),
            f"'{key}' is for {owner} jobs, and this job runs on {other}{wrong_keys[key]}",
            (j(key), *reads),
            at_key=True,
        )
    if job.scheduler == "htcondor":
        if job.runtime in SLURM_ONLY_RUNTIMES:
            yield Problem(
                j("runtime"),
                f"runtime '{job.runtime}' is for Slurm jobs (a pixi workspace on a shared "
                "filesystem); an HTCondor job runs container or pixi-pack, or set scheduler: slurm",
                (j("runtime"), *reads),
            )
        return
    for index, path in enumerate(job.inputs):
        if "://" in path:
            yield Problem(
                j("inputs", index),
                "a Slurm job reads its inputs from the shared filesystem and fetches "
                "no URL: download it and name its path",
                (j("inputs"), *reads),
            )
    if job.image is not None and job.image.startswith("osdf://"):
        yield Problem(
            j("image"),
            "Apptainer on a Slurm node cannot pull osdf://; use docker://, oras:// or a .sif "
            "path on the shared filesystem",
            (j("image"), *reads),
        )
    if "slurm.array" in job.keys and job.swept:
        yield Problem(
            j("slurm", "array"),
            "the sweep makes this job's array (one task a row); remove slurm.array, or the sweep",
            (j("slurm"), j("sweep")),
        )
    if "slurm.signal" in job.keys and job.checkpoint is not None:
        yield Problem(
            j("slurm", "signal"),
            "a checkpointing job gets USR1 signal_seconds before its time limit; set slurm.signal_seconds instead",
            (j("slurm"), j("checkpoint")),
        )
    if job.slurm.cpu_option == "cpus-per-gpu" and job.resources.gpus == 0:
        yield Problem(
            j("slurm", "cpu_option"),
            "cpus-per-gpu counts CPUs per GPU, and this job asks for no GPU",
            (j("slurm"), j("resources")),
        )
    if "slurm.max_running" in job.keys and not job.swept:
        yield Problem(
            j("slurm", "max_running"),
            "max_running limits a job array, and this job has no sweep",
            (j("slurm"), j("sweep")),
        )

"""Following Slurm jobs: each job's newest submission (the ids submit adds to logs/<job>.slurm-jobs, or
the tasks' records), task by task, from three sources, later ones winning where they know more:

1. the record each task's script writes (records.py reads it, bounded and strictly);
2. sacct, when the cluster keeps accounting;
3. scontrol, while the controller remembers the job (accounting.py).

Outputs stay where each task worked: outputs/<job>/<array job>_<task> (render.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from ...artifacts.base import Compiled, Layout
from ...core import foreign
from ...core.defaults import CHECKPOINT_EXIT_CODE
from ...spec.loader import KeyPath
from ...spec.model import Job, Project
from ..base import Followed, Following, Landing
from ..findings import Finding, Locator, err_tail
from . import accounting, lognames
from .records import Submission, Task, records, submission_ids
from .submit import submissions

FILES_ONLY = "(from the tasks' records only: neither sacct nor scontrol answered here)"
# Slurm's job states (squeue(1) "JOB STATE CODES") as status says them.
STATES = {
    "PENDING": "idle",
    "REQUEUED": "idle",
    "REQUEUE_FED": "idle",
    "CONFIGURING": "idle",
    "RUNNING": "running",
    "COMPLETING": "running",
    "STAGE_OUT": "running",
    "SIGNALING": "running",
    "RESIZING": "running",
    "SUSPENDED": "suspended",
    "STOPPED": "suspended",
    "REQUEUE_HOLD": "held",
    "SPECIAL_EXIT": "held",
    "COMPLETED": "completed",
    "CANCELLED": "removed",
    "REVOKED": "removed",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "OUT_OF_MEMORY": "failed",
    "NODE_FAIL": "failed",
    "BOOT_FAIL": "failed",
    "DEADLINE": "failed",
    "PREEMPTED": "failed",
}
HELD_REASONS = ("JobHeldUser", "JobHeldAdmin")
# Why a task pends, at the slurm key that can change it (squeue(1) "JOB REASON CODES").
PENDING_KEYS = {
    "PartitionTimeLimit": "time",
    "InvalidAccount": "account",
    "AccountNotAllowed": "account",
    "InvalidQOS": "qos",
    "QOSNotAllowed": "qos",
    "BadConstraints": "constraint",
    "PartitionDown": "partition",
    "PartitionInactive": "partition",
    "PartitionNodeLimit": "partition",
    "ReqNodeNotAvail": "partition",
}


def _overlay(task: Task, seen: accounting.Seen, source: str) -> Task:
    word = seen.state.split(" ", 1)[0]
    state = STATES.get(word, task.state)
    if state == "idle" and seen.reason.startswith(HELD_REASONS):
        state = "held"
    task = replace(task, state=state, slurm_state=word, reason=seen.reason, source=source)
    if state in ("completed", "failed", "removed"):
        task.exit_code, task.exit_signal = seen.exit_code, seen.exit_signal
    if state == "running":
        task.checkpointed = False
    if seen.restarts is not None:
        task.restarts = max(task.restarts, seen.restarts)
    return task


def follow(compiled: Compiled, where: Locator, jobs: list[Job], *, submission: int | None, live: bool) -> Following:
    build_dir, root = compiled.root / compiled.layout.build_dir, compiled.root
    followed: list[Followed] = []
    for job in jobs:
        problems: list[str] = []
        ids = submission_ids(job, build_dir, root, problems)
        chosen = submission if submission is not None else (ids[-1] if ids else None)
        status = Followed(
            job=job,
            submission=None,
            refused=problems,
            not_found=(
                f"no Slurm job id in {submissions(job)} and no task record logs/{job.name}_<job id>"
                f"{'_<task>' if job.swept else ''}.state in the build directory"
            ),
        )
        if chosen is not None:
            status.submission = Submission(
                cluster=chosen,
                processes=records(job, chosen, build_dir, root, problems),
                older_clusters=tuple(i for i in ids if i < chosen),
            )
        followed.append(status)
    answered = False
    if live:
        answered = _ask_slurm(followed)
    for status in followed:
        if isinstance(status.submission, Submission):
            for task in status.submission.processes.values():
                status.findings.extend(
                    findings(compiled.project, status.job, task, where, build_dir, root, compiled.layout)
                )
    return Following(jobs=followed, answered=answered, files_only=FILES_ONLY)


def _ask_slurm(followed: list[Followed]) -> bool:
    """Overlay what sacct, then scontrol, say; whether either answered."""
    chosen = {s.submission.cluster: s for s in followed if isinstance(s.submission, Submission)}
    if not chosen:
        return True  # nothing to ask about
    count = max(max(len(s.job.sweep_rows), 1) for s in chosen.values())
    answered = False
    for source, seen in (("sacct", accounting.sacct(chosen, count)), ("scontrol", accounting.scontrol(chosen, count))):
        if seen is None:
            continue
        answered = True
        for one in seen:
            status = chosen.get(one.job_id)
            if status is None or not isinstance(status.submission, Submission):
                continue
            if one.task >= max(len(status.job.sweep_rows), 1):
                continue
            tasks = status.submission.processes
            base = tasks.get(one.task) or Task(cluster=one.job_id, proc=one.task, array=status.job.swept)
            tasks[one.task] = _overlay(base, one, source)
    return answered


def _slurm_key(where: Locator, job: Job, key: str) -> KeyPath:
    """jobs.<job>.slurm.<key> where the job sets it, else the project's slurm.<key> where that is set."""
    own: KeyPath = ("jobs", job.name, "slurm", key)
    return ("slurm", key) if not where.spec.has(own) and where.spec.has(("slurm", key)) else own


def _stderr_tail(job: Job, task: Task, layout: Layout, build_dir: Path, root: Path) -> tuple[str, ...]:
    """The end of the file the task's stderr went to: its --error (or --output) pattern expanded from
    the task's ids (lognames.py); a pattern they cannot expand is said, not guessed."""
    pattern = lognames.stderr_pattern(job, layout)
    if not job.swept and job.slurm.array is not None:
        ids = lognames.TaskIds(job_name=job.name, array=True)
    elif job.swept:
        ids = lognames.TaskIds(job_name=job.name, array=True, array_job_id=task.cluster, task=task.proc)
    else:
        ids = lognames.TaskIds(job_name=job.name, array=False, job_id=task.cluster, array_job_id=task.cluster)
    expanded = lognames.expand(pattern, ids)
    if expanded.path is None:
        return (
            f"(its stderr went to {foreign.shown(pattern)} (from the build directory), which names "
            f"{expanded.why_not}: not read)",
        )
    path = Path(os.path.normpath(build_dir / expanded.path))
    return err_tail(path, within=root, what="the sbatch script", when="once the task starts")


def findings(
    project: Project, job: Job, task: Task, where: Locator, build_dir: Path, root: Path, layout: Layout
) -> list[Finding]:
    """What the user can change for this task; nothing for one that is fine."""
    jobs: KeyPath = ("jobs", job.name)
    row = job.sweep_rows[task.proc] if task.proc < len(job.sweep_rows) else ()
    values = " ".join(f"{n}={v}" for n, v in zip(job.sweep_variables, row))
    who = f"task {task.id}" + (f" ({values})" if values else "")
    tail = _stderr_tail(job, task, layout, build_dir, root)
    found: list[Finding] = []
    if task.state == "failed":
        if task.slurm_state == "OUT_OF_MEMORY":
            found.append(
                where.at(
                    (*jobs, "resources", "memory"),
                    f"is {job.resources.memory}; {who} ran out of memory (OUT_OF_MEMORY): request more",
                    tail,
                )
            )
        elif task.slurm_state == "TIMEOUT":
            found.append(
                where.at(
                    _slurm_key(where, job, "time"),
                    f"is {job.slurm.time or 'the partition default'}; "
                    f"{who} ran past it (TIMEOUT): a longer time, or checkpoint so it resumes",
                    tail,
                )
            )
        elif task.slurm_state in ("NODE_FAIL", "BOOT_FAIL"):
            found.append(
                where.at(
                    jobs, f"{who} failed with its node ({task.slurm_state}): resubmit it, or scontrol requeue {task.id}"
                )
            )
        elif task.exit_signal is not None:
            found.append(where.at((*jobs, "command"), f"{who} was killed by signal {task.exit_signal}", tail))
        elif job.checkpoint is None and task.exit_code == CHECKPOINT_EXIT_CODE:
            found.append(
                where.at(
                    (*jobs, "checkpoint"),
                    f"{who} exited {CHECKPOINT_EXIT_CODE}, the trainer's checkpoint code, but the "
                    "job does not checkpoint: add checkpoint (files, exit_code)",
                    tail,
                )
            )
        elif task.exit_code is not None:
            found.append(where.at((*jobs, "command"), f"{who} exited with code {task.exit_code}", tail))
    if task.state == "held":
        found.append(where.at(jobs, f"{who} is held ({task.reason or task.slurm_state}): scontrol release {task.id}"))
    if task.state == "idle" and task.reason.split(",")[0] in PENDING_KEYS:
        key = PENDING_KEYS[task.reason.split(",")[0]]
        value = getattr(job.slurm, key)
        found.append(
            where.at(
                _slurm_key(where, job, key),
                f"is {value if value is not None else 'not set'}; {who} pends: Slurm says {task.reason}",
            )
        )
    if task.restarts and job.checkpoint is not None:
        found.append(
            where.at(
                (*jobs, "checkpoint", "exit_code"),
                f"is {job.checkpoint.exit_code}; {who} was "
                f"requeued {task.restarts} time(s) and resumed from its checkpoint files",
            )
        )
    elif task.restarts:
        found.append(
            where.at(
                jobs,
                f"{who} was requeued {task.restarts} time(s) and started over each time "
                "(no checkpoint: add checkpoint to resume instead)",
            )
        )
    return found


def outputs(compiled: Compiled, job: Job, name: str, *, submission: int | None) -> Landing | None:
    """Output `name` in each task's directory, outputs/<job>/<array job>_<task> (render.py)."""
    listed = next((output for output in job.outputs if output == name), None) or next(
        (output for output in job.outputs if output.rsplit("/", 1)[-1] == name), None
    )
    if listed is None:
        return None
    build_dir, root = compiled.root / compiled.layout.build_dir, compiled.root
    ids = submission_ids(job, build_dir, root, [])
    folder = build_dir / "outputs" / job.name
    task_dir = re.compile(r"([0-9]{1,18})_[0-9]{1,9}" if job.swept else r"([0-9]{1,18})")
    try:
        names = [entry.name for entry in folder.iterdir()] if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        names = []
    ids = sorted({*ids, *(int(m.group(1)) for n in names if (m := task_dir.fullmatch(n)))})
    chosen = submission if submission is not None else (ids[-1] if ids else None)

    def place(proc: int, job_id: int | str) -> str:
        task = f"{job_id}_{proc}" if job.swept else str(job_id)
        return f"{compiled.layout.build_dir}/outputs/{job.name}/{task}/{listed}"

    files: dict[int, Path] = {}
    if chosen is not None:
        for proc in range(max(len(job.sweep_rows), 1)):
            path = root / place(proc, chosen)
            try:
                path.lstat()  # whatever is there: reading it says what it is
            except OSError:
                continue
            files[proc] = path
    return Landing(
        kind="Slurm job",
        column="slurm_job",
        submission=chosen,
        files=files,
        expected=lambda proc: place(proc, chosen if chosen is not None else "<job id>"),
        label=lambda proc: (f"{chosen}_{proc}" if job.swept else str(chosen)) if chosen is not None else f"-_{proc}",
    )

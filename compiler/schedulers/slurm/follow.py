"""Following Slurm jobs: each job's newest submission (the ids submit adds to logs/<job>.slurm-jobs, or
the tasks' records), task by task, from three sources, later ones winning where they know more:

1. the record each task's script writes (job.sbatch.j2): logs/<job>_<array job>_<task>.state, or
   logs/<job>_<job id>.state, one line an event: `start <time> <restart count>`, `requeue <time>
   <payload status>` (a checkpoint), `signal <time> TERM`, `exit <time> <status>`;
2. sacct, when the cluster keeps accounting;
3. scontrol, while the controller remembers the job (accounting.py).

The records and the ids file arrive with build/ and come back from compute nodes: foreign data, read
through foreign.read_bytes (regular files inside the project, no links, at most RECORD_LIMIT bytes),
parsed strictly (a line that is no record makes the file unreadable, said with its line), and shown
only through foreign.shown(). Outputs stay where each task worked: outputs/<job>/<array job>_<task>
(render.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ...artifacts.base import Compiled, Layout
from ...core import foreign
from ...core.defaults import CHECKPOINT_EXIT_CODE
from ...spec.loader import KeyPath
from ...spec.model import Job, Project
from ..base import Followed, Following, Landing
from ..findings import Finding, Locator, err_tail, refusal
from . import accounting, lognames
from .submit import JOB_ID, submissions

RECORD_LIMIT = 64 * 1024  # bytes of one task's record (about 3,000 events) or of the ids file
MAX_IDS = 10_000  # submissions of one job that are looked at
FILES_ONLY = "(from the tasks' records only: neither sacct nor scontrol answered here)"
RECORD_LINE = re.compile(r"(start|requeue|signal|exit)\t([0-9]{1,12})\t([0-9]{1,9}|TERM)")
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


@dataclass
class Task:
    """One task of a submission as the record, sacct and scontrol leave it."""

    cluster: int  # the (array) job id
    proc: int
    array: bool
    state: str = "idle"
    slurm_state: str = ""  # Slurm's own word, when Slurm answered
    exit_code: int | None = None
    exit_signal: int | None = None
    restarts: int = 0
    reason: str = ""
    checkpointed: bool = False  # its last run asked to be requeued from a checkpoint
    source: str = "record"  # "record", "sacct" or "scontrol": the last that said something

    @property
    def id(self) -> str:
        return f"{self.cluster}_{self.proc}" if self.array else str(self.cluster)

    @property
    def counters(self) -> dict[str, int]:
        return {"restarts": self.restarts}

    @property
    def detail(self) -> str:
        said = f"{self.slurm_state}, " if self.slurm_state and self.slurm_state not in ("COMPLETED", "FAILED") else ""
        if self.state in ("completed", "failed"):
            ended = (
                f"exit signal {self.exit_signal}"
                if self.exit_signal is not None
                else f"exit code {self.exit_code}"
                if self.exit_code is not None
                else ""
            )
            return f"{said}{ended}".rstrip(", ") or self.slurm_state
        if self.state == "idle" and self.checkpointed:
            return "requeued from its checkpoint" + (f" ({self.reason})" if self.reason else "")
        return self.slurm_state if self.state == "removed" else self.reason


@dataclass
class Submission:
    cluster: int
    processes: dict[int, Task]
    older_clusters: tuple[int, ...] = ()
    unreadable: tuple[str, ...] = ()
    kind = "Slurm job"


def _shown(path: Path, root: Path) -> str:
    try:
        return foreign.shown(path.relative_to(root).as_posix())
    except ValueError:
        return foreign.shown(str(path))


def _read(path: Path, root: Path, problems: list[str]) -> list[str] | None:
    """The lines of a foreign file, or None (missing, or refused with a message in `problems`)."""
    try:
        read = foreign.read_bytes(path, RECORD_LIMIT, within=root, missing_ok=True)
    except foreign.ForeignFileError as error:
        problems.append(
            f"{_shown(path, root)}: {refusal(error)}; the job scripts write regular files, so it is not read"
        )
        return None
    if read is None:
        return None
    if read.cut:
        problems.append(f"{_shown(path, root)}: is over {RECORD_LIMIT // 1024} KiB; it is not read")
        return None
    return read.data.decode("utf-8", errors="replace").splitlines()


def record_name(job: Job, job_id: int, task: int) -> str:
    return f"logs/{job.name}_{job_id}_{task}.state" if job.swept else f"logs/{job.name}_{job_id}.state"


def submission_ids(job: Job, build_dir: Path, root: Path, problems: list[str]) -> list[int]:
    """The job's submissions: the ids file, and the ids in the names of task records."""
    ids: set[int] = set()
    path = build_dir / submissions(job)
    for number, line in enumerate(_read(path, root, problems) or [], 1):
        if JOB_ID.fullmatch(line.strip()):
            ids.add(int(line))
        elif line.strip():
            problems.append(f"{_shown(path, root)}:{number}: not a Slurm job id: '{foreign.shown(line, 60)}'")
    logs = build_dir / "logs"
    name = re.compile(
        re.escape(job.name) + (r"_([0-9]{1,18})_[0-9]{1,9}\.state" if job.swept else r"_([0-9]{1,18})\.state")
    )
    try:
        foreign.link_inside(logs, root)
        listed = sorted(logs.glob(f"{job.name}_*.state")) if logs.is_dir() else []
    except (foreign.ForeignFileError, OSError):
        listed = []  # a linked logs/ is never walked (reading the ids file said why)
    for file in listed:
        match = name.fullmatch(file.name)
        if match:
            ids.add(int(match.group(1)))
    return sorted(ids)[-MAX_IDS:]


def fold(task: Task, lines: list[str], shown: str, problems: list[str]) -> Task | None:
    """A task's record, line by line; None when it has no line yet or one that is no record."""
    events = 0
    for number, line in enumerate(lines, 1):
        match = RECORD_LINE.fullmatch(line)
        if not match:
            problems.append(f"{shown}:{number}: not a task record line: '{foreign.shown(line, 60)}'")
            return None
        kind, value = match.group(1), match.group(3)
        events += 1
        if kind == "start":
            task.state, task.checkpointed, task.exit_code, task.exit_signal = "running", False, None, None
            task.restarts = max(task.restarts, int(value) if value.isdigit() else 0)
        elif task.checkpointed or task.exit_signal is not None:
            # The end of a run that asked for its requeue, or that TERM ended (bash runs the EXIT trap
            # on its way out): the next start is what counts.
            continue
        elif kind == "requeue":
            task.state, task.checkpointed = "idle", True
        elif kind == "signal":
            task.state, task.exit_signal = "failed", 15
        elif value.isdigit():
            task.exit_code = int(value)
            task.state = "completed" if task.exit_code == 0 else "failed"
    return task if events else None


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
                processes=_records(job, chosen, build_dir, root, problems),
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


def _records(job: Job, job_id: int, build_dir: Path, root: Path, problems: list[str]) -> dict[int, Task]:
    tasks = {}
    for proc in range(max(len(job.sweep_rows), 1)):
        path = build_dir / record_name(job, job_id, proc)
        lines = _read(path, root, problems)
        task = (
            fold(Task(cluster=job_id, proc=proc, array=job.swept), lines, _shown(path, root), problems)
            if lines
            else None
        )
        if task is not None:
            tasks[proc] = task
    return tasks


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

"""What a Slurm job leaves of its own: the ids file pixi-htc submit writes (logs/<job>.slurm-jobs) and the
record each task's script writes (job.sbatch.j2): logs/<job>_<array job>_<task>.state, or
logs/<job>_<job id>.state, one line an event: `start <time> <restart count>`, `requeue <time> <payload
status>` (a checkpoint), `signal <time> TERM`, `exit <time> <status>`. Foreign data: read through
foreign.read_bytes (regular files inside the project, no links, at most RECORD_LIMIT bytes), parsed
strictly (a line that is no record makes the file unreadable, said with its line), shown only through
foreign.shown(). follow.py lays sacct and scontrol over these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...core import foreign
from ...spec.model import Job
from ..findings import refusal
from .submit import JOB_ID, submissions

RECORD_LIMIT = 64 * 1024  # bytes of one task's record (about 3,000 events) or of the ids file
MAX_IDS = 10_000  # submissions of one job that are looked at
RECORD_LINE = re.compile(r"(start|requeue|signal|exit)\t([0-9]{1,12})\t([0-9]{1,9}|TERM)")


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


def shown_path(path: Path, root: Path) -> str:
    try:
        return foreign.shown(path.relative_to(root).as_posix())
    except ValueError:
        return foreign.shown(str(path))


def read_lines(path: Path, root: Path, problems: list[str]) -> list[str] | None:
    """The lines of a foreign file, or None (missing, or refused with a message in `problems`)."""
    try:
        read = foreign.read_bytes(path, RECORD_LIMIT, within=root, missing_ok=True)
    except foreign.ForeignFileError as error:
        problems.append(
            f"{shown_path(path, root)}: {refusal(error)}; the job scripts write regular files, so it is not read"
        )
        return None
    if read is None:
        return None
    if read.cut:
        problems.append(f"{shown_path(path, root)}: is over {RECORD_LIMIT // 1024} KiB; it is not read")
        return None
    return read.data.decode("utf-8", errors="replace").splitlines()


def record_name(job: Job, job_id: int, task: int) -> str:
    return f"logs/{job.name}_{job_id}_{task}.state" if job.swept else f"logs/{job.name}_{job_id}.state"


def submission_ids(job: Job, build_dir: Path, root: Path, problems: list[str]) -> list[int]:
    """The job's submissions: the ids file, and the ids in the names of task records."""
    ids: set[int] = set()
    path = build_dir / submissions(job)
    for number, line in enumerate(read_lines(path, root, problems) or [], 1):
        if JOB_ID.fullmatch(line.strip()):
            ids.add(int(line))
        elif line.strip():
            problems.append(f"{shown_path(path, root)}:{number}: not a Slurm job id: '{foreign.shown(line, 60)}'")
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


def records(job: Job, job_id: int, build_dir: Path, root: Path, problems: list[str]) -> dict[int, Task]:
    tasks = {}
    for proc in range(max(len(job.sweep_rows), 1)):
        path = build_dir / record_name(job, job_id, proc)
        lines = read_lines(path, root, problems)
        task = (
            fold(Task(cluster=job_id, proc=proc, array=job.swept), lines, shown_path(path, root), problems)
            if lines
            else None
        )
        if task is not None:
            tasks[proc] = task
    return tasks

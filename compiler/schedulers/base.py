"""The one interface every scheduler provides. Commands (`submit`, `status`, `results`, `explain`) go
through it and never ask which scheduler a job has; the registry is schedulers/__init__.py.

Following a job is two questions: what happened to each process of its newest (or a given)
submission (`follow`: states, exit codes, and problems as Findings at the spec keys that fix them),
and where a process's outputs land (`outputs`: results reads metrics files there). The answers are
the neutral shapes below; each scheduler fills them from what it has (HTCondor's event logs and
schedd, Slurm's sacct, scontrol and the records its scripts write), all of it read as foreign data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..artifacts.base import Artifact, Compiled, Layout
from ..spec.model import Job, Project
from .findings import Finding, Locator

# The states status shows, in its order; a process in one of FINAL states is done.
STATES = ("idle", "running", "suspended", "held", "completed", "failed", "removed")
FINAL: frozenset[str] = frozenset({"completed", "failed", "removed"})


class Process(Protocol):
    """One process of a submission (an HTCondor cluster.proc, a Slurm array task)."""

    @property
    def proc(self) -> int: ...  # its row of the sweep (0 without one)

    @property
    def state(self) -> str: ...  # one of STATES

    @property
    def id(self) -> str: ...  # as the scheduler names it: 4242.3, 1234_3

    @property
    def detail(self) -> str: ...  # how it ended, or why it is held; foreign text already shown()

    @property
    def counters(self) -> Mapping[str, int]: ...  # evictions, checkpoints, restarts: what it went through


class Submission(Protocol):
    """One submission of one job, process by process."""

    @property
    def cluster(self) -> int: ...  # its number: HTCondor's cluster, Slurm's (array) job id

    @property
    def kind(self) -> str: ...  # what a submission is called: "cluster", "Slurm job"

    @property
    def older_clusters(self) -> tuple[int, ...]: ...

    @property
    def unreadable(self) -> tuple[str, ...]: ...  # messages for what was found and could not be read

    @property
    def processes(self) -> Mapping[int, Process]: ...


@dataclass(frozen=True)
class Step:
    """One step of a pipeline's run (#24), as the scheduler's own record of the run says it: an
    HTCondor DAG node (a process of a job). Its text is foreign and shown() already."""

    name: str  # as the scheduler names it: train_3
    process: int
    state: str  # e.g. "not ready", "ready", "submitted", "done", "error", "futile"
    retries: int  # retries used so far
    detail: str = ""  # the scheduler's own words on it (how it failed, "idle")
    made_futile: tuple[str, ...] = ()  # a failed step: steps that will not run because it failed (a few)
    made_futile_count: int = 0  # how many in all
    failed_upstream: tuple[str, ...] = ()  # a step that will not run: the failed steps above it (a few)


@dataclass
class Pipeline:
    """What the scheduler's record of a pipeline's run says as a whole."""

    name: str  # what it is, as status names it: build/htcondor/pipeline.dag
    summary: str  # e.g. "not submitted yet (...)", "running: 9 nodes, 4 done"
    finished: bool = False  # the run is over: no step will change any more
    unreadable: list[str] = field(default_factory=list)  # its record, found and not read
    notes: list[str] = field(default_factory=list)  # e.g. steps no job of this spec has


@dataclass
class Followed:
    """What follow found for one job."""

    job: Job
    submission: Submission | None  # None: never submitted, as far as anything here says
    findings: list[Finding] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what was found and never read (a link, a FIFO)
    not_found: str = ""  # for a job never submitted: what was looked for, e.g. "no event log matches ..."
    steps: list[Step] = field(default_factory=list)  # its steps in a pipeline's run, process order


@dataclass
class Following:
    jobs: list[Followed]
    answered: bool  # whether the scheduler itself answered (a schedd; sacct or scontrol)
    files_only: str  # the note status adds when it did not
    pipeline: Pipeline | None = None  # the run of the pipeline these jobs form, where they form one


@dataclass(frozen=True)
class Landing:
    """Where one output of one job's processes lands, for one submission."""

    kind: str  # as Submission.kind
    column: str  # results' CSV column for the submission's number
    submission: int | None  # None: no process has left the output yet
    files: Mapping[int, Path]  # process -> what is there (any kind of file: reading it says what it is)
    expected: Callable[[int], str]  # process -> where it would be, relative to the project root
    label: Callable[[int], str]  # process -> its id as the scheduler names it


class Scheduler(Protocol):
    name: str  # the spec's `scheduler:` value

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        """The job files of every job on this scheduler (nothing written)."""
        ...

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        """Print one line per process that would be queued, and the scheduler's own check where it has one."""
        ...

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        """Queue the jobs as the build directory has them (the caller has refused a stale build)."""
        ...

    def has_pipeline(self, project: Project) -> bool:
        """Whether the project's jobs on this scheduler form a pipeline (#24): edges, retries, limits."""
        ...

    def submit_pipeline(self, compiled: Compiled, *, dry_run: bool) -> None:
        """Submit every job on this scheduler as one pipeline, in order (or say how, for a dry run)."""
        ...

    def follow(
        self, compiled: Compiled, where: Locator, jobs: list[Job], *, submission: int | None, live: bool
    ) -> Following:
        """Each job's newest submission (or `submission`), process by process, with what went wrong
        as Findings. `live`: ask the scheduler too; else read only the files its jobs left."""
        ...

    def outputs(self, compiled: Compiled, job: Job, name: str, *, submission: int | None) -> Landing | None:
        """Where output `name` of each process of the newest (or given) submission lands; None when the
        job does not list that output."""
        ...

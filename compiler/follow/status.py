"""`pixi-htc status`: each job's newest submission, process by process, with what went wrong said in
the spec's terms. `--watch` redraws it, like condor_watch_q, until every process is done.

Each job's scheduler (schedulers/__init__.py) says what happened (Scheduler.follow); this module never
asks which scheduler a job has. Everything the schedulers read is foreign data (build/ arrives in pull
requests; logs, records and .err files come back from execute machines and compute nodes): they read
it bounded and show every piece of its text through foreign.shown(), and every line printed here
passes once more through printable(), so nothing a log says can move the terminal's cursor or forge a
line of output.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..artifacts.base import Compiled
from ..core import foreign
from ..core.errors import EXIT_INVALID, EXIT_OK, UsageError, printable
from ..schedulers import SCHEDULERS
from ..schedulers.base import FINAL, STATES, Followed, Pipeline, Scheduler, Step
from ..schedulers.findings import Locator
from ..spec.loader import LoadedSpec
from ..spec.model import Job
from .origin import OriginLocator

STATE_ORDER = STATES
WATCH_INTERVAL = (2.0, 300.0)  # seconds: the bounds --interval is held to
BAR_WIDTH = 30
# A process's counters as the summary line says them.
COUNTED = {"evictions": "evicted", "checkpoints": "checkpointed", "restarts": "restarted"}


@dataclass
class JobStatus(Followed):
    idle: str = ""  # why its idle processes wait, from the pool's slots (explain_idle)

    @property
    def cluster(self):  # type: ignore[no-untyped-def]  # the submission, by the name status has always used
        return self.submission

    @property
    def expected(self) -> int:
        return max(len(self.job.sweep_rows), 1)

    @property
    def done(self) -> bool:
        return (
            self.submission is not None
            and len(self.submission.processes) >= self.expected
            and all(p.state in FINAL for p in self.submission.processes.values())
        )

    def step(self, proc: int) -> Step | None:
        return next((step for step in self.steps if step.process == proc), None)


@dataclass
class Report:
    spec_file: str
    jobs: list[JobStatus]
    answered: dict[str, bool]  # scheduler -> whether it answered (its schedd; sacct or scontrol)
    files_only: dict[str, str]  # scheduler -> the note for when it did not
    idle_note: str = ""  # said once: why idle processes are not explained (no collector answered)
    pipelines: list[Pipeline] = field(default_factory=list)  # the DAG runs the jobs form, as DAGMan says

    @property
    def schedd(self) -> bool:
        return all(self.answered.values())

    @property
    def unreadable(self) -> list[str]:
        return [
            message
            for status in self.jobs
            for message in (*status.refused, *(status.submission.unreadable if status.submission else ()))
        ] + [message for pipeline in self.pipelines for message in pipeline.unreadable]

    @property
    def submitted(self) -> list[JobStatus]:
        return [status for status in self.jobs if status.submission is not None]

    @property
    def done(self) -> bool:
        # A pipeline's job is done when its DAG is: DAGMan never runs a node below a failed one.
        finished = bool(self.pipelines) and all(pipeline.finished for pipeline in self.pipelines)
        return bool(self.submitted) and all(status.done or (finished and status.steps) for status in self.submitted)


def collect(
    compiled: Compiled,
    spec: LoadedSpec,
    *,
    job_name: str | None = None,
    cluster: int | None = None,
    live: bool = True,
    schedulers: Mapping[str, Scheduler] = SCHEDULERS,
    collector: bool = True,
    memo: dict[str, object] | None = None,
) -> Report:
    """Each chosen job as its scheduler follows it, in the spec's job order. `live`: ask the
    schedulers too (a schedd, sacct, scontrol), else read only the files the jobs left; `live` and
    `collector`: ask the pool why idle processes wait (explain_idle; `memo` keeps what it said for
    the --watch rounds of one status command)."""
    jobs = compiled.project.jobs
    if job_name is not None:
        jobs = tuple(job for job in jobs if job.name == job_name)
        if not jobs:
            names = ", ".join(job.name for job in compiled.project.jobs) or "none"
            raise UsageError(f"no job named {job_name!r}; jobs: {names}")
    where = OriginLocator(spec, compiled)
    by_job: dict[str, JobStatus] = {}
    answered: dict[str, bool] = {}
    files_only: dict[str, str] = {}
    pipelines: list[Pipeline] = []
    for name in sorted({job.scheduler for job in jobs}):
        following = schedulers[name].follow(
            compiled, where, [job for job in jobs if job.scheduler == name], submission=cluster, live=live
        )
        answered[name], files_only[name] = following.answered, following.files_only
        pipelines += [following.pipeline] if following.pipeline is not None else []
        for followed in following.jobs:
            by_job[followed.job.name] = JobStatus(**vars(followed))
    report = Report(
        spec_file=spec.display_path,
        jobs=[by_job[job.name] for job in jobs],
        answered=answered,
        files_only=files_only,
        pipelines=pipelines,
    )
    if live and collector:
        explain_idle(report, compiled, where, schedulers, {} if memo is None else memo)
    return report


def explain_idle(
    report: Report, compiled: Compiled, where: Locator, schedulers: Mapping[str, Scheduler], memo: dict[str, object]
) -> None:
    """Each job with an idle process, where its scheduler can say why (HTCondor: the slots that match,
    as preflight counts them, and the clause that excludes them all at its spec line); once for the
    report when no pool answers. A scheduler without explain_idle (Slurm) is left as it is."""
    for status in report.jobs:
        scheduler = schedulers[status.job.scheduler]
        explain = getattr(scheduler, "explain_idle", None)
        if explain is None or status.submission is None:
            continue
        if not any(process.state == "idle" for process in status.submission.processes.values()):
            continue
        why = explain(compiled, where, status.job, memo)
        if why.unexplained:
            report.idle_note = report.idle_note or f"idle processes not explained: {why.unexplained}"
        status.idle = why.line
        if why.finding is not None and why.finding not in status.findings:
            status.findings.append(why.finding)


def counts(status: JobStatus) -> Counter[str]:
    assert status.submission is not None
    return Counter(process.state for process in status.submission.processes.values())


def _values(job: Job, proc: int) -> str:
    if not 0 <= proc < len(job.sweep_rows):
        return ""
    return " ".join(f"{name}={value}" for name, value in zip(job.sweep_variables, job.sweep_rows[proc]))


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(width * done / total) if total else 0
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} completed"


def step_words(step: Step) -> str:
    """What DAGMan says of a process's node: its name and state, retries, and what a failure stops."""
    words = [f"node {foreign.shown(step.name)} {step.state}"]
    if step.detail:
        words.append(step.detail)
    if step.retries:
        words.append(f"retried {step.retries}")
    if step.failed_upstream:
        words.append(f"will not run: {', '.join(map(foreign.shown, step.failed_upstream))} failed")
    if step.made_futile_count:
        more = step.made_futile_count - len(step.made_futile)
        named = ", ".join(map(foreign.shown, step.made_futile)) + (f" and {more:,} more" if more > 0 else "")
        words.append(f"stops {named}")
    return "; ".join(words)


def render(report: Report, *, progress: bool = False) -> Iterator[str]:
    for pipeline in report.pipelines:
        yield f"pipeline {foreign.shown(pipeline.name)}: {pipeline.summary}"
        yield from (f"  {note}" for note in pipeline.notes)
        yield from (f"  unreadable: {message}" for message in pipeline.unreadable)
    for status in report.jobs:
        job = status.job
        refused = [f"  unreadable: {message}" for message in status.refused]
        cluster = status.submission
        if cluster is None:
            yield f"{foreign.shown(job.name)}: not submitted ({status.not_found})"
            yield from refused
            continue
        tally = counts(status)
        summary = ", ".join(f"{tally[state]} {state}" for state in STATE_ORDER if tally[state])
        missing = status.expected - len(cluster.processes)
        if missing > 0:
            summary += f"{', ' if summary else ''}{missing} without a log yet"
        totals: Counter[str] = Counter()
        for process in cluster.processes.values():
            totals.update(process.counters)
        extra = [f"{COUNTED.get(name, name)} {totals[name]}" for name in totals if totals[name]]
        older = (
            f"; earlier {cluster.kind}s: {', '.join(map(str, cluster.older_clusters))}"
            if cluster.older_clusters
            else ""
        )
        yield (
            f"{foreign.shown(job.name)}: {cluster.kind} {cluster.cluster}, {status.expected} process(es): {summary}"
            + (f" ({', '.join(extra)})" if extra else "")
            + older
        )
        if progress:
            yield f"  {bar(tally['completed'], status.expected)}"
        for proc, process in sorted(cluster.processes.items()):
            values = _values(job, proc)
            counters = "".join(f" {name}={value}" for name, value in process.counters.items() if value)
            line = f"  {process.id:<10} {process.state:<10} {values}".rstrip()
            detail = process.detail
            step = status.step(proc)
            yield line + (f"  {detail}" if detail else "") + counters + (f"  ({step_words(step)})" if step else "")
        for step in status.steps:  # a node with no log yet: waiting on others, or never to run
            if step.process not in cluster.processes:
                yield f"  {'-':<10} {'':<10} {_values(job, step.process)}".rstrip() + f"  ({step_words(step)})"
        if status.idle:
            yield f"  {status.idle}"
        yield from refused
        for message in cluster.unreadable:
            yield f"  unreadable: {message}"  # the schedulers' messages show each foreign piece already
    problems = sorted({finding for status in report.jobs for finding in status.findings})
    if problems:
        yield ""
        yield "In the spec's terms (the key to change, and why):"
        for finding in problems:
            yield finding.format(report.spec_file)
    unanswered = [report.files_only[name] for name, answered in sorted(report.answered.items()) if not answered]
    unanswered += [report.idle_note] if report.idle_note else []
    if unanswered:
        yield ""
        yield from unanswered


def status(
    compiled: Compiled,
    spec: LoadedSpec,
    *,
    job_name: str | None,
    cluster: int | None = None,
    watch: bool = False,
    interval: float = 10.0,
    live: bool = True,
    collector: bool = True,
    schedulers: Mapping[str, Scheduler] = SCHEDULERS,
    out: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    max_rounds: int | None = None,
) -> int:
    """Print the report once, or redraw it every `interval` seconds until every process is done.
    A finite interval is held to WATCH_INTERVAL; nan or an infinity is refused (min and max pass
    nan through, and time.sleep(nan) raises, time.sleep(inf) never returns)."""
    if not math.isfinite(interval):
        raise UsageError(
            f"--interval {foreign.shown(interval)}: give the seconds between redraws as a number, "
            f"{WATCH_INTERVAL[0]:g} to {WATCH_INTERVAL[1]:g}"
        )
    interval = min(max(interval, WATCH_INTERVAL[0]), WATCH_INTERVAL[1])
    rounds = 0
    memo: dict[str, object] = {}  # what the schedulers asked once for the whole command (the collector)
    try:
        while True:
            report = collect(
                compiled,
                spec,
                job_name=job_name,
                cluster=cluster,
                live=live,
                schedulers=schedulers,
                collector=collector,
                memo=memo,
            )
            if watch and sys.stdout.isatty():
                out("\x1b[H\x1b[2J")  # home and clear, as condor_watch_q redraws
            for item in render(report, progress=watch):
                # One more pass over each whole line: a piece that missed shown() still cannot
                # reach the terminal raw. (A finding's details are lines of their own.)
                for line in item.split("\n"):
                    out(printable(line))
            rounds += 1
            if not watch or report.done or not report.submitted or (max_rounds is not None and rounds >= max_rounds):
                break
            sleep(interval)
    except KeyboardInterrupt:
        out("stopped watching")
        return EXIT_OK
    return EXIT_INVALID if report.unreadable else EXIT_OK

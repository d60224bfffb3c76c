"""`pixi-htc status`: each job's newest submission, process by process, with what went wrong said in
the spec's terms. `--watch` redraws it, like condor_watch_q, until every process is done.

Everything status reads is foreign data (build/ arrives in pull requests; event logs and .err files
come back from execute machines): logs are found by their own listing here, which refuses links and
anything but regular files with a message, and read bounded (joblog.read_log, diagnose.err_tail);
every piece of their text is printed through foreign.shown(), and every line once more through
printable(), so nothing a log says can move the terminal's cursor or forge a line of output.
"""

from __future__ import annotations

import itertools
import math
import re
import stat
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import foreign
from .diagnose import Finding, Locator, findings
from .errors import EXIT_INVALID, EXIT_OK, UsageError, printable
from .jobfiles import JobFiles, Pattern, job_files
from .joblog import FINAL, Cluster, Process, ScheddQuery, overlay, query_schedd, read_cluster, refusal
from .loader import LoadedSpec
from .model import Job
from .pipeline import Compiled

STATE_ORDER = ("idle", "running", "suspended", "held", "completed", "removed")
WATCH_INTERVAL = (2.0, 300.0)  # seconds: the bounds --interval is held to
BAR_WIDTH = 30
GLOB_MAGIC = re.compile(r"[*?[]")
NOT_READ = "HTCondor writes event logs as regular files, so it is not read"
# Names a job's log pattern may match in one look (a log per process of a 100,000-row sweep, and
# older submissions'); past it the listing stops, and says so. Refusals listed one by one at most.
MAX_LISTED = 500_000
MAX_REFUSED = 20


@dataclass
class JobStatus:
    job: Job
    files: JobFiles
    cluster: Cluster | None
    findings: list[Finding] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # log names that are no regular file: never read

    @property
    def expected(self) -> int:
        return max(len(self.job.sweep_rows), 1)

    @property
    def done(self) -> bool:
        return self.cluster is not None and len(self.cluster.processes) >= self.expected and all(
            p.state in FINAL for p in self.cluster.processes.values())


@dataclass
class Report:
    spec_file: str
    jobs: list[JobStatus]
    schedd: bool  # whether a schedd answered

    @property
    def unreadable(self) -> list[str]:
        return [message for status in self.jobs
                for message in (*status.refused, *(status.cluster.unreadable if status.cluster else ()))]

    @property
    def submitted(self) -> list[JobStatus]:
        return [status for status in self.jobs if status.cluster is not None]

    @property
    def done(self) -> bool:
        return bool(self.submitted) and all(status.done for status in self.submitted)


def log_files(pattern: Pattern, build_dir: Path, root: Path) -> tuple[list[tuple[int, int, Path]], list[str]]:
    """(cluster, process, file) for every regular file the log pattern matches, sorted, and a
    message for every match that is something else (a symbolic link, a FIFO, a directory, a
    device) or lies through a link. Pattern.find is not used: it follows links (is_file) and drops
    a FIFO without a word, where a hostile build/ should be named. Only ASCII digits count as
    cluster and process numbers (`\\d` alone also takes other scripts' digits)."""
    def name(path: Path) -> str:
        try:
            return foreign.shown(path.relative_to(root).as_posix())
        except ValueError:
            return foreign.shown(str(path))

    parts = pattern.glob.split("/")
    folder = build_dir.joinpath(*itertools.takewhile(lambda part: not GLOB_MAGIC.search(part), parts[:-1]))
    try:
        # A linked build/ or logs/ would have the listing below walk wherever the link points.
        foreign.link_inside(build_dir, root)
        foreign.link_inside(folder, root)
    except foreign.ForeignFileError as error:
        return [], [f"{name(folder)}: {refusal(error)}; no event log is read there"]
    regex = re.compile(pattern.regex.pattern, re.ASCII)
    try:
        candidates = sorted(itertools.islice(build_dir.glob(pattern.glob), MAX_LISTED + 1))
    except (OSError, ValueError, NotImplementedError) as error:  # an absolute or empty pattern, an unreadable folder
        return [], [f"{foreign.shown(pattern.template)}: event logs cannot be listed there ({foreign.shown(error)})"]
    found, refused = [], []
    stopped = []
    if len(candidates) > MAX_LISTED:
        stopped.append(f"{name(folder)}: over {MAX_LISTED:,} names match {foreign.shown(pattern.glob)}; only "
                       f"{MAX_LISTED:,} of them are looked at (move old submissions' logs away)")
    for file in candidates[:MAX_LISTED]:
        match = regex.fullmatch(file.relative_to(build_dir).as_posix())
        if not match:
            continue
        try:
            foreign.link_inside(file, root)
            mode = file.lstat().st_mode
        except foreign.ForeignFileError as error:
            refused.append(f"{name(file)}: {refusal(error)}; {NOT_READ}")
            continue
        except OSError:  # gone since the listing: nothing to say about it
            continue
        if not stat.S_ISREG(mode):
            refused.append(f"{name(file)}: is {foreign.kind(mode)}, not a regular file; {NOT_READ}")
            continue
        groups = match.groupdict()
        found.append((int(groups.get("cluster") or 0), int(groups.get("proc") or 0), file))
    if len(refused) > MAX_REFUSED:
        more = len(refused) - MAX_REFUSED + 1
        refused[MAX_REFUSED - 1:] = [(f"{name(folder)}: {more:,} more names that are not event logs HTCondor "
                                      "wrote, as the ones above; not read")]
    return sorted(found), refused + stopped


def collect(compiled: Compiled, spec: LoadedSpec, *, job_name: str | None = None, cluster: int | None = None,
            schedd: ScheddQuery | None = query_schedd) -> Report:
    jobs = compiled.project.jobs
    if job_name is not None:
        jobs = tuple(job for job in jobs if job.name == job_name)
        if not jobs:
            names = ", ".join(job.name for job in compiled.project.jobs) or "none"
            raise UsageError(f"no job named {job_name!r}; jobs: {names}")
    build_dir = compiled.root / compiled.layout.build_dir
    where = Locator(spec)
    statuses = []
    for job in jobs:
        files = job_files(compiled, job.name)
        logs, refused = log_files(files.log, build_dir, compiled.root) if files.log else ([], [])
        found = read_cluster(logs, compiled.root, cluster, expected=max(len(job.sweep_rows), 1))
        statuses.append(JobStatus(job=job, files=files, cluster=found, refused=refused))
    ads = schedd([s.cluster.cluster for s in statuses if s.cluster]) if schedd is not None else None
    for status in statuses:
        if status.cluster is None:
            continue
        if ads:
            status.cluster = overlay(status.cluster, ads)
        for proc, process in sorted(status.cluster.processes.items()):
            err = build_dir / status.files.error.path(process.cluster, proc) if status.files.error else None
            status.findings.extend(findings(compiled.project, status.job, process, where, err, within=compiled.root))
    return Report(spec_file=spec.display_path, jobs=statuses, schedd=ads is not None)


def counts(status: JobStatus) -> Counter[str]:
    assert status.cluster is not None
    return Counter(process.state for process in status.cluster.processes.values())


def _values(job: Job, proc: int) -> str:
    if not 0 <= proc < len(job.sweep_rows):
        return ""
    return " ".join(f"{name}={value}" for name, value in zip(job.sweep_variables, job.sweep_rows[proc]))


def _detail(process: Process) -> str:
    """The table's last column: the hold or removal reason (foreign text, shown cut and escaped),
    or how the process ended."""
    if process.state == "held" and process.held is not None:
        code = f" [code {process.held.code}" + (f"/{process.held.subcode}" if process.held.subcode else "") + "]" \
            if process.held.code is not None else ""
        return f"{foreign.shown(process.held.reason)}{code}"
    if process.state == "completed":
        return f"exit signal {process.exit_signal}" if process.exit_signal is not None else f"exit code {process.exit_code}"
    if process.state == "removed":
        return foreign.shown(process.removed_reason or "")
    return ""


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(width * done / total) if total else 0
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} completed"


def render(report: Report, *, progress: bool = False) -> Iterator[str]:
    for status in report.jobs:
        job = status.job
        refused = [f"  unreadable: {message}" for message in status.refused]
        if status.cluster is None:
            where = foreign.shown(status.files.log.template) if status.files.log else "its log"
            yield f"{foreign.shown(job.name)}: not submitted (no event log matches {where} in the build directory)"
            yield from refused
            continue
        cluster = status.cluster
        tally = counts(status)
        summary = ", ".join(f"{tally[state]} {state}" for state in STATE_ORDER if tally[state])
        missing = status.expected - len(cluster.processes)
        if missing > 0:
            summary += f", {missing} without a log yet"
        extra = [f"{name} {total}" for name, total in (
            ("evicted", sum(p.evictions for p in cluster.processes.values())),
            ("checkpointed", sum(p.checkpoints for p in cluster.processes.values())),
            ("restarted", sum(p.restarts for p in cluster.processes.values()))) if total]
        older = f"; earlier clusters: {', '.join(map(str, cluster.older_clusters))}" if cluster.older_clusters else ""
        yield (f"{foreign.shown(job.name)}: cluster {cluster.cluster}, {status.expected} process(es): {summary}"
               + (f" ({', '.join(extra)})" if extra else "") + older)
        if progress:
            yield f"  {bar(tally['completed'], status.expected)}"
        for proc, process in sorted(cluster.processes.items()):
            values = _values(job, proc)
            counters = "".join(f" {name}={value}" for name, value in (
                ("evictions", process.evictions), ("checkpoints", process.checkpoints),
                ("restarts", process.restarts)) if value)
            line = f"  {process.id:<10} {process.state:<10} {values}".rstrip()
            detail = _detail(process)
            yield line + (f"  {detail}" if detail else "") + counters
        yield from refused
        for message in cluster.unreadable:
            yield f"  unreadable: {message}"  # read_log's messages show each foreign piece already
    problems = sorted({finding for status in report.jobs for finding in status.findings})
    if problems:
        yield ""
        yield "In the spec's terms (the key to change, and why):"
        for finding in problems:
            yield finding.format(report.spec_file)
    if not report.schedd:
        yield ""
        yield "(from the event logs only: no HTCondor schedd answered here)"


def status(compiled: Compiled, spec: LoadedSpec, *, job_name: str | None, cluster: int | None = None,
           watch: bool = False, interval: float = 10.0, schedd: ScheddQuery | None = query_schedd,
           out: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep,
           max_rounds: int | None = None) -> int:
    """Print the report once, or redraw it every `interval` seconds until every process is done.
    A finite interval is held to WATCH_INTERVAL; nan or an infinity is refused (min and max pass
    nan through, and time.sleep(nan) raises, time.sleep(inf) never returns)."""
    if not math.isfinite(interval):
        raise UsageError(f"--interval {foreign.shown(interval)}: give the seconds between redraws as a number, "
                         f"{WATCH_INTERVAL[0]:g} to {WATCH_INTERVAL[1]:g}")
    interval = min(max(interval, WATCH_INTERVAL[0]), WATCH_INTERVAL[1])
    rounds = 0
    try:
        while True:
            report = collect(compiled, spec, job_name=job_name, cluster=cluster, schedd=schedd)
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


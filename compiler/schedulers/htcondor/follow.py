"""Following HTCondor jobs: each job's newest cluster from the event logs its .sub writes (joblog.py),
the schedd's present where one answers, problems at spec keys (diagnose.py), and where an output
lands (the .sub's transfer_output_remaps, jobfiles.py).

Everything here is foreign data (build/ arrives in pull requests; event logs and .err files come back
from execute machines): logs are found by their own listing here, which refuses links and anything but
regular files with a message, and read bounded (joblog.read_log, clusters.py, findings.err_tail).
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ...artifacts.base import Compiled
from ...core import foreign
from ...spec.model import Job
from ..base import Followed, Following, Landing
from ..findings import Locator
from . import dag, dagfollow
from .clusters import Cluster, ScheddQuery, overlay, read_cluster, read_processes
from .diagnose import findings
from .jobfiles import JobFiles, Pattern, job_files
from .joblog import LogError, read_log, refusal

GLOB_MAGIC = re.compile(r"[*?[]")
NOT_READ = "HTCondor writes event logs as regular files, so it is not read"
# Names a job's log pattern may match in one look (a log per process of a 100,000-row sweep, and
# older submissions'); past it the listing stops, and says so. Refusals listed one by one at most.
MAX_LISTED = 500_000
MAX_REFUSED = 20
FILES_ONLY = "(from the event logs only: no HTCondor schedd answered here)"
# HTCondor's cluster and process ids: ASCII digits (the .sub's regex takes any Unicode digit), and
# few enough of them that the CSV's file name stays short.
ID = re.compile(r"[0-9]{1,18}")


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
        stopped.append(
            f"{name(folder)}: over {MAX_LISTED:,} names match {foreign.shown(pattern.glob)}; only "
            f"{MAX_LISTED:,} of them are looked at (move old submissions' logs away)"
        )
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
        refused[MAX_REFUSED - 1 :] = [
            (f"{name(folder)}: {more:,} more names that are not event logs HTCondor wrote, as the ones above; not read")
        ]
    return sorted(found), refused + stopped


@dataclass
class DagRun(Cluster):
    """A job's processes in a run of the pipeline's DAG: each process is a node of its own cluster,
    and `cluster` is DAGMan's own job (pixi-htc submit printed it)."""

    kind = "DAG run"


def dagman_cluster(compiled: Compiled) -> tuple[int | None, int | None, list[str]]:
    """The newest DAGMan job of the pipeline and the first of its run, from the event log
    condor_submit_dag has it write (build/htcondor/pipeline.dag.dagman.log); None when the DAG was
    never submitted here. pixi-htc submit (-force) starts that log afresh; condor_submit_dag running
    the rescue DAG of a failed run adds its DAGMan job to it, and the nodes done before it keep
    their clusters, newer than the first DAGMan job's."""
    shown = compiled.layout.build("htcondor", dag.DAGMAN_LOG)
    path = compiled.root / shown
    if not os.path.lexists(path):
        return None, None, []
    try:
        found = read_log(path, str(shown), within=compiled.root)
    except LogError as error:
        return None, None, [str(error)]
    clusters = [cluster for cluster, _ in found]
    return (max(clusters), min(clusters), []) if clusters else (None, None, [])


def newest_per_process(logs: list[tuple[int, int, Path]], after: int) -> list[tuple[int, int, Path]]:
    """(process, cluster, log) of each process's newest node cluster after DAGMan's job `after`: a
    retried node, or the DAG submitted again, leaves a cluster per try."""
    newest: dict[int, tuple[int, Path]] = {}
    for cluster, proc, path in logs:
        if cluster > after and (proc not in newest or cluster > newest[proc][0]):
            newest[proc] = (cluster, path)
    return sorted((proc, cluster, path) for proc, (cluster, path) in newest.items())


@dataclass(frozen=True)
class NodeRun:
    """A job's processes in the DAG's run: its node .sub's files, each process's newest node log of
    the run as (process, cluster, log), and what its listing refused."""

    files: JobFiles
    newest: list[tuple[int, int, Path]]
    refused: list[str]


def dag_or_own(
    compiled: Compiled,
    job: Job,
    own: list[tuple[int, int, Path]],
    submission: int | None,
    run: tuple[int | None, int | None],
) -> tuple[list[tuple[int, int, Path]], NodeRun | None]:
    """The job's own submissions' logs, and its processes in the DAG's run (DAGMan's newest and first
    job, `run`) where that is what status and results follow: the run asked for, or, asked for none,
    a run submitted after the job's own newest submission (`make submit JOB=...`). A spec's logs.log
    names one pattern for the job's .sub and its node's: a log its node's .sub names counts as a
    node's (by name status cannot tell `make submit JOB=...` after a DAG run from a node's job)."""
    dag_id, first = run
    if dag_id is None or first is None:
        return own, None
    files = job_files(compiled, job.name, node=True)
    build_dir = compiled.root / compiled.layout.build_dir
    nodes, refused = log_files(files.log, build_dir, compiled.root) if files.log else ([], [])
    named = {path for _, _, path in nodes}
    own = [entry for entry in own if entry[2] not in named]
    newest_own = max((cluster for cluster, _, _ in own), default=-1)
    if submission != dag_id and (submission is not None or dag_id <= newest_own):
        return own, None
    return own, NodeRun(files=files, newest=newest_per_process(nodes, first), refused=refused)


def follow(
    compiled: Compiled, where: Locator, jobs: list[Job], *, submission: int | None, schedd: ScheddQuery | None
) -> Following:
    build_dir = compiled.root / compiled.layout.build_dir
    piped = dag.has_pipeline(compiled.project)
    dag_id, first, dag_unreadable = dagman_cluster(compiled) if piped else (None, None, [])
    read: list[tuple[Followed, Cluster | None, Pattern | None]] = []
    for job in jobs:
        files = job_files(compiled, job.name)
        logs, refused = log_files(files.log, build_dir, compiled.root) if files.log else ([], [])
        looked = foreign.shown(files.log.template) if files.log else "its log"
        status = Followed(
            job=job, submission=None, refused=refused, not_found=f"no event log matches {looked} in the build directory"
        )
        expected = max(len(job.sweep_rows), 1)
        logs, run = dag_or_own(compiled, job, logs, submission, (dag_id, first))
        chosen: Cluster | None
        if run is not None and dag_id is not None:
            processes, unreadable = read_processes(run.newest, compiled.root, expected, node=True)
            files, status.refused = run.files, run.refused
            chosen = DagRun(cluster=dag_id, processes=processes, unreadable=tuple(unreadable))
        else:
            chosen = read_cluster(logs, compiled.root, submission, expected=expected)
        read.append((status, chosen, files.error))
    asked = sorted({number for _, cluster, _ in read if cluster for number in _numbers(cluster)})
    ads = schedd(asked) if schedd is not None else None
    for status, cluster, error in read:
        if cluster is None:
            continue
        if ads:
            cluster = overlay(cluster, ads)
        status.submission = cluster
        for proc, process in sorted(cluster.processes.items()):
            err = build_dir / error.path(process.cluster, proc) if error else None
            status.findings.extend(findings(compiled.project, status.job, process, where, err, within=compiled.root))
    followed = [status for status, _, _ in read]
    in_run = [status for status, cluster, _ in read if isinstance(cluster, DagRun)]
    pipeline = dagfollow.follow_dag(compiled, in_run) if piped else None
    if pipeline is not None:  # DAGMan's own log, found and not read: no job is followed in the run
        pipeline.unreadable += dag_unreadable
    return Following(jobs=followed, answered=ads is not None, files_only=FILES_ONLY, pipeline=pipeline)


def _numbers(cluster: Cluster) -> set[int]:
    """The clusters the schedd is asked about: a DAG run's node clusters, else the cluster."""
    if isinstance(cluster, DagRun):
        return {process.cluster for process in cluster.processes.values()}
    return {cluster.cluster}


def found(pattern: Pattern, build_dir: Path) -> list[tuple[int, int, Path]]:
    """(cluster, process, path) for every name that matches the pattern, sorted: like Pattern.find,
    but whatever the name is (a link, a FIFO, a directory: reading it then says what it is, instead
    of the process silently having no output), and only numbers as HTCondor writes them."""
    hits = []
    regex = pattern.regex
    for path in build_dir.glob(pattern.glob):
        match = regex.fullmatch(path.relative_to(build_dir).as_posix())
        if not match:
            continue
        numbers = match.groupdict()
        cluster, proc = numbers.get("cluster") or "0", numbers.get("proc") or "0"
        if ID.fullmatch(cluster) and ID.fullmatch(proc):
            hits.append((int(cluster), int(proc), path))
    return sorted(hits)


def outputs(compiled: Compiled, job: Job, name: str, *, submission: int | None) -> Landing | None:
    """Where the generated transfer_output_remaps leave output `name` (or one of that base name)."""
    build_dir = compiled.root / compiled.layout.build_dir
    files = job_files(compiled, job.name)
    if dag.has_pipeline(compiled.project):
        dag_id, first, _ = dagman_cluster(compiled)
        own = log_files(files.log, build_dir, compiled.root)[0] if files.log else []
        _, run = dag_or_own(compiled, job, own, submission, (dag_id, first))
        if run is not None and dag_id is not None:
            return node_outputs(compiled, run.files, job, name, dag_id, {proc for proc, _, _ in run.newest})
    landed = files.landed(name) or next(
        (target for source, target in files.remaps if source.rsplit("/", 1)[-1] == name), None
    )
    if landed is None:
        return None
    hits = found(landed, build_dir)
    clusters = sorted({c for c, _, _ in hits})
    chosen = submission if submission is not None else (clusters[-1] if clusters else None)
    by_proc: dict[int, Path] = {}
    for c, proc, path in hits:
        if c == chosen:
            by_proc.setdefault(proc, path)
    return Landing(
        kind="cluster",
        column="cluster",
        submission=chosen,
        files=by_proc,
        expected=lambda proc: (
            f"{compiled.layout.build_dir}/{landed.path(chosen if chosen is not None else '<cluster>', proc)}"
        ),
        label=lambda proc: f"{chosen if chosen is not None else -1}.{proc}",
    )


def node_outputs(
    compiled: Compiled, files: JobFiles, job: Job, name: str, dag_id: int, ran: set[int]
) -> Landing | None:
    """Where a DAG node's .sub (`files`) leaves output `name` of each process: outputs/<job>/<process>/,
    which each run of the DAG writes again; only a process whose node has a job in this run (`ran`)
    has left its file there in this run, the others' are an older run's."""
    build_dir = compiled.root / compiled.layout.build_dir
    landed = files.landed(name) or next(
        (target for source, target in files.remaps if source.rsplit("/", 1)[-1] == name), None
    )
    if landed is None:
        return None
    by_proc: dict[int, Path] = {}
    for _, proc, path in found(landed, build_dir):
        if proc in ran:
            by_proc.setdefault(proc, path)
    names = dag.node_names(job)
    return Landing(
        kind=DagRun.kind,
        column="dag_run",
        submission=dag_id,
        files=by_proc,
        expected=lambda proc: f"{compiled.layout.build_dir}/{landed.path(dag_id, proc)}",
        label=lambda proc: names[proc] if 0 <= proc < len(names) else str(proc),
    )

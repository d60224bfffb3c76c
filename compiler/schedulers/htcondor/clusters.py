"""A job's submissions, from the event logs its .sub writes (joblog.read_log reads each one) and from
the schedd when one answers: the newest cluster (or the one asked for), process by process. A job's
logs are read within bounds: at most EXTRA_LOGS beyond its processes, and JOB_LOG_BYTES together,
so that a build/logs of a million files, or of thousands of 60 MiB ones, is named, not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core import foreign
from . import joblog
from .joblog import Hold, LogError, Process, State, as_int, bounded_text, read_log, size_text

# JobStatus in the schedd's job ads (manual: "Job Status Codes").
SCHEDD_STATES: dict[int, State] = {
    1: "idle",
    2: "running",
    3: "removed",
    4: "completed",
    5: "held",
    6: "running",
    7: "suspended",
}
# A job's logs read in one look: a log per process, and a few more (a cluster submitted before the
# sweep shrank); and at most JOB_LOG_BYTES of them together (10 KiB for each of 100,000 processes),
# so that a build/logs of a million files, or of thousands of 60 MiB ones, is named, not read.
EXTRA_LOGS = 100
JOB_LOG_BYTES = 1024 * foreign.MiB


@dataclass
class Cluster:
    """One submission of one job: the newest cluster its logs name, process by process."""

    cluster: int
    processes: dict[int, Process]
    older_clusters: tuple[int, ...] = ()
    unreadable: tuple[str, ...] = ()  # LogError messages
    kind = "cluster"  # what status and results call one submission


def read_cluster(
    files: Iterable[tuple[int, int, Path]], root: Path, cluster: int | None = None, expected: int = 1
) -> Cluster | None:
    """The newest cluster (or the one asked for) among a job's log files, or None without logs.
    Each log is read as foreign data inside `root` (read_log); of a job of `expected` processes at
    most `expected` + EXTRA_LOGS logs, lowest process first, of at most JOB_LOG_BYTES together: the
    rest are named in one message each and not read."""
    files = list(files)
    clusters = sorted({c for c, _, _ in files})
    if not clusters:
        return None
    chosen = cluster if cluster is not None else clusters[-1]
    mine = sorted((proc, chosen, path) for file_cluster, proc, path in files if file_cluster == chosen)
    processes, unreadable = read_processes(mine, root, expected)
    return Cluster(
        cluster=chosen,
        processes=processes,
        older_clusters=tuple(c for c in clusters if c < chosen),
        unreadable=tuple(unreadable),
    )


def read_processes(
    mine: list[tuple[int, int, Path]], root: Path, expected: int, *, node: bool = False
) -> tuple[dict[int, Process], list[str]]:
    """(process, cluster, log) sorted by process, read bounded as read_cluster says. `node`: each log
    is a DAG node's cluster of one process (HTCondor's process 0), and its name says which process
    of the job it is."""
    processes: dict[int, Process] = {}
    unreadable = []
    most = max(expected, 1) + EXTRA_LOGS
    if len(mine) > most:
        unreadable.append(
            _skipped(
                mine[most:],
                root,
                f"the job has {max(expected, 1):,} process(es), and "
                f"pixi-htc reads at most {EXTRA_LOGS} logs beyond them (are they this job's?)",
            )
        )
        mine = mine[:most]
    total = 0
    for index, (proc, file_cluster, path) in enumerate(mine):
        try:
            size = path.lstat().st_size
        except OSError:
            size = 0  # read_log says what is wrong
        if size <= joblog.LOG_LIMIT:  # a larger one is refused by read_log on its size, unread
            total += size
        if total > JOB_LOG_BYTES:
            unreadable.append(
                _skipped(
                    mine[index:],
                    root,
                    f"with it the job's logs would hold over "
                    f"{size_text(JOB_LOG_BYTES)}, the most pixi-htc reads for one job",
                )
            )
            break
        shown = _shown(path, root)
        try:
            found = read_log(path, shown, within=root)
        except LogError as error:
            unreadable.append(str(error))
            continue
        own = (file_cluster, 0 if node else proc)
        process = found.get(own) or next(iter(found.values()), None)
        # The file's name says which process it is (the .sub names it so): a log whose events name
        # another id (or cluster -1, HTCondor's reading of a number it cannot hold) still counts as
        # this one, so ids, sweep rows and the .err path all follow the file.
        processes[proc] = (
            replace(process, cluster=file_cluster, proc=proc, node=node)
            if process is not None
            else Process(cluster=file_cluster, proc=proc, node=node)
        )
    return processes, unreadable


def _skipped(skipped: list[tuple[int, int, Path]], root: Path, why: str) -> str:
    """One message for logs left unread: the first by name, how many more, and their processes."""
    (first, cluster, path), (last, _, _) = skipped[0], skipped[-1]
    more = f" and {len(skipped) - 1:,} more" if len(skipped) > 1 else ""
    procs = f"process {cluster}.{first}" if first == last else f"processes {cluster}.{first} to {cluster}.{last}"
    return f"{foreign.shown(_shown(path, root))}{more} ({procs}): not read: {why}"


def _shown(path: Path, root: Path) -> str:
    """The name a message gives a log (not yet escaped: read_log escapes it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


ScheddQuery = Callable[[list[int]], list[dict[str, Any]] | None]
PROJECTION = [
    "ClusterId",
    "ProcId",
    "JobStatus",
    "HoldReason",
    "HoldReasonCode",
    "HoldReasonSubCode",
    "MemoryUsage",
    "NumJobStarts",
    "ExitCode",
    "RemoveReason",
]


def query_schedd(clusters: list[int]) -> list[dict[str, Any]] | None:
    """The queue's ads for these clusters, or None when no schedd answers (no pool here)."""
    if not clusters:
        return []
    try:
        import htcondor2

        schedd = htcondor2.Schedd()
        constraint = " || ".join(f"ClusterId == {cluster}" for cluster in sorted(set(clusters)))
        return [dict(ad) for ad in schedd.query(constraint=constraint, projection=PROJECTION)]
    except Exception:  # no pool, no permission, a timeout: the logs still say what they say
        return None


def overlay(cluster: Cluster, ads: list[dict[str, Any]]) -> Cluster:
    """The schedd knows the present: its JobStatus and hold reason win over what the logs have
    reached so far (a log can lag, or sit on a file system the access point writes later)."""
    processes = dict(cluster.processes)
    # A DAG run's processes are each a node's cluster of one process (HTCondor's process 0).
    nodes = {(process.cluster, 0): key for key, process in processes.items() if process.node}
    for ad in ads:
        ad_cluster, proc = as_int(ad.get("ClusterId")), as_int(ad.get("ProcId"))
        state = SCHEDD_STATES.get(as_int(ad.get("JobStatus")) or 0)
        if ad_cluster is None or proc is None or state is None:
            continue
        if (ad_cluster, proc) in nodes:
            proc = nodes[(ad_cluster, proc)]
        elif nodes or ad_cluster != cluster.cluster:
            continue
        process = replace(processes.get(proc) or Process(cluster=cluster.cluster, proc=proc), source="schedd")
        process.state = state
        if state == "held":
            hold = Hold(
                bounded_text(ad.get("HoldReason", "")),
                as_int(ad.get("HoldReasonCode")),
                as_int(ad.get("HoldReasonSubCode")),
            )
            if process.held is None or process.held.reason != hold.reason:
                process.holds = [*process.holds, hold]
            process.held = hold
        memory = as_int(ad.get("MemoryUsage"))
        if memory is not None:
            process.memory_mb = max(memory, process.memory_mb or 0)
        processes[proc] = process
    return replace(cluster, processes=processes)

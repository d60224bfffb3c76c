"""What happened to each process, from the job event logs the generated .sub files write, and from
the schedd when one is reachable. htcondor2.JobEventLog reads the logs with no pool.

Event numbers are the manual's ("Job Event Log Codes"): 000 submit, 001 execute, 003 checkpointed,
004 evicted, 005 terminated, 006 image size, 007 shadow exception, 009 aborted, 010/011 suspended
and unsuspended, 012 held, 013 released, 021 remote error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .errors import printable

State = Literal["idle", "running", "held", "suspended", "completed", "removed"]
FINAL: frozenset[str] = frozenset({"completed", "removed"})
# JobStatus in the schedd's job ads (manual: "Job Status Codes").
SCHEDD_STATES: dict[int, State] = {1: "idle", 2: "running", 3: "removed", 4: "completed", 5: "held",
                                   6: "running", 7: "suspended"}
# `000 (123.000.000) 2026-05-28 09:00:00 Job submitted ...`: the first line of every text event.
EVENT_HEADER = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.(\d+)\) ", re.MULTILINE)


class LogError(Exception):
    """An event log that HTCondor cannot read; the message names the file and where it stopped."""


@dataclass
class Hold:
    reason: str
    code: int | None
    subcode: int | None


@dataclass
class Process:
    """One process (cluster.proc) as its events leave it."""

    cluster: int
    proc: int
    state: State = "idle"
    executions: int = 0
    evictions: int = 0
    checkpoints: int = 0
    holds: list[Hold] = field(default_factory=list)
    held: Hold | None = None  # the hold in force
    exit_code: int | None = None
    exit_signal: int | None = None
    memory_mb: int | None = None  # peak MemoryUsage the events report
    disk_kb: int | None = None
    removed_reason: str | None = None
    errors: list[str] = field(default_factory=list)  # shadow exceptions, remote errors
    source: str = "log"  # "log", or "schedd" when the queue said more

    @property
    def id(self) -> str:
        return f"{self.cluster}.{self.proc}"

    @property
    def restarts(self) -> int:
        return max(self.executions - 1, 0)


def _text(value: Any) -> str:
    return printable(str(value)).strip()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def apply(process: Process, kind: int, event: Any) -> None:
    """Fold one event into the process's state."""
    get = event.get
    if kind == 0:
        process.state = "idle"
    elif kind == 1:
        process.state, process.executions, process.held = "running", process.executions + 1, None
    elif kind == 3:
        process.checkpoints += 1
    elif kind == 4:
        process.state, process.evictions = "idle", process.evictions + 1
    elif kind == 5:
        process.state, process.held = "completed", None
        if get("TerminatedNormally", True):
            process.exit_code = _int(get("ReturnValue"))
        else:
            process.exit_signal = _int(get("TerminatedBySignal"))
        for attribute, name in (("MemoryUsage", "memory_mb"), ("DiskUsage", "disk_kb")):
            value = _int(get(attribute))
            if value is not None:
                setattr(process, name, max(value, getattr(process, name) or 0))
    elif kind == 6:
        memory = _int(get("MemoryUsage"))
        if memory is not None:
            process.memory_mb = max(memory, process.memory_mb or 0)
    elif kind in (7, 21):
        process.errors.append(_text(get("Message") or get("ErrorMsg") or get("ExecuteErrorType") or "shadow exception"))
        if kind == 7:
            process.state = "idle"
    elif kind == 9:
        process.state, process.removed_reason = "removed", _text(get("Reason", "")) or None
    elif kind == 10:
        process.state = "suspended"
    elif kind == 11:
        process.state = "running"
    elif kind == 12:
        hold = Hold(_text(get("HoldReason", "")), _int(get("HoldReasonCode")), _int(get("HoldReasonSubCode")))
        process.state, process.held = "held", hold
        process.holds.append(hold)
    elif kind == 13:
        process.state, process.held = "idle", None


def read_log(path: Path, shown: str) -> dict[tuple[int, int], Process]:
    """Every process the log has events for. An event still being written (the last one, without
    its closing `...`) is left for the next read, as HTCondor itself does; anything else HTCondor
    cannot read raises LogError."""
    import htcondor2

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise LogError(f"{shown}: cannot read it: {error.strerror}") from error
    if text.strip() and not EVENT_HEADER.match(text):
        first = printable(text.splitlines()[0][:80])
        raise LogError(f"{shown}:1: not an HTCondor job event log (it starts {first!r})")
    processes: dict[tuple[int, int], Process] = {}
    read = 0
    try:
        for event in htcondor2.JobEventLog(str(path)).events(stop_after=0):
            key = (int(event.cluster), int(event.proc))
            process = processes.setdefault(key, Process(cluster=key[0], proc=key[1]))
            apply(process, int(event.type), event)
            read += 1
    except Exception as error:  # htcondor2 raises HTCondorException("ULOG_RD_ERROR") on a bad event
        line = _event_line(text, read)
        raise LogError(f"{shown}:{line}: HTCondor cannot read event {read + 1} "
                       f"({_text(error) or type(error).__name__}); the log is damaged") from error
    headers = len(EVENT_HEADER.findall(text))
    if headers > read + 1 or (headers == read + 1 and text.rstrip().endswith("...")):
        line = _event_line(text, read)
        raise LogError(f"{shown}:{line}: HTCondor read {read} of {headers} events; the log is damaged")
    return processes


def _event_line(text: str, index: int) -> int:
    """The line where event number `index` (0-based) starts, or the last line."""
    starts = [match.start() for match in EVENT_HEADER.finditer(text)]
    offset = starts[index] if index < len(starts) else len(text)
    return text.count("\n", 0, offset) + 1


@dataclass
class Cluster:
    """One submission of one job: the newest cluster its logs name, process by process."""

    cluster: int
    processes: dict[int, Process]
    older_clusters: tuple[int, ...] = ()
    unreadable: tuple[str, ...] = ()  # LogError messages


def read_cluster(files: Iterable[tuple[int, int, Path]], root: Path, cluster: int | None = None) -> Cluster | None:
    """The newest cluster (or the one asked for) among a job's log files, or None without logs."""
    files = list(files)
    clusters = sorted({c for c, _, _ in files})
    if not clusters:
        return None
    chosen = cluster if cluster is not None else clusters[-1]
    processes: dict[int, Process] = {}
    unreadable = []
    for file_cluster, proc, path in files:
        if file_cluster != chosen:
            continue
        shown = _shown(path, root)
        try:
            found = read_log(path, shown)
        except LogError as error:
            unreadable.append(str(error))
            continue
        process = found.get((file_cluster, proc)) or next(iter(found.values()), None)
        processes[proc] = process if process is not None else Process(cluster=file_cluster, proc=proc)
    return Cluster(cluster=chosen, processes=processes, older_clusters=tuple(c for c in clusters if c < chosen),
                   unreadable=tuple(unreadable))


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


ScheddQuery = Callable[[list[int]], list[dict[str, Any]] | None]
PROJECTION = ["ClusterId", "ProcId", "JobStatus", "HoldReason", "HoldReasonCode", "HoldReasonSubCode",
              "MemoryUsage", "NumJobStarts", "ExitCode", "RemoveReason"]


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
    for ad in ads:
        if _int(ad.get("ClusterId")) != cluster.cluster:
            continue
        proc = _int(ad.get("ProcId"))
        state = SCHEDD_STATES.get(_int(ad.get("JobStatus")) or 0)
        if proc is None or state is None:
            continue
        process = replace(processes.get(proc) or Process(cluster=cluster.cluster, proc=proc), source="schedd")
        process.state = state
        if state == "held":
            hold = Hold(_text(ad.get("HoldReason", "")), _int(ad.get("HoldReasonCode")), _int(ad.get("HoldReasonSubCode")))
            if process.held is None or process.held.reason != hold.reason:
                process.holds = [*process.holds, hold]
            process.held = hold
        memory = _int(ad.get("MemoryUsage"))
        if memory is not None:
            process.memory_mb = max(memory, process.memory_mb or 0)
        processes[proc] = process
    return replace(cluster, processes=processes)

"""What happened to each process, from the job event logs the generated .sub files write, and from
the schedd when one is reachable. htcondor2.JobEventLog reads the logs with no pool.

Event numbers are the manual's ("Job Event Log Codes"): 000 submit, 001 execute, 003 checkpointed,
004 evicted, 005 terminated, 006 image size, 007 shadow exception, 009 aborted, 010/011 suspended
and unsuspended, 012 held, 013 released, 021 remote error.

Every log is foreign data: build/ arrives in pull requests, and hold reasons and error messages in
the events are written by execute machines nobody here controls. A log is read only when it is a
regular file reached without a symbolic link inside the project, and only up to LOG_LIMIT bytes
(64 MiB: a process's own log holds a few kilobytes per event, so that is hundreds of thousands of
events; a larger file is refused with a LogError rather than read). HTCondor parses a private copy
of exactly the bytes that were checked, so the file cannot change between the check and the parse.
Every text field taken from an event or a schedd ad is cut to FIELD_CHARS characters (the hold
reason regexes in diagnose.py then run on bounded text) and has its control characters escaped.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ...core import foreign
from ...core.errors import printable
from ..findings import refusal

State = Literal["idle", "running", "held", "suspended", "completed", "removed"]
FINAL: frozenset[str] = frozenset({"completed", "removed"})
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
# `000 (123.000.000) 2026-05-28 09:00:00 Job submitted ...`: the first line of every text event.
# Bytes, ASCII digits only: the log is scanned before (and without) decoding it.
EVENT_HEADER = re.compile(rb"^(\d{3}) \((\d+)\.(\d+)\.(\d+)\) ", re.MULTILINE)
BLANK = re.compile(rb"\s*")
LOG_LIMIT = 64 * foreign.MiB  # bytes of one event log that are read at most
# A job's logs read in one look: a log per process, and a few more (a cluster submitted before the
# sweep shrank); and at most JOB_LOG_BYTES of them together (10 KiB for each of 100,000 processes),
# so that a build/logs of a million files, or of thousands of 60 MiB ones, is named, not read.
EXTRA_LOGS = 100
JOB_LOG_BYTES = 1024 * foreign.MiB
FIELD_CHARS = 4096  # characters kept of one text field of an event or an ad


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
    node: bool = False  # a DAG node's: its cluster holds this one process (HTCondor's process 0)

    @property
    def id(self) -> str:
        return f"{self.cluster}.0" if self.node else f"{self.cluster}.{self.proc}"

    @property
    def restarts(self) -> int:
        return max(self.executions - 1, 0)

    @property
    def counters(self) -> dict[str, int]:
        return {"evictions": self.evictions, "checkpoints": self.checkpoints, "restarts": self.restarts}

    @property
    def detail(self) -> str:
        """status's last column: the hold or removal reason (foreign text, shown cut and escaped),
        or how the process ended."""
        if self.state == "held" and self.held is not None:
            code = (
                f" [code {self.held.code}" + (f"/{self.held.subcode}" if self.held.subcode else "") + "]"
                if self.held.code is not None
                else ""
            )
            return f"{foreign.shown(self.held.reason)}{code}"
        if self.state == "completed":
            return f"exit signal {self.exit_signal}" if self.exit_signal is not None else f"exit code {self.exit_code}"
        if self.state == "removed":
            return foreign.shown(self.removed_reason or "")
        return ""


def _text(value: Any) -> str:
    """A text field of an event or an ad, bounded and with its control characters escaped: it was
    written on an execute machine, and ends up on the terminal and in regex searches."""
    return printable(str(value)[:FIELD_CHARS]).strip()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except Exception:
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


def read_log(path: Path, shown: str, *, within: Path | None = None) -> dict[tuple[int, int], Process]:
    """Every process the log has events for. An event still being written (the last one, without
    its closing `...`) is left for the next read, as HTCondor itself does; anything else HTCondor
    cannot read raises LogError, as do a file that is not a regular one reached without a link
    (inside `within`, the project root, when given) and one over LOG_LIMIT bytes. `shown` is the
    name messages use; it is escaped here."""
    name = foreign.shown(shown)
    try:
        # A file already over the limit is refused on its size alone: reading (and copying) 64 MiB
        # of a sparse many-GiB file only to refuse it would cost time and memory for nothing.
        foreign.link_inside(path, within)
        size = path.lstat().st_size
    except (foreign.ForeignFileError, OSError):
        size = 0  # read_bytes below says what is wrong, in its words
    if size > LOG_LIMIT:
        raise LogError(
            f"{name}: the log is {_size(size)}, over the {_size(LOG_LIMIT)} pixi-htc reads of one event "
            "log; it is not read (is it an event log?)"
        )
    try:
        read = foreign.read_bytes(path, LOG_LIMIT, within=within)
    except foreign.ForeignFileError as error:
        raise LogError(
            f"{name}: {refusal(error)}; HTCondor writes event logs as regular files, so it is not read"
        ) from error
    assert read is not None
    data = read.data
    if read.cut:  # it grew past the limit since: say where the read stopped
        line = data.count(b"\n", 0, LOG_LIMIT) + 1
        raise LogError(
            f"{name}:{line}: the log is {_size(read.size)}, over the {_size(LOG_LIMIT)} pixi-htc reads "
            "of one event log; it is not read (is it an event log?)"
        )
    if not BLANK.fullmatch(data) and not EVENT_HEADER.match(data):
        first = data[:80].split(b"\n", 1)[0].decode("utf-8", errors="replace")
        raise LogError(f"{name}:1: not an HTCondor job event log (it starts {foreign.shown(first)!r})")
    processes, count = _events(data, name, shown)
    headers = sum(1 for _ in EVENT_HEADER.finditer(data))
    if headers > count + 1 or (headers == count + 1 and data.rstrip().endswith(b"...")):
        line = _event_line(data, count)
        raise LogError(f"{name}:{line}: HTCondor read {count} of {headers} events; the log is damaged")
    return processes


def _events(data: bytes, name: str, shown: str) -> tuple[dict[tuple[int, int], Process], int]:
    """The processes htcondor2 reads from these bytes, and how many events it read."""
    import htcondor2

    processes: dict[tuple[int, int], Process] = {}
    count = 0
    try:
        scratch = tempfile.TemporaryDirectory(prefix="pixi-htc-log-")
    except OSError as error:
        raise LogError(f"{name}: no private copy of it can be made to read ({error.strerror})") from error
    with scratch:
        # HTCondor opens files by name: give it a copy of the bytes checked already, so a link or a
        # FIFO swapped in since, or a file grown past the limit, is never what it reads.
        copy = Path(scratch.name) / "event.log"
        try:
            copy.write_bytes(_utf8(data))
        except OSError as error:  # a full temporary directory
            raise LogError(f"{name}: no private copy of it can be made to read ({error.strerror})") from error
        try:
            log = htcondor2.JobEventLog(str(copy))
            try:
                for event in log.events(stop_after=0):
                    key = (int(event.cluster), int(event.proc))
                    process = processes.setdefault(key, Process(cluster=key[0], proc=key[1]))
                    apply(process, int(event.type), event)
                    count += 1
            finally:
                log.close()
        except Exception as error:  # htcondor2 raises HTCondorException("ULOG_RD_ERROR") on a bad event
            line = _event_line(data, count)
            why = _text(str(error).replace(str(copy), shown)) or type(error).__name__
            raise LogError(
                f"{name}:{line}: HTCondor cannot read event {count + 1} ({foreign.shown(why)}); the log is damaged"
            ) from error
    return processes, count


def _utf8(data: bytes) -> bytes:
    """The log as valid UTF-8: htcondor2 fails on the whole log (UnicodeDecodeError) when one field
    is not, and a hold reason quoting a file name from an execute machine can be anything. Invalid
    bytes become U+FFFD; newlines, and so every line number, stay where they were."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def _event_line(data: bytes, index: int) -> int:
    """The line where event number `index` (0-based) starts, or the last line."""
    match = next(itertools.islice(EVENT_HEADER.finditer(data), index, None), None)
    offset = match.start() if match is not None else len(data)
    return data.count(b"\n", 0, offset) + 1


def _size(size: int) -> str:
    for unit, scale in (("GiB", 1024 * foreign.MiB), ("MiB", foreign.MiB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.0f} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


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
        if size <= LOG_LIMIT:  # a larger one is refused by read_log on its size, unread
            total += size
        if total > JOB_LOG_BYTES:
            unreadable.append(
                _skipped(
                    mine[index:],
                    root,
                    f"with it the job's logs would hold over "
                    f"{_size(JOB_LOG_BYTES)}, the most pixi-htc reads for one job",
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
        ad_cluster, proc = _int(ad.get("ClusterId")), _int(ad.get("ProcId"))
        state = SCHEDD_STATES.get(_int(ad.get("JobStatus")) or 0)
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
                _text(ad.get("HoldReason", "")), _int(ad.get("HoldReasonCode")), _int(ad.get("HoldReasonSubCode"))
            )
            if process.held is None or process.held.reason != hold.reason:
                process.holds = [*process.holds, hold]
            process.held = hold
        memory = _int(ad.get("MemoryUsage"))
        if memory is not None:
            process.memory_mb = max(memory, process.memory_mb or 0)
        processes[proc] = process
    return replace(cluster, processes=processes)

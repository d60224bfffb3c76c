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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...core import foreign
from ...core.errors import printable
from ..findings import refusal

State = Literal["idle", "running", "held", "suspended", "completed", "removed"]
FINAL: frozenset[str] = frozenset({"completed", "removed"})
# `000 (123.000.000) 2026-05-28 09:00:00 Job submitted ...`: the first line of every text event.
# Bytes, ASCII digits only: the log is scanned before (and without) decoding it.
EVENT_HEADER = re.compile(rb"^(\d{3}) \((\d+)\.(\d+)\.(\d+)\) ", re.MULTILINE)
BLANK = re.compile(rb"\s*")
LOG_LIMIT = 64 * foreign.MiB  # bytes of one event log that are read at most
FIELD_CHARS = 4096  # characters kept of one text field of an event or an ad


class LogError(Exception):
    """An event log that HTCondor cannot read; the message names the file and where it stopped."""


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024 * foreign.MiB), ("MiB", foreign.MiB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.0f} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


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


def bounded_text(value: Any) -> str:
    """A text field of an event or an ad, bounded and with its control characters escaped: it was
    written on an execute machine, and ends up on the terminal and in regex searches."""
    return printable(str(value)[:FIELD_CHARS]).strip()


def as_int(value: Any) -> int | None:
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
            process.exit_code = as_int(get("ReturnValue"))
        else:
            process.exit_signal = as_int(get("TerminatedBySignal"))
        for attribute, name in (("MemoryUsage", "memory_mb"), ("DiskUsage", "disk_kb")):
            value = as_int(get(attribute))
            if value is not None:
                setattr(process, name, max(value, getattr(process, name) or 0))
    elif kind == 6:
        memory = as_int(get("MemoryUsage"))
        if memory is not None:
            process.memory_mb = max(memory, process.memory_mb or 0)
    elif kind in (7, 21):
        process.errors.append(
            bounded_text(get("Message") or get("ErrorMsg") or get("ExecuteErrorType") or "shadow exception")
        )
        if kind == 7:
            process.state = "idle"
    elif kind == 9:
        process.state, process.removed_reason = "removed", bounded_text(get("Reason", "")) or None
    elif kind == 10:
        process.state = "suspended"
    elif kind == 11:
        process.state = "running"
    elif kind == 12:
        hold = Hold(
            bounded_text(get("HoldReason", "")), as_int(get("HoldReasonCode")), as_int(get("HoldReasonSubCode"))
        )
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
            f"{name}: the log is {size_text(size)}, over the {size_text(LOG_LIMIT)} pixi-htc reads of one event "
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
            f"{name}:{line}: the log is {size_text(read.size)}, over the {size_text(LOG_LIMIT)} pixi-htc reads "
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
            why = bounded_text(str(error).replace(str(copy), shown)) or type(error).__name__
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

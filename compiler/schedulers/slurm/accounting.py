"""What Slurm itself says about a job's tasks: `sacct` (accounting, when the cluster keeps it) and
`scontrol show job` (the controller, while a job runs and for MinJobAge seconds after it ends).

Both run without a shell, with a bounded timeout, and say None when they do not answer (not installed,
no controller, accounting disabled, a timeout): status then reads the tasks' own records. Their output
is the controller's and carries text from users and nodes (reasons, states): it is cut to FIELD_CHARS
per field, MAX_LINES lines, and shown only through foreign.shown().

Formats: `sacct --parsable2 --noheader` prints `|`-separated fields in --format's order, no trailing
`|`; with --duplicates a requeued task has one REQUEUED line per earlier run, then its present one;
tasks not yet started are one line `1234_[2-3%2]`. `scontrol --oneliner show job` prints one line per
task of `Key=Value` words; a pending part of an array is one line with ArrayTaskId=2-3 (or 2,4-5%2).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from ...core import foreign

COMMAND_TIMEOUT = 20  # seconds one sacct or scontrol call may take
MAX_LINES = 100_000
FIELD_CHARS = 400
SACCT_FORMAT = "JobID,State,ExitCode"
# 1234, 1234_5, 1234_[2-3%2]
SACCT_ID = re.compile(r"([0-9]{1,18})(?:_([0-9]{1,9}|\[[0-9,%-]{1,200}\]))?")
WORD = re.compile(r"(?:^|\s)(JobId|ArrayJobId|ArrayTaskId|JobState|Reason|Restarts|ExitCode)=(\S*)")
EXIT_CODE = re.compile(r"([0-9]{1,9}):([0-9]{1,9})")
# scontrol's words when it answers and does not know the job (it was purged after MinJobAge).
UNKNOWN_JOB = "Invalid job id specified"


@dataclass
class Seen:
    """One task as Slurm reports it."""

    job_id: int  # the submission's (array) job id
    task: int  # the array task (0 for a single job)
    state: str  # Slurm's word, e.g. RUNNING, OUT_OF_MEMORY
    exit_code: int | None = None
    exit_signal: int | None = None
    reason: str = ""  # why it is pending or held ("" for None)
    restarts: int | None = None  # scontrol's Restarts=; sacct's REQUEUED lines counted


def _run(*command: str) -> subprocess.CompletedProcess[str] | None:
    program = shutil.which(command[0])
    if program is None:
        return None
    try:
        return subprocess.run(
            [program, *command[1:]],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _field(text: str) -> str:
    return foreign.shown(text.strip(), FIELD_CHARS)


def _exit(text: str) -> tuple[int | None, int | None]:
    """Slurm's ExitCode `code:signal`: the code, or the signal that ended the task."""
    match = EXIT_CODE.fullmatch(text.strip())
    if not match:
        return None, None
    code, signal = int(match.group(1)), int(match.group(2))
    return (None, signal) if signal else (code, None)


def tasks_of(spec: str, count: int) -> list[int]:
    """The tasks an ArrayTaskId (`3`, `2-3`, `[2-3%2]`, `1,4-5`) names, within 0..count-1."""
    found: set[int] = set()
    for part in spec.strip("[]").split("%", 1)[0].split(","):
        low, _, high = part.partition("-")
        if not low.isascii() or not low.isdigit() or (high and (not high.isascii() or not high.isdigit())):
            continue
        first, last = int(low[:9]), int((high or low)[:9])
        found.update(range(max(first, 0), min(last, count - 1) + 1))
    return sorted(found)


def sacct(job_ids: Iterable[int], count: int) -> list[Seen] | None:
    """Each task's present state, in sacct's order (earlier runs of a requeued task counted), or None."""
    ids = sorted(set(job_ids))
    if not ids:
        return []
    result = _run(
        "sacct",
        "--parsable2",
        "--noheader",
        "--allocations",
        "--duplicates",
        f"--jobs={','.join(map(str, ids))}",
        f"--format={SACCT_FORMAT}",
    )
    if result is None or result.returncode != 0:
        return None
    seen: dict[tuple[int, int], Seen] = {}
    requeued: dict[tuple[int, int], int] = {}
    for line in result.stdout.splitlines()[:MAX_LINES]:
        fields = line.split("|")
        if len(fields) != 3:
            continue
        match = SACCT_ID.fullmatch(fields[0].strip())
        if not match or int(match.group(1)) not in ids:
            continue
        state = fields[1].strip().split(" ", 1)[0]  # "CANCELLED by 0"
        code, signal = _exit(fields[2])
        for task in tasks_of(match.group(2), count) if match.group(2) else [0]:
            key = (int(match.group(1)), task)
            if state == "REQUEUED":
                requeued[key] = requeued.get(key, 0) + 1
            seen[key] = Seen(
                job_id=key[0],
                task=task,
                state=_field(state),
                exit_code=code,
                exit_signal=signal,
                restarts=requeued.get(key, 0),
            )
    return list(seen.values())


def scontrol(job_ids: Iterable[int], count: int) -> list[Seen] | None:
    """What the controller knows of these jobs now; None when it does not answer."""
    found: list[Seen] = []
    for job_id in sorted(set(job_ids)):
        result = _run("scontrol", "--oneliner", "show", "job", str(job_id))
        if result is None:
            return None
        if result.returncode != 0:
            if UNKNOWN_JOB in result.stderr:
                continue  # ended long enough ago that the controller forgot it: sacct or the records say
            return None
        for line in result.stdout.splitlines()[:MAX_LINES]:
            found.extend(_scontrol_line(line, job_id, count))
    return found


def _scontrol_line(line: str, job_id: int, count: int) -> list[Seen]:
    words: dict[str, str] = {}
    for match in WORD.finditer(line):
        words.setdefault(match.group(1), match.group(2))  # the first: user text comes after these keys
    own = words.get("ArrayJobId") or words.get("JobId") or ""
    if own != str(job_id) or "JobState" not in words:
        return []
    tasks = tasks_of(words["ArrayTaskId"], count) if "ArrayTaskId" in words else [0]
    code, signal = _exit(words.get("ExitCode", ""))
    restarts = words.get("Restarts", "")
    reason = words.get("Reason", "")
    return [
        Seen(
            job_id=job_id,
            task=task,
            state=_field(words["JobState"]),
            exit_code=code,
            exit_signal=signal,
            reason="" if reason == "None" else _field(reason),
            restarts=int(restarts[:9]) if restarts.isascii() and restarts.isdigit() else None,
        )
        for task in tasks
    ]

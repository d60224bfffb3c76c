"""A Slurm job's log names: the `--output` / `--error` patterns its script gives sbatch, and the file a
pattern names for one task, as slurmstepd expands it for a batch script.

The spec names a pattern relative to the project root (slurm.output, slurm.error; the schema allows
Slurm's `%` fields in the file name only, never in a directory, and no `\\`, which would turn
expansion off); the #SBATCH line names it from the build directory, which is where pixi-htc submits
from, so the directory Slurm resolves a relative name in. Without slurm.error the script's stderr
goes to the output file, as sbatch does when --error is not given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...artifacts.base import Layout
from ...core.errors import UsageError
from ...spec.model import Job
from ..common import from_submit_dir

# One `%` field: `%%`, or an optional zero-padding width and a letter (sbatch(1) "filename pattern").
FIELD = re.compile(r"%(%|([0-9]?)([A-Za-z]))")
MAX_WIDTH = 10  # slurmstepd pads to at most 10 digits
NO_ARRAY_TASK = 4294967294  # what %a is for a job that is no array (Slurm's NO_VAL)
# Fields the task's records and ids do not tell: said, never guessed.
UNKNOWN = {
    "N": "the node's name",
    "u": "the submitting user's name",
    "J": "the job step's id",
    "s": "the job step's id",
}
ARRAY_FIELDS = {
    "j": "an array task's own job id, which its record does not name",
    "A": "the array's job id, which a task of the job's own array does not record",
    "a": "the array index, which a task of the job's own array does not record",
    "b": "the array index, which a task of the job's own array does not record",
}


def is_array(job: Job) -> bool:
    return bool(job.sweep_rows) or job.slurm.array is not None


def default_name(job: Job, suffix: str) -> str:
    """pixi-htc's own name, relative to the build directory."""
    return f"logs/{job.name}_%A_%a.{suffix}" if is_array(job) else f"logs/{job.name}_%j.{suffix}"


def output_pattern(job: Job, layout: Layout) -> str:
    """--output's value, relative to the build directory."""
    return from_submit_dir(job.slurm.output, layout) if job.slurm.output is not None else default_name(job, "out")


def error_pattern(job: Job, layout: Layout) -> str | None:
    """--error's value, relative to the build directory; None: no --error line (stderr goes to the
    output file, the spec's slurm.output naming it)."""
    if job.slurm.error is not None:
        return from_submit_dir(job.slurm.error, layout)
    return None if job.slurm.output is not None else default_name(job, "err")


def stderr_pattern(job: Job, layout: Layout) -> str:
    """Where the script's stderr lands, relative to the build directory."""
    return error_pattern(job, layout) or output_pattern(job, layout)


def directories(job: Job, layout: Layout) -> tuple[str, ...]:
    """The directories Slurm opens the job's logs in, relative to the build directory (Slurm makes
    none of them). The schema keeps `%` fields out of directories."""
    found = []
    for pattern in (output_pattern(job, layout), error_pattern(job, layout)):
        if pattern is not None and "/" in pattern:
            found.append(pattern.rsplit("/", 1)[0])
    return tuple(dict.fromkeys(found))


def make_directories(build_dir: Path, job: Job, layout: Layout) -> None:
    """Make the directories of the job's logs before sbatch: Slurm opens the logs before the script
    runs, and a directory that is not there fails the job with nothing written anywhere."""
    for directory in directories(job, layout):
        path = Path(os.path.normpath(build_dir / directory))
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(
                f"{job.name}: the directory of its Slurm logs, {directory} (from the build directory), "
                f"cannot be made: {error.strerror}"
            ) from error


@dataclass(frozen=True, kw_only=True)
class TaskIds:
    """What follow knows of one task. A job that is no array: its id. A sweep's array task: the
    array's job id and the task's index (its own job id is not in its records). A task of the job's
    own array (slurm.array): neither (its records are named by its own job id, which is not known to
    be the array's or a task's)."""

    job_name: str
    array: bool
    job_id: int | None = None  # %j
    array_job_id: int | None = None  # %A
    task: int | None = None  # %a


@dataclass(frozen=True)
class Expanded:
    path: str | None  # the name, relative to where the pattern is (the build directory)
    why_not: str = ""  # when path is None: what in the pattern the task's ids do not tell


def expand(pattern: str, ids: TaskIds) -> Expanded:
    """The file `pattern` names for the task, as slurmstepd expands a batch script's pattern."""
    unknown: list[str] = []

    def field(match: re.Match[str]) -> str:
        if match.group(1) == "%":
            return "%"
        width, letter = min(int(match.group(2) or 0), MAX_WIDTH), match.group(3)
        if letter == "x":
            return ids.job_name
        if letter in "nt":
            return "0".zfill(width)  # a batch script is node 0, task 0 of its job
        if letter in UNKNOWN:
            unknown.append(f"%{letter} ({UNKNOWN[letter]})")
            return ""
        if letter not in "jAab":
            return match.group(0)  # no field: slurmstepd leaves it as written
        if not ids.array:
            number = ids.job_id if letter in "jA" else NO_ARRAY_TASK
        elif letter == "j":
            number = ids.job_id
        elif letter == "A":
            number = ids.array_job_id
        else:
            number = None if ids.task is None else ids.task % 10 if letter == "b" else ids.task
        if number is None:
            unknown.append(f"%{letter} ({ARRAY_FIELDS[letter]})")
            return ""
        return str(number).zfill(width)

    path = FIELD.sub(field, pattern)
    if unknown:
        return Expanded(None, ", ".join(dict.fromkeys(unknown)))
    return Expanded(path)

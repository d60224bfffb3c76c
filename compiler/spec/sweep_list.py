"""A job's `sweep_from` list: the file of the user's whose lines HTCondor queues one process each
(`queue a, b from <file>`). HTCondor reads it when the job is submitted; pixi-htc reads it at every
build and submit, to check each line where HTCondor would take it silently, and to give status,
results and a Slurm job's array the same rows.

HTCondor's reading of a line (htcondor2.Submit.itemdata, probed): leading and trailing blanks are
dropped; values are separated by a comma or by blanks; the last variable takes the rest of the line;
a blank line or a `#` line is a process too. The rules here accept the lines on which that reading
is unambiguous and the values are what a sweep value may be, and say where any other line is.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import Diagnostic
from ..core.foreign import ForeignFileError, read_bytes
from ..core.resources import project_schema
from .job_key_rules import MAX_SWEEP_ROWS
from .loader import KeyPath, LoadedSpec, format_key_path
from .model import Job, Project, outside
from .schema_validator import ecma_pattern

# One separator as HTCondor splits a line: a comma with the blanks around it, or a run of blanks.
SEPARATOR = re.compile(r"[ \t]*,[ \t]*|[ \t]+")
MAX_LIST_BYTES = 16 * 1024 * 1024


@functools.cache
def sweep_value() -> re.Pattern[str]:
    """The schema's sweepValue (its string form), read as the validator reads patterns: the values a
    list may hold, as a sweep's may."""
    return ecma_pattern(project_schema()["$defs"]["sweepValue"]["anyOf"][0]["pattern"])


def read_lists(project: Project, spec: LoadedSpec, root: Path, build_dir: str) -> tuple[Project, list[Diagnostic]]:
    """The project with each sweep_from's rows read from its file, and the problems found in the files
    (located in them) or with them (located at the spec's key). A file named by several jobs is read
    and checked once, and its rows are one tuple the jobs share (50 jobs on one 100,000-line list
    cost one read, not fifty)."""
    problems: list[Diagnostic] = []
    jobs = []
    texts: dict[tuple[str, bool], tuple[str | None, str | None]] = {}
    checked: dict[
        tuple[str, tuple[str, ...], frozenset[str]], tuple[list[Diagnostic], tuple[tuple[str, ...], ...] | None]
    ] = {}
    for job in project.jobs:
        if job.sweep_from is None:
            jobs.append(job)
            continue
        key: KeyPath = ("jobs", job.name, "sweep_from", "file")
        # A Slurm array is sized from the rows; a log directory named by them is made before condor_submit.
        needed = job.scheduler == "slurm" or bool(job.log_directory_variables)
        if (job.sweep_from.file, needed) not in texts:
            texts[job.sweep_from.file, needed] = _read(root, job.sweep_from.file, build_dir, needed=needed)
        text, problem = texts[job.sweep_from.file, needed]
        if problem is not None:
            line, column = spec.locate(key)
            problems.append(Diagnostic(line, column, format_key_path(key), problem))
        rows = None
        if text is not None:
            shape = (job.sweep_from.file, job.sweep_from.variables, job.path_variables & frozenset(job.sweep_variables))
            if shape not in checked:
                found = list(_problems(job, text))
                checked[shape] = (
                    found,
                    (None if found else tuple(split_row(line, len(job.sweep_variables)) for line in lines(text))),
                )
            found, rows = checked[shape]
            own = format_key_path(("jobs", job.name, "sweep_from"))
            problems += [dataclasses.replace(d, key_path=own) for d in found]
        jobs.append(dataclasses.replace(job, sweep_from=dataclasses.replace(job.sweep_from, rows=rows)))
    return dataclasses.replace(project, jobs=tuple(jobs)), problems


def _read(root: Path, name: str, build_dir: str, *, needed: bool) -> tuple[str | None, str | None]:
    """The list's text, or why it cannot be read. A list that is absent is fine for HTCondor, which
    reads it when the job is submitted (it may be written just before); a Slurm array is sized from it.
    Read as a foreign file: a regular file inside the project reached without a link, bounded."""
    if name == build_dir or name.startswith(f"{build_dir}/"):
        return None, f"'{name}' is inside the build directory, which pixi-htc owns; keep the list beside your code"
    try:
        read = read_bytes(root / name, MAX_LIST_BYTES, within=root, missing_ok=True)
    except ForeignFileError as error:
        if error.kind in ("link", "outside"):
            return None, f"'{name}' is a symbolic link or leads outside the project; name the file itself"
        return None, f"'{name}' {error}"
    if read is None:
        return None, (
            f"'{name}' does not exist; a Slurm job array is sized from its lines (and a log directory named "
            "by a value is made before the job is submitted), so write it before building"
        ) if needed else None
    if read.cut:
        return None, f"'{name}' is over {MAX_LIST_BYTES // 1024 // 1024} MiB; split the job"
    try:
        return read.data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return None, f"'{name}' is not UTF-8 text (byte {error.start + 1})"


def lines(text: str) -> list[str]:
    """The lines as HTCondor counts them: ended by a newline, a carriage return before it dropped."""
    return [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")] if text else []


def split_row(line: str, variables: int) -> tuple[str, ...]:
    """A line's values as HTCondor reads them: one variable takes the whole line, the last of
    several the rest of it (re.split's maxsplit=0 would split everywhere)."""
    if variables == 1:
        return (line.strip(" \t"),)
    return tuple(SEPARATOR.split(line.strip(" \t"), maxsplit=variables - 1))


def _problems(job: Job, text: str) -> Iterator[Diagnostic]:
    assert job.sweep_from is not None
    file, names = job.sweep_from.file, job.sweep_from.variables
    key = format_key_path(("jobs", job.name, "sweep_from"))
    in_paths = job.path_variables
    value = sweep_value()
    found = lines(text)
    if not found:
        yield Diagnostic(1, 1, key, "the list is empty: HTCondor would queue no process", file)
    if len(found) > MAX_SWEEP_ROWS:
        yield Diagnostic(
            MAX_SWEEP_ROWS + 1,
            1,
            key,
            f"the list has {len(found):,} lines; at most {MAX_SWEEP_ROWS:,} per job (split it into several jobs)",
            file,
        )
        return
    for number, line in enumerate(found, start=1):
        start = len(line) - len(line.lstrip(" \t"))
        content = line.strip(" \t")
        if not content:
            yield Diagnostic(
                number, 1, key, "a blank line: HTCondor would queue a process with empty values; delete it", file
            )
            continue
        if content.startswith("#"):
            yield Diagnostic(
                number, start + 1, key, "HTCondor reads a '#' line as values, not as a comment; delete it", file
            )
            continue
        fields = split_row(content, len(names))
        if len(fields) < len(names):
            yield Diagnostic(
                number,
                start + 1,
                key,
                f"{len(fields)} value(s) for {len(names)} variables "
                f"({', '.join(names)}); separate them with a comma or blanks",
                file,
            )
            continue
        column = start
        for name, field in zip(names, fields):
            column = line.index(field, column)
            if name == names[-1] and SEPARATOR.search(field):
                yield Diagnostic(
                    number,
                    column + 1,
                    key,
                    f"{len(SEPARATOR.split(content))} values for "
                    f"{len(names)} variable(s) ({', '.join(names)}); HTCondor would give {name} "
                    f"{field!r}",
                    file,
                )
            elif not value.search(field):
                yield Diagnostic(
                    number,
                    column + 1,
                    key,
                    f"{name} {field!r} is not valid: letters, digits and . _ + - : = / @ % only",
                    file,
                )
            elif name in in_paths and outside(field):
                yield Diagnostic(
                    number,
                    column + 1,
                    key,
                    f"{name} {field!r} is placed in a file path, and would "
                    "lead out of it: no empty, '.' or '..' parts, and no leading '/'",
                    file,
                )
            column += len(field)

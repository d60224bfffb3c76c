"""A held or failed process, explained at the spec key that can fix it.

Hold reason codes and texts are HTCondor's ("Hold Reason Codes" in the manual, and the starter's
messages): 34/102 memory and 34/104 disk over the request ("Job has gone over cgroup memory limit of
2048 megabytes. Peak usage: 3175 megabytes."); 13 transfer input and 12 transfer output failures;
35 an invalid image; 46/47 the allowed job / execute duration exceeded. Pools also hold through
their own policy (code 26, 21 or 3) with texts such as "memory usage exceeded request_memory"
(OSPool) or "The job exceeded allowed execute duration of 20:00:00": those are matched by text.

Hold reasons and .err files come from execute machines: the reasons arrive already cut and escaped
(joblog.bounded_text), are cut again where they are shown, and the .err is read as findings.err_tail reads
it (the Finding, the Locator and the .err's tail are shared with Slurm: ../findings.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

from ...core import foreign
from ...core.defaults import CHECKPOINT_EXIT_CODE
from ...spec.loader import KeyPath
from ...spec.model import Job, Project
from ..findings import ERR_TAIL_BYTES, ERR_TAIL_LINES, Finding, Locator, err_tail  # noqa: F401 - the names diagnose gives
from .joblog import Hold, Process

MAX_MB = 1024.0**3  # a petabyte: more than that is no memory or disk use, but a damaged number
REASON_CHARS = 1000  # a hold reason is shown in full up to here, once, under its finding
UNITS_MB = {"KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024}

MEMORY_TEXT = re.compile(r"memory (usage|limit)|request_memory|out of memory|out-of-memory", re.I)
DISK_TEXT = re.compile(r"\bdisk\b.*(exceed|over|limit)|request_disk", re.I)
# GHCR keeps a package private after its first push with GITHUB_TOKEN, and execute points pull
# anonymously: the usual cause of a hold on a freshly pushed ghcr.io image, so it is named first.
GHCR_PRIVATE = (
    " (a ghcr.io package is private until its owner makes it public: GitHub, Packages, the package, "
    "Package settings, Change visibility, Public; execute points pull anonymously)"
)
IMAGE_TEXT = re.compile(
    r"(image|container).*(pull|invalid|not found|manifest|unauthori[sz]ed|denied|convert)|"
    r"(pull|fetch).*image|apptainer|singularity",
    re.I,
)
LENGTH_TEXT = re.compile(
    r"exceeded allowed (execute|job) duration|job ?length|JobDurationCategory|"
    r"failed to complete in|max(imum)? (run|wall) ?time",
    re.I,
)
USAGE_MB = re.compile(r"(?:Peak usage|Last measured usage|usage)\D{0,3}(\d+) ?megabytes", re.I)
# "reading from file /path/x: (errno 2)", "( URL file = osdf:///a/b )", "file /x/y:"
FILE_IN_REASON = re.compile(r"(?:URL file = |reading from file |writing to file |file )([^\s:;()|]+)", re.I)


def size_mb(size: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]B)", size.strip(), re.I)
    return float(match.group(1)) * UNITS_MB[match.group(2).upper()] if match else float("nan")


def gigabytes(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def plausible_mb(value: object, scale: float = 1.0) -> float | None:
    """A size the log or the reason reports, in MB (value / scale), or None when it is no size a
    machine has: the numbers come from execute machines, and 10**400 must not reach float maths."""
    try:
        mb = float(value) / scale  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return mb if math.isfinite(mb) and 0 < mb <= MAX_MB else None


def suggestion(mb: float) -> str:
    """A request comfortably above what was used: a quarter more, rounded up to whole GB."""
    return f"{max(1, math.ceil(mb * 1.25 / 1024))}GB"


def _who(job: Job, process: Process) -> str:
    row = job.sweep_rows[process.proc] if 0 <= process.proc < len(job.sweep_rows) else ()
    values = " ".join(f"{name}={value}" for name, value in zip(job.sweep_variables, row))
    return f"process {process.id}" + (f" ({values})" if values else "")


def _hold_detail(hold: Hold) -> str:
    code = (
        ""
        if hold.code is None
        else f" (HoldReasonCode {hold.code}" + ("" if hold.subcode in (None, 0) else f", subcode {hold.subcode}") + ")"
    )
    return f"HTCondor: {foreign.shown(hold.reason, REASON_CHARS)}{code}"


def _file_entry(job: Job, names: tuple[str, ...], reason: str) -> int | None:
    """The index of the entry whose file the hold reason names (by basename)."""
    mentioned = {path.rstrip("/").rsplit("/", 1)[-1] for path in FILE_IN_REASON.findall(reason)}
    for index, entry in enumerate(names):
        if entry.rstrip("/").rsplit("/", 1)[-1] in mentioned or entry in reason:
            return index
    return None


def explain_hold(project: Project, job: Job, process: Process, hold: Hold, where: Locator) -> Finding:
    jobs: KeyPath = ("jobs", job.name)
    who, detail = _who(job, process), (_hold_detail(hold),)
    reason, code, sub = hold.reason, hold.code, hold.subcode
    if (code == 34 and sub == 102) or (code != 34 and MEMORY_TEXT.search(reason)):
        used = USAGE_MB.search(reason)
        mb = plausible_mb(used.group(1) if used else process.memory_mb)
        how = f"used {gigabytes(mb)}; request at least {suggestion(mb)}" if mb else "used more than that"
        return where.at((*jobs, "resources", "memory"), f"is {job.resources.memory}; {who} was held: it {how}", detail)
    if (code == 34 and sub == 104) or (code != 34 and DISK_TEXT.search(reason)):
        written = plausible_mb(process.disk_kb, 1024)
        how = (
            f"used {gigabytes(written)}; request at least {suggestion(written)}" if written else "wrote more than that"
        )
        return where.at((*jobs, "resources", "disk"), f"is {job.resources.disk}; {who} was held: it {how}", detail)
    if code == 34:
        return where.at((*jobs, "resources"), f"{who} used more than it requested and was held", detail)
    if code == 13 or reason.lower().startswith("transfer input files failure"):
        index = _file_entry(job, job.inputs, reason)
        if index is not None:
            return where.at(
                (*jobs, "inputs", index),
                f"is {job.inputs[index]}; {who} could not transfer it in "
                "(does it exist, relative to the project root, before submitting?)",
                detail,
            )
        if project.source and (found := _file_entry(job, project.source, reason)) is not None:
            return where.at(("source", found), f"is {project.source[found]}; {who} could not transfer it in", detail)
        if job.runtime == "pixi-pack" and project.pack.archive_name in reason:
            return where.at(
                ("pack", "archive"),
                f"is {project.pack.archive}; {who} could not transfer it in "
                "(run `make pack`, and stage it where the spec says)",
                detail,
            )
        return where.at((*jobs, "inputs"), f"{who} could not transfer an input in", detail)
    if code == 12 or reason.lower().startswith("transfer output files failure"):
        index = _file_entry(job, job.outputs, reason)
        if index is not None:
            return where.at(
                (*jobs, "outputs", index),
                f"is {job.outputs[index]}; {who} did not leave it "
                "(the command must write it in the job's working directory)",
                detail,
            )
        if job.checkpoint and (found := _file_entry(job, job.checkpoint.files, reason)) is not None:
            return where.at(
                (*jobs, "checkpoint", "files", found),
                f"is {job.checkpoint.files[found]}; {who} exited with the checkpoint code without writing it",
                detail,
            )
        return where.at((*jobs, "outputs"), f"{who} could not transfer its outputs back", detail)
    if code == 35 or IMAGE_TEXT.search(reason):
        if job.image is not None:
            return where.at(
                (*jobs, "image"),
                f"is {job.image}; {who} could not pull or start it{GHCR_PRIVATE if _on_ghcr(job.image) else ''}",
                detail,
            )
        pulled = project.container.docker_reference if project.container.tag else "it"
        if job.runtime == "apptainer" and project.container.tag:
            pulled = project.sif_reference
        first = GHCR_PRIVATE.removeprefix(" (").removesuffix(")") + "; else, " if _on_ghcr(pulled) else ""
        return where.at(
            ("container", "image"),
            f"is {project.container.image}; {who} could not pull or start "
            f"{pulled} ({first}was it pushed? CI builds it: make image / the workflow)",
            detail,
        )
    if code in (46, 47) or LENGTH_TEXT.search(reason):
        if project.site == "chtc":
            length = job.chtc.job_length or "medium"
            return where.at(
                (*jobs, "chtc", "job_length"),
                f"is {length}; {who} ran past it and was held (a longer class, or checkpoint so it resumes)",
                detail,
            )
        if project.site == "ospool":
            return where.at(
                (*jobs, "ospool", "duration"),
                f"is {job.ospool.duration or 'medium'}; {who} ran past "
                "it and was held (long is 40 h, or checkpoint so it resumes)",
                detail,
            )
        return where.at(
            (*jobs, "checkpoint"), f"{who} ran past the pool's time limit; checkpoint so it resumes", detail
        )
    if code == 3 and job.expression("on_exit_hold"):
        return where.at((*jobs, "on_exit_hold"), f"is {job.expression('on_exit_hold')}; it held {who}", detail)
    return where.at(jobs, f"{who} is held", detail)


def findings(
    project: Project, job: Job, process: Process, where: Locator, err: Path | None, *, within: Path | None = None
) -> Iterator[Finding]:
    """What the user can change for this process; nothing for one that is fine. `err` is read
    only inside `within` (the project root)."""
    jobs: KeyPath = ("jobs", job.name)
    who = _who(job, process)
    if process.held is not None and process.state == "held":
        yield explain_hold(project, job, process, process.held, where)
    if process.state == "completed" and process.exit_signal is not None:
        yield where.at(
            (*jobs, "command"), f"{who} was killed by signal {process.exit_signal}", err_tail(err, within=within)
        )
    elif process.state == "completed" and process.exit_code not in (None, 0):
        if job.checkpoint is None and process.exit_code == CHECKPOINT_EXIT_CODE:
            yield where.at(
                (*jobs, "checkpoint"),
                f"{who} exited {CHECKPOINT_EXIT_CODE}, the trainer's checkpoint code, but the job "
                "does not checkpoint: add checkpoint (files, exit_code)",
                err_tail(err, within=within),
            )
        else:
            yield where.at(
                (*jobs, "command"), f"{who} exited with code {process.exit_code}", err_tail(err, within=within)
            )
    if job.checkpoint is not None and (process.checkpoints or process.evictions):
        yield where.at(
            (*jobs, "checkpoint", "exit_code"),
            f"is {job.checkpoint.exit_code}; {who} checkpointed {process.checkpoints} time(s), "
            f"was evicted {process.evictions} time(s) and restarted {process.restarts} time(s)",
        )
    elif process.evictions:
        yield where.at(
            jobs,
            f"{who} was evicted {process.evictions} time(s) and started over each time "
            "(no checkpoint: add checkpoint to resume instead)",
        )


def _on_ghcr(reference: str) -> bool:
    """Whether an image reference (docker://, oras://, or a bare name) is on GitHub's registry."""
    return reference.split("://", 1)[-1].startswith("ghcr.io/")

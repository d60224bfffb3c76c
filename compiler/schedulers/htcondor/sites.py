"""The submit lines each site (spec/sites.py) adds to a job's .sub: +Attributes and pool commands."""

from __future__ import annotations

from collections.abc import Callable

from ...core.escape import classad_value
from ...spec.model import Job

# (submit command or +Attribute, value as the submit file writes it)
Lines = list[tuple[str, str]]


def chtc(job: Job) -> Lines:
    """CHTC (guides and CHTC/templates-GPUs): the GPU Lab, its job lengths, backfill, flocking."""
    lines: Lines = []
    if job.resources.gpus > 0 and job.chtc.gpu_lab:
        lines.append(("+WantGPULab", "true"))
        if job.chtc.job_length is not None:
            lines.append(("+GPUJobLength", classad_value(job.chtc.job_length)))
    # Resumable jobs give up the 72 h guarantee: only for jobs that checkpoint, unless asked.
    resumable = job.chtc.resumable if job.chtc.resumable is not None else job.checkpoint is not None
    if resumable:
        lines.append(("+is_resumable", "true"))
    if job.chtc.want_ospool:
        lines.append(("want_ospool", "true"))
    if job.chtc.want_campus_pools:
        lines.append(("want_campus_pools", "true"))
    return lines


def ospool(job: Job) -> Lines:
    """The OSPool: duration categories (held after 20 h / 40 h) and project accounting."""
    lines: Lines = []
    if job.ospool.duration is not None:
        lines.append(("+JobDurationCategory", classad_value(job.ospool.duration.capitalize())))
    if job.ospool.project is not None:
        lines.append(("+ProjectName", classad_value(job.ospool.project)))
    return lines


def generic(job: Job) -> Lines:
    return []


# Keyed by the names of spec/sites.py's SITES (tests/test_layout.py checks they are the same).
SITE_LINES: dict[str, Callable[[Job], Lines]] = {"chtc": chtc, "generic": generic, "ospool": ospool}

"""`pixi-htc submit`: each chosen job goes to its scheduler (schedulers/__init__.py), which queues it or
says what would be queued."""

from __future__ import annotations

from ..artifacts.base import Compiled
from ..core.errors import EXIT_OK, UsageError
from . import SCHEDULERS


def submit(compiled: Compiled, *, job_name: str | None, dry_run: bool) -> int:
    names = [job.name for job in compiled.project.jobs]
    if job_name is not None and job_name not in names:
        raise UsageError(f"no job named {job_name!r}; jobs: {', '.join(names) or 'none'}")
    pipelines = sorted(name for name, scheduler in SCHEDULERS.items() if scheduler.has_pipeline(compiled.project))
    if job_name is None and pipelines:
        # A pipeline goes as a whole (#24): the DAG on HTCondor, every job in order on Slurm.
        for name in pipelines:
            SCHEDULERS[name].submit_pipeline(compiled, dry_run=dry_run)
        if not dry_run:
            return EXIT_OK
    if job_name is None and not dry_run and len(names) != 1:
        raise UsageError(f"say which job to submit with JOB=name (make) or --job: {', '.join(names)}")
    chosen = [job for job in compiled.project.jobs if job_name in (None, job.name)]
    for name in sorted(SCHEDULERS):
        jobs = [job for job in chosen if job.scheduler == name]
        if jobs:
            (SCHEDULERS[name].dry_run if dry_run else SCHEDULERS[name].submit)(compiled, jobs)
    return EXIT_OK

"""`pixi-htc submit`: queue a generated job through htcondor2 (or sbatch for a Slurm job: submit_slurm.py),
or list what would be queued."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from . import submit_slurm
from .artifacts.htcondor import plan, queue_variables
from .errors import EXIT_OK, UsageError
from .model import Job
from .pipeline import Compiled

MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def load_submit(path: Path):  # type: ignore[no-untyped-def]  # htcondor2 ships no type hints
    import htcondor2

    try:
        return htcondor2.Submit(path.read_text(encoding="utf-8"))
    except Exception as error:  # htcondor2 raises plain exceptions for parse errors
        raise UsageError(f"{path}: HTCondor cannot parse it: {error}") from error


def rows(submit) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The queue table's rows, or one empty row for `queue 1`."""
    items = submit.itemdata()
    return [dict(row) for row in items] if items is not None else [{}]


def expand(value: str, macros: dict[str, str]) -> str:
    return MACRO.sub(lambda m: macros.get(m.group(1), macros.get(m.group(1).lower(), m.group(0))), value)


def describe(job: Job, submit, cluster: str = "<cluster>") -> Iterator[str]:  # type: ignore[no-untyped-def]
    """One line per job that would be queued: its sweep values under the spec's names, then its
    arguments and resources as HTCondor parsed them."""
    names = dict(zip(queue_variables(job), job.sweep_variables))
    for process, row in enumerate(rows(submit)):
        macros = {"Cluster": cluster, "Process": str(process), **row}
        values = "".join(f"{names.get(macro, macro)}={value} " for macro, value in row.items())
        resources = " ".join(f"{name}={submit.get('request_' + name, '-')}" for name in ("cpus", "gpus", "memory", "disk"))
        image = submit.get("container_image")
        where = f" image={image}" if image else " universe=vanilla"
        yield f"{job.name}.{process}: {values}arguments={expand(submit.get('arguments', ''), macros)} {resources}{where}"


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def submit(compiled: Compiled, *, job_name: str | None, dry_run: bool) -> int:
    names = [job.name for job in compiled.project.jobs]
    if job_name is not None and job_name not in names:
        raise UsageError(f"no job named {job_name!r}; jobs: {', '.join(names) or 'none'}")
    if job_name is None and not dry_run and len(names) != 1:
        raise UsageError(f"say which job to submit with JOB=name (make) or --job: {', '.join(names)}")
    chosen = [job_name] if job_name else names
    build_dir = compiled.root / compiled.layout.build_dir
    jobs = {job.name: job for job in compiled.project.jobs}
    on_slurm = [jobs[name] for name in chosen if jobs[name].scheduler == "slurm"]
    submits = {name: load_submit(build_dir / "htcondor" / f"{name}.sub") for name in chosen
               if jobs[name].scheduler == "htcondor"}

    if dry_run:
        for name, description in submits.items():
            with working_directory(build_dir):  # a sweep_from list is named relative to it
                lines = list(describe(jobs[name], description))
            for line in lines:
                print(line)
        for job in on_slurm:
            submit_slurm.dry_run(build_dir, job)
        return EXIT_OK
    for job in on_slurm:
        submit_slurm.submit(build_dir, job)
    if not submits:
        return EXIT_OK

    import htcondor2

    try:
        schedd = htcondor2.Schedd()
    except Exception as error:
        raise UsageError(f"no HTCondor schedd reachable from here ({str(error).strip()}); "
                         "run make submit on your pool's access point, or use DRY_RUN=1") from error
    for name in submits:  # HTCondor writes logs and a sweep's outputs there, and will not create them
        for directory in plan(compiled.project, jobs[name], compiled.layout).directories:
            (build_dir / directory).mkdir(parents=True, exist_ok=True)
    for name, description in submits.items():
        with working_directory(build_dir):  # the .sub's paths (and a sweep_from list) are relative to it
            items = description.itemdata()
            try:
                result = schedd.submit(description, itemdata=iter(rows(description))) if items is not None \
                    else schedd.submit(description, count=1)
            except Exception as error:
                raise UsageError(f"submitting {name} failed: {str(error).strip()}") from error
        print(f"{name}: submitted {result.num_procs()} job(s) to cluster {result.cluster()}")
    return EXIT_OK

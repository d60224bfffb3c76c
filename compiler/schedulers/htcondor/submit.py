"""Submitting HTCondor jobs: the .sub pixi-htc renders now, parsed by htcondor2 and queued with exactly the
rows the spec's check saw, or described for a dry run."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ...artifacts.base import Compiled
from ...core.errors import UsageError
from ...spec.model import Job
from .render import plan, queue_variables

MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def parse_submit(text: str, shown: str):  # type: ignore[no-untyped-def]  # htcondor2 ships no type hints
    """A submit description pixi-htc rendered itself (never a file from disk: HTCondor's parser
    executes `include` lines, so it is handed only text this process generated)."""
    import htcondor2

    try:
        return htcondor2.Submit(text)
    except Exception as error:  # htcondor2 raises plain exceptions for parse errors
        raise UsageError(f"{shown}: HTCondor cannot parse it: {error}") from error


def rendered_submit(compiled: Compiled, name: str, *, node: bool = False):  # type: ignore[no-untyped-def]
    """The job's .sub (`node`: its DAG node's, htcondor/dag/<job>.sub) as pixi-htc renders it from
    the spec now, parsed; never build/'s copy."""
    path = compiled.layout.build("htcondor", *(["dag"] if node else []), f"{name}.sub")
    text = next((artifact.text for artifact in compiled.artifacts if artifact.path == path), None)
    if text is None:
        raise UsageError(f"job {name!r} has no HTCondor submit file (it runs on another scheduler)")
    return parse_submit(text, str(path))


def rows(job: Job) -> list[dict[str, str]]:
    """The rows to queue, as the queue statement's macros: exactly the rows pixi-htc checked when it
    compiled the spec just now (a sweep_from list is never read again by HTCondor at submit, so a
    list changed since the check cannot queue lines nobody checked); one empty row for `queue 1`."""
    if not job.swept:
        return [{}]
    if job.sweep_from is not None and job.sweep_from.rows is None:
        raise UsageError(
            f"{job.name}: its sweep_from list {job.sweep_from.file} does not exist yet; write it, then submit"
        )
    return [dict(zip(queue_variables(job), row)) for row in job.sweep_rows]


def expand(value: str, macros: dict[str, str]) -> str:
    return MACRO.sub(lambda m: macros.get(m.group(1), macros.get(m.group(1).lower(), m.group(0))), value)


def describe(job: Job, submit, cluster: str = "<cluster>") -> Iterator[str]:  # type: ignore[no-untyped-def]
    """One line per job that would be queued: its sweep values under the spec's names, then its
    arguments and resources as HTCondor parsed them."""
    names = dict(zip(queue_variables(job), job.sweep_variables))
    for process, row in enumerate(rows(job)):
        macros = {"Cluster": cluster, "Process": str(process), **row}
        values = "".join(f"{names.get(macro, macro)}={value} " for macro, value in row.items())
        resources = " ".join(
            f"{name}={submit.get('request_' + name, '-')}" for name in ("cpus", "gpus", "memory", "disk")
        )
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


def dry_run(compiled: Compiled, jobs: list[Job]) -> None:
    for job in jobs:
        for line in describe(job, rendered_submit(compiled, job.name)):
            print(line)


def submit(compiled: Compiled, jobs: list[Job]) -> None:
    # The rendered text, which the caller has just compared with build/ (it refuses a stale build).
    submits = {job.name: rendered_submit(compiled, job.name) for job in jobs}
    import htcondor2

    try:
        schedd = htcondor2.Schedd()
    except Exception as error:
        raise UsageError(
            f"no HTCondor schedd reachable from here ({str(error).strip()}); "
            "run make submit on your pool's access point, or use DRY_RUN=1"
        ) from error
    build_dir = compiled.root / compiled.layout.build_dir
    for job in jobs:  # HTCondor writes logs and a sweep's outputs there, and will not create them
        for directory in plan(compiled.project, job, compiled.layout).directories:
            (build_dir / directory).mkdir(parents=True, exist_ok=True)
    for job in jobs:
        with working_directory(build_dir):  # the .sub's paths are relative to it
            try:
                result = (
                    schedd.submit(submits[job.name], itemdata=iter(rows(job)))
                    if job.swept
                    else schedd.submit(submits[job.name], count=1)
                )
            except Exception as error:
                raise UsageError(f"submitting {job.name} failed: {str(error).strip()}") from error
        print(f"{job.name}: submitted {result.num_procs()} job(s) to cluster {result.cluster()}")


def submit_dag(compiled: Compiled, *, dry_run: bool) -> None:
    """The pipeline's DAG, as pixi-htc renders it now (the caller has refused a stale build), parsed
    by HTCondor's DAG reader and queued, from the build directory DAGMan works in."""
    from . import dag

    dag_path = compiled.layout.build("htcondor", dag.DAG)
    nodes = sum(len(dag.node_names(job)) for job in compiled.project.jobs_on("htcondor"))
    if dry_run:
        print(f"{dag_path}: {nodes} node(s); pixi-htc submit queues it with DAGMan (htcondor2.Submit.from_dag)")
        return
    import htcondor2

    build_dir = compiled.root / compiled.layout.build_dir
    for directory in dag.directories(compiled.project, compiled.layout):
        (build_dir / directory).mkdir(parents=True, exist_ok=True)
    try:
        schedd = htcondor2.Schedd()
    except Exception as error:
        raise UsageError(
            f"no HTCondor schedd reachable from here ({str(error).strip()}); "
            "run make submit on your pool's access point, or use DRY_RUN=1"
        ) from error
    with working_directory(build_dir):  # the DAG's paths, and DAGMan's own files, are relative to it
        try:
            description = htcondor2.Submit.from_dag(f"htcondor/{dag.DAG}", {"force": True})
            result = schedd.submit(description)
        except Exception as error:
            raise UsageError(f"submitting {dag_path} failed: {str(error).strip()}") from error
    print(
        f"{dag_path}: submitted the pipeline ({nodes} node(s)) as DAGMan job {result.cluster()}; "
        f"follow it with condor_q -dag {result.cluster()}"
    )

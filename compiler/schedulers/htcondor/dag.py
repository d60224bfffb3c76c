"""build/htcondor/pipeline.dag and its node submit files build/htcondor/dag/<job>.sub (#24).

A node per process, not a node per sweep: a for_each job's process starts after its own process of
the sweep it follows (PARENT train_3 CHILD evaluate_3), a RETRY reruns the one process that failed,
and MAXJOBS on the job's CATEGORY limits how many of its processes run at once. Each node's .sub
queues one process; the node's VARS give it the process number and the sweep's values. A job's
outputs land in outputs/<job>/<process>/, where the jobs after it read them: a for_each job gets its
process's files under their own names, a job after the whole job gets outputs/<job> as a directory.

DAGMan reads one command per line, words split at blanks, VARS values in double quotes: every word
written here is checked against what that reading leaves alone, and a value that would break it is
a bug (the schema's patterns keep such values out of the spec), never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...artifacts.base import Artifact, Layout, header
from ...core.templating import render as render_template
from ...spec.graph import order
from ...spec.model import Job, Project
from .render import per_row, plan, queue_table, queue_variables, transfer_path

DAG = "pipeline.dag"
# DAGMan's files beside the DAG (htcondor/, as the DAG is submitted from the build directory): the
# node status file the DAG asks for (rewritten at most every STATUS_SECONDS), and DAGMan's own job's
# event log, which condor_submit_dag names <dag>.dagman.log.
STATUS_FILE = f"{DAG}.status"
STATUS_SECONDS = 30
DAGMAN_LOG = f"{DAG}.dagman.log"
PROCESS_MACRO = "PixiHtcProcess"
# A DAG word: node names, categories, submit-file paths (DAGMan splits at blanks; '+' names a splice).
WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
# What may stand inside a VARS value's quotes: no quote, backslash, '$' (DAGMan's $(JOB) macros) or line break.
VALUE = re.compile(r"[^\"\\$\x00-\x1f\x7f]*")


def dag_word(text: str) -> str:
    if not WORD.fullmatch(text) or text.upper() == "ALL_NODES":
        raise ValueError(f"{text!r} cannot stand as a word of a DAG file")
    return text


def dag_value(text: str) -> str:
    if not VALUE.fullmatch(text):
        raise ValueError(f"{text!r} cannot stand in a DAG file's VARS value")
    return f'"{text}"'


@dataclass(frozen=True, kw_only=True)
class Node:
    name: str
    submit: str  # relative to the build directory, where DAGMan runs
    process: int
    variables: tuple[tuple[str, str], ...]  # (macro, escaped value), the process macro first


@dataclass(frozen=True, kw_only=True)
class JobNodes:
    job: Job
    nodes: tuple[Node, ...]
    parents: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (parents, children) per edge line
    final: bool


def has_pipeline(project: Project) -> bool:
    return any(job.in_pipeline for job in project.jobs_on("htcondor"))


def processes(job: Job) -> int:
    return len(job.sweep_rows) if job.swept else 1


def node_names(job: Job) -> tuple[str, ...]:
    if not job.swept:
        return (dag_word(job.name),)
    return tuple(dag_word(f"{job.name}_{process}") for process in range(processes(job)))


def submit_path(job: Job) -> str:
    return f"htcondor/dag/{job.name}.sub"


def arriving(project: Project, job: Job) -> tuple[str, ...]:
    """What a node's .sub transfers from the jobs it runs after, relative to the build directory: the
    for_each job's files of this process (under their own names), every other job's outputs directory."""
    jobs = {other.name: other for other in project.jobs}
    paths = [f"outputs/{name}" for name in job.after]
    if job.for_each is not None:
        upstream = jobs[job.for_each]
        paths += [
            f"outputs/{upstream.name}/$({PROCESS_MACRO})/{transfer_path(name, job, PROCESS_MACRO)}"
            for name in upstream.outputs
        ]
    return tuple(paths)


def job_nodes(project: Project, job: Job) -> JobNodes:
    rows = job.sweep_rows if job.swept else [()]
    # A sweep_from list is read at validation; the rows are the ones checked then.
    nodes = tuple(
        Node(
            name=name,
            submit=dag_word(submit_path(job)),
            process=process,
            variables=(
                (PROCESS_MACRO, dag_value(str(process))),
                *((macro, dag_value(value)) for macro, value in zip(queue_variables(job), row)),
            ),
        )
        for process, (name, row) in enumerate(zip(node_names(job), rows))
    )
    jobs = {other.name: other for other in project.jobs}
    parents: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    if not job.always:
        for name in job.after:
            parents.append((node_names(jobs[name]), tuple(node.name for node in nodes)))
        if job.for_each is not None:
            parents += [((parent,), (node.name,)) for parent, node in zip(node_names(jobs[job.for_each]), nodes)]
    return JobNodes(job=job, nodes=nodes, parents=tuple(parents), final=job.always)


def directories(project: Project, layout: Layout) -> tuple[str, ...]:
    """What must exist under the build directory before the DAG runs: HTCondor makes no directory
    for a log or an output it brings back."""
    found: set[str] = set()
    for job in project.jobs_on("htcondor"):
        found |= {f"outputs/{job.name}/{process}" for process in range(processes(job))}
        named: set[str] = set()
        for process in range(processes(job)):
            named |= {
                path.rpartition("/")[0].replace(f"$({PROCESS_MACRO})", str(process))
                for _, path in plan(project, job, layout, node=(), process=PROCESS_MACRO).logs
                if "/" in path
            }
        found |= {directory for each in named for directory in per_row(each, job)}  # a sweep value's, each row
    return tuple(sorted(found))


def render(project: Project, layout: Layout) -> list[Artifact]:
    if not has_pipeline(project):
        return []
    jobs = order(project.jobs_on("htcondor"))
    artifacts = []
    for job in jobs:
        p = plan(project, job, layout, node=arriving(project, job), process=PROCESS_MACRO)
        artifacts.append(
            Artifact(
                path=layout.build(submit_path(job)),
                text=render_template(
                    "job.sub.j2",
                    p=p,
                    job=job,
                    header=header(project),
                    queue_rows=queue_table(job),
                    queue_file=None,
                    queue_variables=list(zip(queue_variables(job), job.sweep_variables)),
                    node=PROCESS_MACRO,
                ),
            )
        )
    artifacts.append(
        Artifact(
            path=layout.build("htcondor", DAG),
            text=render_template(
                "pipeline.dag.j2",
                header=header(project),
                groups=[job_nodes(project, job) for job in jobs],
                throttles=[(dag_word(job.name), job.max_running) for job in jobs if job.max_running is not None],
                status_file=dag_word(f"htcondor/{STATUS_FILE}"),
                status_seconds=STATUS_SECONDS,
            ),
        )
    )
    return artifacts

"""Following the pipeline's DAG (#24): DAGMan's node status file (dagstatus.py) read into each job's
steps, a node per process as dag.py names them (train_3 is process 3 of train), and the DAG's own line.

A node that failed for good makes the nodes below it futile (DAGMan never runs them); the status file
says only "Had an ancestor node fail", so which failure it was comes from the DAG's edges here: the
spec's, as dag.py writes them. The names are carried down the edges in run order, a few per node
(MAX_NAMED), so even a fan-in of a hundred thousand processes is walked once.
"""

from __future__ import annotations

import os
import posixpath
from collections import Counter
from collections.abc import Iterable

from ...artifacts.base import Compiled
from ...core import foreign
from ...spec.graph import order
from ...spec.model import Project
from ..base import Followed, Pipeline, Step
from . import dag
from .dagstatus import DONE, ERROR, FUTILE, NODE_STATES, DagState, NodeState, StatusFileError, read_status, when

MAX_NAMED = 5  # failed nodes named above a futile one, futile ones named below a failed one
SUBMITTED_DETAIL = {"idle": "idle", "not_idle": "running"}  # DAGMan's words for a submitted node's job


def follow_dag(compiled: Compiled, followed: Iterable[Followed]) -> Pipeline | None:
    """The DAG's line, and each followed job's steps filled in; None without a DAG."""
    project = compiled.project
    if not dag.has_pipeline(project):
        return None
    name = str(compiled.layout.build("htcondor", dag.DAG))
    shown = compiled.layout.build("htcondor", dag.STATUS_FILE)
    try:
        state = read_status(compiled.root / shown, str(shown), within=compiled.root)
    except StatusFileError as error:
        return Pipeline(name=name, summary="DAGMan's node status file cannot be read", unreadable=[str(error)])
    if state is None:
        return Pipeline(name=name, summary=f"not submitted yet (no {shown}: DAGMan writes it once the DAG runs)")
    ours = f"htcondor/{dag.DAG}"
    if state.dag_files and not any(_ours(file, compiled) for file in state.dag_files):
        files = ", ".join(foreign.shown(file) for file in state.dag_files[:3])
        return Pipeline(
            name=name,
            summary="DAGMan's node status file is another DAG's",
            unreadable=[f"{foreign.shown(shown)}: DAGMan wrote it for {files}, not {ours}; not read"],
        )
    places = {
        node: (job.name, process)
        for job in project.jobs_on("htcondor")
        for process, node in enumerate(dag.node_names(job))
    }
    known = {node.name: node for node in state.nodes if node.name in places}
    above = failed_above(project, known)
    below: dict[str, list[str]] = {}
    for child, failed in above.items():
        if child in known and known[child].state == FUTILE:
            for parent in failed:
                below.setdefault(parent, []).append(child)
    steps: dict[str, list[Step]] = {}
    for node in known.values():
        job, process = places[node.name]
        futile = below.get(node.name, [])
        steps.setdefault(job, []).append(
            Step(
                name=node.name,
                process=process,
                state=node.state_name,
                retries=node.retries,
                detail=_detail(node),
                made_futile=tuple(futile[:MAX_NAMED]),
                made_futile_count=len(futile),
                failed_upstream=tuple(above.get(node.name, ())) if node.state == FUTILE else (),
            )
        )
    for status in followed:
        status.steps = sorted(steps.get(status.job.name, []), key=lambda step: step.process)
    return Pipeline(
        name=name,
        summary=_summary(state, shown),
        finished=state.finished or state.state in (DONE, ERROR),
        notes=_notes(state, places),
    )


def _ours(file: str, compiled: Compiled) -> bool:
    """Whether DagFiles names this pipeline's DAG: as condor_submit_dag was given it from the build
    directory (htcondor/pipeline.dag, ./htcondor/pipeline.dag), or by its absolute path."""
    if not os.path.isabs(file):
        return posixpath.normpath(file) == f"htcondor/{dag.DAG}"
    path = compiled.root / compiled.layout.build("htcondor", dag.DAG)
    return posixpath.normpath(file) in (os.path.abspath(path), os.path.realpath(path))


def failed_above(project: Project, nodes: dict[str, NodeState]) -> dict[str, tuple[str, ...]]:
    """For every node with a failed node above it, the first MAX_NAMED of those (in run order): each
    edge line of the DAG (parents, children) is walked once, jobs in the order they run."""
    above: dict[str, tuple[str, ...]] = {}
    rank: dict[str, int] = {}
    for job in order(project.jobs_on("htcondor")):
        for name in dag.node_names(job):
            rank[name] = len(rank)
        for parents, children in dag.job_nodes(project, job).parents:
            found: set[str] = set()
            for parent in parents:
                found.update(above.get(parent, ()))
                node = nodes.get(parent)
                if node is not None and node.state == ERROR:
                    found.add(parent)
            if not found:
                continue
            for child in children:
                merged = {*above.get(child, ()), *found}
                above[child] = tuple(sorted(merged, key=rank.__getitem__)[:MAX_NAMED])
    return above


def _detail(node: NodeState) -> str:
    if node.state == 3:  # submitted: DAGMan says whether its job is idle
        if node.held:
            return f"{node.held} process(es) held"
        return SUBMITTED_DETAIL.get(node.details, node.details)
    if node.state == FUTILE:
        return ""  # "Had an ancestor node fail": status names which, from the edges
    return node.details


def _summary(state: DagState, shown: object) -> str:
    tally = Counter(node.state for node in state.nodes)
    counts = ", ".join(f"{tally[index]} {NODE_STATES[index]}" for index in range(len(NODE_STATES)) if tally[index])
    if state.state == DONE:
        word = "finished: every node succeeded"
    elif state.state == ERROR:
        word = f"finished, {state.note or 'failed'}"
    elif state.note:
        word = f"running ({state.note})"
    else:
        word = "running"
    return (
        f"{word}; {len(state.nodes)} node(s){': ' + counts if counts else ''} "
        f"(DAGMan's {foreign.shown(shown)}, {when(state.written)})"
    )


def _notes(state: DagState, places: dict[str, tuple[str, int]]) -> list[str]:
    notes = []
    strangers = [node.name for node in state.nodes if node.name not in places]
    if strangers:
        named = ", ".join(foreign.shown(name, 60) for name in strangers[:MAX_NAMED])
        more = f" and {len(strangers) - MAX_NAMED:,} more" if len(strangers) > MAX_NAMED else ""
        notes.append(
            f"{len(strangers):,} node(s) no job of this spec has ({named}{more}): was the DAG submitted from another spec?"
        )
    missing = len(places) - sum(1 for node in state.nodes if node.name in places)
    if missing > 0:
        notes.append(f"{missing:,} node(s) of this spec's DAG are not in DAGMan's file (was the spec changed since?)")
    return notes

"""HTCondor: .sub and wrapper scripts (render.py), submitting through htcondor2 (submit.py), and what
came back (follow.py, reading jobfiles.py, joblog.py, diagnose.py)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from ..base import Following, Landing
from ..findings import Locator
from . import dag, follow, render, submit
from .joblog import ScheddQuery, query_schedd


class HTCondor:
    name = "htcondor"

    def __init__(self, schedd: ScheddQuery = query_schedd) -> None:
        self.schedd = schedd  # the queue's ads for some clusters, or None when no schedd answers

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        return render.render(project, layout) + dag.render(project, layout)

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        submit.dry_run(compiled, jobs)

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        submit.submit(compiled, jobs)

    def has_pipeline(self, project: Project) -> bool:
        return dag.has_pipeline(project)

    def submit_pipeline(self, compiled: Compiled, *, dry_run: bool) -> None:
        submit.submit_dag(compiled, dry_run=dry_run)

    def follow(
        self, compiled: Compiled, where: Locator, jobs: list[Job], *, submission: int | None, live: bool
    ) -> Following:
        return follow.follow(compiled, where, jobs, submission=submission, schedd=self.schedd if live else None)

    def outputs(self, compiled: Compiled, job: Job, name: str, *, submission: int | None) -> Landing | None:
        return follow.outputs(compiled, job, name, submission=submission)

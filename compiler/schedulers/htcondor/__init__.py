"""HTCondor: .sub and wrapper scripts (render.py), submitting through htcondor2 (submit.py), and what
came back (jobfiles.py, joblog.py, diagnose.py)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from . import dag, render, submit


class HTCondor:
    name = "htcondor"

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

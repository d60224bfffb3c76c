"""HTCondor: .sub and wrapper scripts (render.py), submitting through htcondor2 (submit.py), and what
came back (jobfiles.py, joblog.py, diagnose.py)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from . import render, submit


class HTCondor:
    name = "htcondor"

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        return render.render(project, layout)

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        submit.dry_run(compiled, jobs)

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        submit.submit(compiled, jobs)

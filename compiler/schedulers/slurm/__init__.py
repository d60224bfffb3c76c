"""Slurm: sbatch scripts and array tables (render.py), sbatch itself (submit.py), and what happened
(follow.py, from the tasks' records, records.py, and accounting.py's sacct and scontrol)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from ..base import Following, Landing
from ..findings import Locator
from . import follow, pipeline, render, submit


class Slurm:
    name = "slurm"

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        return render.render(project, layout)

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        for job in jobs:
            submit.dry_run(compiled.root / compiled.layout.build_dir, job, compiled.layout)

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        for job in jobs:
            submit.submit(compiled.root / compiled.layout.build_dir, job, compiled.layout)

    def has_pipeline(self, project: Project) -> bool:
        return pipeline.has_pipeline(project)

    def submit_pipeline(self, compiled: Compiled, *, dry_run: bool) -> None:
        if dry_run:
            pipeline.dry_run(compiled.project)
        else:
            pipeline.submit(
                compiled.project, compiled.root / compiled.layout.build_dir, submit._sbatch, compiled.layout
            )

    def follow(
        self, compiled: Compiled, where: Locator, jobs: list[Job], *, submission: int | None, live: bool
    ) -> Following:
        return follow.follow(compiled, where, jobs, submission=submission, live=live)

    def outputs(self, compiled: Compiled, job: Job, name: str, *, submission: int | None) -> Landing | None:
        return follow.outputs(compiled, job, name, submission=submission)

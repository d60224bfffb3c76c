"""Slurm: sbatch scripts and array tables (render.py), and sbatch itself (submit.py)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from . import pipeline, render, submit


class Slurm:
    name = "slurm"

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        return render.render(project, layout)

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        for job in jobs:
            submit.dry_run(compiled.root / compiled.layout.build_dir, job)

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        for job in jobs:
            submit.submit(compiled.root / compiled.layout.build_dir, job)

    def has_pipeline(self, project: Project) -> bool:
        return pipeline.has_pipeline(project)

    def submit_pipeline(self, compiled: Compiled, *, dry_run: bool) -> None:
        if dry_run:
            pipeline.dry_run(compiled.project)
        else:
            pipeline.submit(compiled.project, compiled.root / compiled.layout.build_dir, submit._sbatch)

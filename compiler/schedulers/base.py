"""The one interface every scheduler provides. Commands (`submit`, `status`, `results`, `explain`) go
through it and never ask which scheduler a job has; the registry is schedulers/__init__.py."""

from __future__ import annotations

from typing import Protocol

from ..artifacts.base import Artifact, Compiled, Layout
from ..spec.model import Job, Project


class Scheduler(Protocol):
    name: str  # the spec's `scheduler:` value

    def render(self, project: Project, layout: Layout) -> list[Artifact]:
        """The job files of every job on this scheduler (nothing written)."""
        ...

    def dry_run(self, compiled: Compiled, jobs: list[Job]) -> None:
        """Print one line per process that would be queued, and the scheduler's own check where it has one."""
        ...

    def submit(self, compiled: Compiled, jobs: list[Job]) -> None:
        """Queue the jobs as the build directory has them (the caller has refused a stale build)."""
        ...

    def has_pipeline(self, project: Project) -> bool:
        """Whether the project's jobs on this scheduler form a pipeline (#24): edges, retries, limits."""
        ...

    def submit_pipeline(self, compiled: Compiled, *, dry_run: bool) -> None:
        """Submit every job on this scheduler as one pipeline, in order (or say how, for a dry run)."""
        ...

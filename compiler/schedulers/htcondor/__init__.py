"""HTCondor: .sub and wrapper scripts (render.py), submitting through htcondor2 (submit.py), and what
came back (follow.py, reading jobfiles.py, joblog.py, clusters.py, diagnose.py)."""

from __future__ import annotations

from ...artifacts.base import Artifact, Compiled, Layout
from ...spec.model import Job, Project
from ..base import Following, Landing
from ..findings import Locator
from . import dag, follow, render, submit
from .clusters import ScheddQuery, query_schedd
from .matching import collector_slots
from .preflight import STATUS_TIMEOUT, IdleExplainer, IdleWhy, Slots


class HTCondor:
    name = "htcondor"

    def __init__(self, schedd: ScheddQuery = query_schedd, slots: Slots | None = None) -> None:
        self.schedd = schedd  # the queue's ads for some clusters, or None when no schedd answers
        self.slots = slots or (lambda: collector_slots(STATUS_TIMEOUT))  # the pool's slot ads (explain_idle)

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

    def explain_idle(self, compiled: Compiled, where: Locator, job: Job, memo: dict[str, object]) -> IdleWhy:
        """For `status`, a job with idle processes: how many slots match and the finding at the clause
        that excludes them all (preflight's check), or why no pool answered. `memo` lives as long as
        one status command: the collector is asked once in it."""
        explainer = memo.setdefault(self.name, IdleExplainer(self.slots))
        assert isinstance(explainer, IdleExplainer)
        return explainer.explain(compiled, where, job)

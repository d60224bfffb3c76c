"""The artifact families, in one explicit registry. A new family is one module and one line here.

Each family is a function `render(project, layout) -> list[Artifact]` that decides what to write;
its templates under compiler/templates/ hold the text.
"""

from __future__ import annotations

from collections.abc import Callable

from . import container, htcondor, payload, pixi, slurm, workflow
from .base import Artifact, Layout
from ..model import Project

Family = Callable[[Project, Layout], list[Artifact]]

FAMILIES: dict[str, Family] = {
    "container": container.render,
    "htcondor": htcondor.render,
    "payload": payload.render,
    "pixi": pixi.render,
    "slurm": slurm.render,
    "workflow": workflow.render,
}


def render_all(project: Project, layout: Layout) -> list[Artifact]:
    """Every artifact, sorted by path; two families claiming one path is a bug, not a spec error."""
    artifacts: dict[str, Artifact] = {}
    for name in sorted(FAMILIES):
        for artifact in FAMILIES[name](project, layout):
            key = str(artifact.path)
            if key in artifacts:
                raise RuntimeError(f"artifact family {name!r} writes {key}, which another family wrote")
            artifacts[key] = artifact
    return [artifacts[key] for key in sorted(artifacts)]

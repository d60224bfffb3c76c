"""The artifact families that do not depend on a scheduler, in one explicit registry. A new family is
one module and one line here; the job files are the schedulers' (compiler/schedulers/).

Each family is a function `render(project, layout) -> list[Artifact]` that decides what to write;
its templates under compiler/templates/ hold the text.
"""

from __future__ import annotations

from collections.abc import Callable

from ..spec.model import Project
from . import container, payload, pixi, workflow
from .base import Artifact, Layout

Family = Callable[[Project, Layout], list[Artifact]]

FAMILIES: dict[str, Family] = {
    "container": container.render,
    "payload": payload.render,
    "pixi": pixi.render,
    "workflow": workflow.render,
}

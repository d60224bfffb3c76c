"""build/pixi.toml: the pixi workspace, one feature and environment per spec environment, plus pack."""

from __future__ import annotations

from compiler.artifacts.base import Artifact, Layout, header
from compiler.model import Project
from compiler.templating import render as render_template


def render(project: Project, layout: Layout) -> list[Artifact]:
    text = render_template("pixi.toml.j2", project=project, header=header(project))
    return [Artifact(path=layout.build("pixi.toml"), text=text)]

"""build/pixi.toml: the pixi workspace, one feature and environment per spec environment, plus pack;
and build/lock.sh, which locks it with the CUDA override the spec implies."""

from __future__ import annotations

from ..core.defaults import PIXI_PACK_BELOW, PIXI_PACK_MIN, REQUIRES_PIXI
from ..core.templating import render as render_template
from ..spec.model import Project
from .base import Artifact, Layout, header


def render(project: Project, layout: Layout) -> list[Artifact]:
    if not project.environments:
        return []  # jobs in images of their own: no workspace to lock
    return [
        Artifact(
            path=layout.build("pixi.toml"),
            text=render_template(
                "pixi.toml.j2",
                project=project,
                header=header(project),
                build_dir=layout.build_dir,
                requires_pixi=REQUIRES_PIXI,
                pixi_pack=f">={PIXI_PACK_MIN},<{PIXI_PACK_BELOW}",
            ),
        ),
        Artifact(
            path=layout.build("lock.sh"),
            executable=True,
            text=render_template("lock.sh.j2", cuda=project.lock_cuda, header=header(project)),
        ),
    ]

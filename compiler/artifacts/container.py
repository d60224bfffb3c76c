"""build/Dockerfile, build/Dockerfile.dockerignore and build/apptainer.def: one environment baked into
an image with the project's code.

The build context is the project root, so the image can carry the user's code where it lives;
BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile, which admits exactly what is copied
(and leaves a .dockerignore of the user's own alone).
"""

from __future__ import annotations

from ..core.templating import render as render_template
from ..spec.model import Project
from .base import Artifact, Layout, header


def code(project: Project, layout: Layout) -> list[tuple[str, str]]:
    """(path in the project, path in the image): each source entry under /app by its own name, as
    it lands in a job's sandbox."""
    return [(path, f"/app/{path.rsplit('/', 1)[-1]}") for path in project.source_paths(layout.build_dir)]


def image_labels(project: Project) -> list[tuple[str, str]]:
    """OCI labels without timestamps or the spec's hash (the image tag digests the image's content,
    which an edit to a job does not change). CI's docker/metadata-action adds the real source repository."""
    owner_and_name = project.container.image.removeprefix("ghcr.io/")
    return [
        ("org.opencontainers.image.title", project.name),
        ("org.opencontainers.image.description", project.description or project.name),
        ("org.opencontainers.image.source", f"https://github.com/{owner_and_name}"),
    ]


def render(project: Project, layout: Layout) -> list[Artifact]:
    if not project.environments:
        return []  # no environment to bake: the jobs name images of their own
    files = code(project, layout)
    context = {
        "header": header(project),
        "base": project.container.pixi_image,
        "environment": project.environment(project.container.environment),
        "labels": image_labels(project),
        "build_dir": layout.build_dir,
        "code": files,
        "context_files": [str(layout.build("pixi.toml")), str(layout.build("pixi.lock")), *(path for path, _ in files)],
    }
    artifacts = [
        Artifact(path=layout.build("Dockerfile"), text=render_template("Dockerfile.j2", **context)),
        Artifact(path=layout.build("Dockerfile.dockerignore"), text=render_template("dockerignore.j2", **context)),
    ]
    if project.container.apptainer:
        artifacts.append(
            Artifact(path=layout.build("apptainer.def"), text=render_template("apptainer.def.j2", **context))
        )
    return artifacts

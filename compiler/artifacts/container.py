"""build/Dockerfile, build/.dockerignore and build/apptainer.def: one environment baked into an image."""

from __future__ import annotations

from compiler.artifacts.base import Artifact, Layout, header
from compiler.model import Project
from compiler.templating import render as render_template

# What the image is built from, relative to the build directory; .dockerignore admits these only.
BUILD_CONTEXT = ("pixi.toml", "pixi.lock", "src/")


def image_labels(project: Project) -> list[tuple[str, str]]:
    """OCI labels without timestamps. CI's docker/metadata-action adds the real source repository."""
    owner_and_name = project.container.image.removeprefix("ghcr.io/")
    return [
        ("org.opencontainers.image.title", project.name),
        ("org.opencontainers.image.description", project.description or project.name),
        ("org.opencontainers.image.source", f"https://github.com/{owner_and_name}"),
        ("io.github.pixi-htc.spec-sha256", project.spec_sha256),
    ]


def render(project: Project, layout: Layout) -> list[Artifact]:
    context = {
        "header": header(project),
        "base": project.container.pixi_image,
        "environment": project.environment(project.container.environment),
        "labels": image_labels(project),
        "context_files": BUILD_CONTEXT,
    }
    artifacts = [
        Artifact(path=layout.build("Dockerfile"), text=render_template("Dockerfile.j2", **context)),
        Artifact(path=layout.build(".dockerignore"), text=render_template("dockerignore.j2", **context)),
    ]
    if project.container.apptainer:
        artifacts.append(Artifact(path=layout.build("apptainer.def"), text=render_template("apptainer.def.j2", **context)))
    return artifacts

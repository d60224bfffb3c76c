"""The image's default tag: derived from the content the image is built from.

HTCondor execute points cache images by tag, and OSDF caches .sif files by name, so a tag that CI
moves on every push is silently not pulled again. Unless the spec names a tag, the image is tagged
with a digest of what it is built from: the Dockerfile, the workspace (pixi.toml), the lock file
when there is one, and the code it carries. Jobs name that tag, CI pushes it, and `check` fails
when the lock or the code changed and the generated files have not followed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .artifacts import container, payload, pixi
from .artifacts.base import MARKER, Artifact, Layout
from .model import Project

DIGEST_LENGTH = 12


def _files(root: Path, path: str) -> Iterator[tuple[str, Path]]:
    """(project-relative POSIX path, file) under one source entry, sorted; symbolic links are not followed."""
    start = root / path
    if start.is_file() and not start.is_symlink():
        yield path, start
        return
    for directory, folders, names in os.walk(start):
        folders.sort()
        for name in sorted(names):
            file = Path(directory, name)
            if file.is_file() and not file.is_symlink():
                yield file.relative_to(root).as_posix(), file


def content_digest(project: Project, layout: Layout, root: Path) -> str:
    digest = hashlib.sha256()

    def add(name: str, data: bytes) -> None:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)

    def add_generated(artifact: Artifact) -> None:
        """Without the header, which names the spec's hash: editing a job changes no image."""
        body = "".join(line for line in artifact.text.splitlines(keepends=True)
                       if MARKER not in line and "Do not edit:" not in line)
        add(str(artifact.path), body.encode())

    for artifact in (*container.render(project, layout), *pixi.render(project, layout)):
        if artifact.path.name in ("Dockerfile", "pixi.toml"):
            add_generated(artifact)
    lock = root / layout.build("pixi.lock")
    if lock.is_file():
        add(str(layout.build("pixi.lock")), lock.read_bytes())
    if project.source is None:  # the bundled trainer: hashed as the payload family writes it
        for artifact in payload.render(project, layout):
            add_generated(artifact)
    for path in project.source or ():
        for name, file in _files(root, path):
            add(name, file.read_bytes())
    return digest.hexdigest()[:DIGEST_LENGTH]


def with_content_tag(project: Project, layout: Layout, root: Path) -> Project:
    """The project with its image tag resolved: the spec's own, or `<environment>-<digest>`."""
    if project.container.tag is not None or not project.environments:
        return project
    tag = f"{project.container.environment}-{content_digest(project, layout, root)}"
    return dataclasses.replace(project, container=dataclasses.replace(project.container, tag=tag))

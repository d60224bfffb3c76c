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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..artifacts.base import MARKER, Artifact, Layout
from ..spec.model import Project
from .files import source_files

DIGEST_LENGTH = 12


class _Digest:
    """sha256 over named parts; generated files without their header, which names the spec's hash
    (editing a job changes no image and no archive)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, name: str, data: bytes) -> None:
        self._hash.update(f"{name}\0{len(data)}\0".encode())
        self._hash.update(data)

    def add_generated(self, artifact: Artifact) -> None:
        body = "".join(
            line
            for line in artifact.text.splitlines(keepends=True)
            if MARKER not in line and "Do not edit:" not in line
        )
        self.add(str(artifact.path), body.encode())

    def add_lock(self, root: Path, layout: Layout) -> None:
        lock = root / layout.build("pixi.lock")
        if lock.is_file():
            self.add(str(layout.build("pixi.lock")), lock.read_bytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()[:DIGEST_LENGTH]


@dataclass(frozen=True)
class NameInputs:
    """The generated files the names are derived from, rendered before any name is known (none of them
    names one): the pipeline renders them, this module only hashes them, once."""

    image: list[Artifact]  # the Dockerfile and pixi.toml
    workspace: list[Artifact]  # pixi.toml
    code: list[Artifact]  # the bundled trainer as the payload family writes it; empty with a `source`


def content_digest(project: Project, inputs: NameInputs, layout: Layout, root: Path) -> str:
    """What the image is built from: the Dockerfile, pixi.toml, the lock and the code."""
    digest = _Digest()
    for artifact in inputs.image:
        digest.add_generated(artifact)
    digest.add_lock(root, layout)
    for artifact in inputs.code:
        digest.add_generated(artifact)
    for path in project.source or ():
        for name, file in source_files(root, path):
            digest.add(name, file.read_bytes())
    return digest.hexdigest()


def pack_digest(project: Project, inputs: NameInputs, layout: Layout, root: Path) -> str:
    """What the pixi-pack archive is made from: pixi.toml, the lock, the environment and platform packed."""
    digest = _Digest()
    for artifact in inputs.workspace:
        digest.add_generated(artifact)
    digest.add_lock(root, layout)
    digest.add("pack", f"{project.pack.environment}\0{project.pack.platform}".encode())
    return digest.hexdigest()


def with_content_tag(project: Project, inputs: NameInputs, layout: Layout, root: Path) -> Project:
    """The project with its content-derived names resolved from the files the image and the archive
    are made from (`inputs`, rendered before any name is known: none of them names one), hashed here once."""
    return named(
        project,
        image_digest=lambda: content_digest(project, inputs, layout, root),
        archive_digest=lambda: pack_digest(project, inputs, layout, root),
    )


def named(project: Project, *, image_digest: Callable[[], str], archive_digest: Callable[[], str]) -> Project:
    """The content-derived names laid into the project: the image tag (the spec's own, or
    `<environment>-<digest>`) and the pixi-pack archive jobs transfer (the spec's own; with staging,
    `environment-<digest>.sh` there; else the environment.sh pack.sh writes in the build directory).
    Each digest is asked for only when its name is needed (validate's plan passes placeholders)."""
    if not project.environments:
        return project
    container_ = project.container
    if container_.tag is None:
        container_ = dataclasses.replace(container_, tag=f"{container_.environment}-{image_digest()}", tag_derived=True)
    pack = project.pack
    if pack.archive is None and project.staging is not None and project.staging.url is not None:
        staged = f"environment-{archive_digest()}.sh"
        pack = dataclasses.replace(pack, archive=project.staging.file(staged), staged_name=staged)
    elif pack.archive is None:
        pack = dataclasses.replace(pack, archive=pack.built)
    return dataclasses.replace(project, container=container_, pack=pack)

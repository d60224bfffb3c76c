"""load -> validate -> model -> render: the whole compiler, reading top to bottom."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from compiler.artifacts import render_all
from compiler.artifacts.base import Artifact, Layout
from compiler.loader import load_spec
from compiler.model import Project
from compiler.validate import validate
from compiler.writer import manifest_artifact


@dataclass(frozen=True)
class Compiled:
    project: Project
    root: Path
    layout: Layout
    artifacts: list[Artifact]  # the manifest last


def spec_display_path(spec: Path, root: Path) -> str:
    """The spec's path as headers and messages show it: relative to the project root, POSIX-style,
    so the output does not depend on the working directory or the machine."""
    spec, root = spec.resolve(), root.resolve()
    try:
        return spec.relative_to(root).as_posix()
    except ValueError:
        return os.path.relpath(spec, root).replace(os.sep, "/") if spec.anchor == root.anchor else spec.name


def load_project(spec: Path, root: Path) -> Project:
    return validate(load_spec(spec, spec_display_path(spec, root)))


def compile_spec(spec: Path, out_dir: Path) -> Compiled:
    """Render everything in memory; nothing touches the disk here."""
    root = out_dir.resolve().parent
    layout = Layout(build_dir=out_dir.resolve().name)
    project = load_project(spec, root)
    artifacts = render_all(project, layout)
    manifest = manifest_artifact(artifacts, layout, project.spec_path, project.spec_sha256)
    return Compiled(project=project, root=root, layout=layout, artifacts=[*artifacts, manifest])

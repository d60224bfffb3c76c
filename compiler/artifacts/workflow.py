""".github/workflows/<name>: check build/, verify the lock, build and push the image (and the .sif).

Written where GitHub reads it, beside the build directory, and owned through the same manifest.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from compiler.artifacts.base import Artifact, Layout, header
from compiler.model import Project
from compiler.templating import render as render_template

# Pinned by commit (zizmor's unpinned-uses); the comment names the release.
ACTIONS = {
    "checkout": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
    "setup-python": "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0",
    "setup-pixi": "prefix-dev/setup-pixi@f00437f565399d418b0acc85936d12c1fb668347  # v0.10.1",
    "metadata": "docker/metadata-action@c299e40c65443455700f0fdfc63efafe5b349051  # v5.10.0",
    "setup-buildx": "docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435  # v3.11.1",
    "login": "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772  # v3.4.0",
    "build-push": "docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83  # v6.18.0",
    "setup-apptainer": "eWaterCycle/setup-apptainer@58d788a297b0acdec33b8979428afa78679aa711  # v2",
}


def trigger_paths(project: Project, layout: Layout, workflow: PurePosixPath) -> list[str]:
    """Everything the image or the generated files are made from."""
    spec_dir = project.spec_path.rsplit("/", 1)[0] if "/" in project.spec_path else project.spec_path
    return sorted({f"{layout.build_dir}/**", f"{spec_dir}/**" if "/" in project.spec_path else spec_dir,
                   "compiler/**", "schema/**", "pyproject.toml", "Makefile", str(workflow)})


def render(project: Project, layout: Layout) -> list[Artifact]:
    path = PurePosixPath(".github", "workflows", project.ci.workflow)
    text = render_template(
        "workflow.yml.j2",
        header=header(project),
        project=project,
        actions=ACTIONS,
        build_dir=layout.build_dir,
        paths=trigger_paths(project, layout, path),
    )
    return [Artifact(path=path, text=text)]

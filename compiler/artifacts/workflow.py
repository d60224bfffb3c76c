""".github/workflows/<name>: check build/, verify the lock, build and push the image (and the .sif).

Written where GitHub reads it, beside the build directory, and owned through the same manifest.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..core.defaults import ACTIONS, APPTAINER_DEB_SHA256, APPTAINER_VERSION, CI_PYTHON
from ..core.templating import render as render_template
from ..spec.model import Project
from .base import Artifact, Layout, header

# Preinstalled toolchains the image jobs never use. Removing them frees several GB each on a
# GitHub-hosted runner, room that a CUDA environment (pytorch-gpu and its CUDA libraries, installed
# in the build stage, copied into the final one, then compressed into the image) needs.
FREE_DISK_PATHS = (
    "/usr/share/dotnet",
    "/usr/local/lib/android",
    "/opt/ghc",
    "/usr/local/.ghcup",
    "/opt/hostedtoolcache/CodeQL",
)


def trigger_paths(project: Project, layout: Layout, workflow: PurePosixPath) -> list[str]:
    """Everything the image or the generated files are made from: the spec's folder, the build
    directory, the code (a file or a folder: both patterns), and pixi-htc itself where CI installs
    it from this repository."""
    spec_dir = project.spec_path.rsplit("/", 1)[0] + "/**" if "/" in project.spec_path else project.spec_path
    code = [pattern for path in project.source or () for pattern in (path, f"{path}/**")]
    own = ["compiler/**", "schema/**", "pyproject.toml"] if project.ci.checks_this_repository else []
    return sorted({f"{layout.build_dir}/**", spec_dir, str(workflow), *code, *own})


def render(project: Project, layout: Layout) -> list[Artifact]:
    path = PurePosixPath(".github", "workflows", project.ci.workflow)
    text = render_template(
        "workflow.yml.j2",
        header=header(project),
        project=project,
        actions=ACTIONS,
        apptainer_version=APPTAINER_VERSION,
        apptainer_sha256=APPTAINER_DEB_SHA256,
        ci_python=CI_PYTHON,
        free_disk_paths=FREE_DISK_PATHS,
        build_dir=layout.build_dir,
        install=project.ci.pixi_htc,
        # Only a spec whose jobs run its image has CI build it (a workspace just moved in has none).
        builds_image=project.runs_project_image,
        paths=trigger_paths(project, layout, path),
    )
    return [Artifact(path=path, text=text)]

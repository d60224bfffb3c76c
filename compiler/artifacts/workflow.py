""".github/workflows/<name>: check build/, verify the lock, build and push the image (and the .sif).

Written where GitHub reads it, beside the build directory, and owned through the same manifest.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..core.templating import render as render_template
from ..spec.model import Project
from .base import Artifact, Layout, header

# Pinned by commit (zizmor's unpinned-uses); the comment names the release. Each SHA was checked
# against its tag in the action's repository (REFERENCE.md, "2026 corrections"); the node20 majors
# of actions/* and docker/* are left behind. setup-pixi v0.9.6 is that repository's newest tag (Dec
# 2026 fetch; it runs on node24). tests/test_ci_pins.py holds these to that verified list.
ACTIONS = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1",
    "setup-python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97  # v7.0.0",
    "setup-pixi": "prefix-dev/setup-pixi@5185adfbffb4bd703da3010310260805d89ebb11  # v0.9.6",
    "metadata": "docker/metadata-action@dc802804100637a589fabce1cb79ff13a1411302  # v6.2.0",
    "setup-buildx": "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e  # v4.3.0",
    "login": "docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121  # v4.1.0",
    "build-push": "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a  # v7.3.0",
}

# Apptainer is installed from its release .deb, as eWaterCycle/setup-apptainer did: that action's
# newest tag (v2.0.0, and v2 = 3ef0313...) declares `runs.using: node20`, a runtime GitHub removes from
# its runners. The .deb is the one Apptainer's release workflow attaches (.github/workflows/release.yml,
# "Make standard deb packages"); it carries the AppArmor profile Ubuntu 24.04 needs for unprivileged
# builds (INSTALL.md, "Apparmor Profile"). v1.5.3 (2026-07-21, CHANGELOG.md; tag object 12054fb7,
# commit 6a76317a) is the newest tag, of 1.5.x and of all; 1.3.3 failed unprivileged on Ubuntu 24.04,
# and `apptainer registry login --password-stdin` needs >= 1.3.0.
APPTAINER_VERSION = "1.5.3"
# The release publishes no checksum file, signature or attestation (release.yml attaches the .deb
# with softprops/action-gh-release and nothing else), so the workflow checks the bytes against this
# pin before installing: a replaced asset, or a new version without a new pin, fails the step. The
# value is the SHA-256 two independent public records give for v1.5.3's apptainer_1.5.3_amd64.deb
# (32,818,944 bytes), one of them checked against the digest GitHub's release API lists for the
# asset. The signed PPA (ppa:apptainer/ppa, built by ubuntu-ppa-release.yml) was the alternative: its
# key comes from Launchpad on first use, and a PPA keeps only its newest build, so a pinned
# `apptainer=1.5.3-1~noble` stops installing at the next release.
APPTAINER_DEB_SHA256 = "82b0bdddf459087d202383360b8318d526ad6826c748a2f669913cc6aef9ee40"

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
        free_disk_paths=FREE_DISK_PATHS,
        build_dir=layout.build_dir,
        install=project.ci.pixi_htc,
        # A workspace with no job yet (one just moved in) has nothing that runs an image: CI checks
        # build/ and the lock, and builds the image once a job is added (the spec's rules then hold
        # its environment to what the image can install).
        builds_image=bool(project.jobs),
        paths=trigger_paths(project, layout, path),
    )
    return [Artifact(path=path, text=text)]

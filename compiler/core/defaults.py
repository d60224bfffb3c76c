"""One home for the defaults and pins that more than one place needs.

The model's dataclass fields, the CLI's option defaults, the rules and the templates (through their
render context) read these; the schema's `default`s repeat some of them for editors and readers, and
the bundled trainer (payload/torch_MNIST.py, which runs in the job's own environment and imports
nothing of pixi-htc) keeps its own copy of two. tests/test_defaults.py holds all of them equal and
checks that no other module spells these values. The version pins are digits and dots only, so a
template may write them inside its own quoting.
"""

from __future__ import annotations

# Paths of a project, relative to its root.
SPEC_PATH = "specs/project.yaml"  # the spec the commands read (their SPEC argument's default)
BUILD_DIR = "build"  # the build directory the commands write and read (`--out`'s default)

# The bundled trainer's conventions.
CHECKPOINT_EXIT_CODE = 85  # "checkpointed, restart me": the trainer's exit code, checkpoint.exit_code's default
METRICS_FILE = "metrics.jsonl"  # one JSON line per epoch in a job's output directory (`--metrics-file`)

# pixi. REFERENCE.md: the latest pixi is v0.77.0; its image tags are `<version>-<base>`, e.g. 0.77.0-noble.
PIXI_VERSION = "0.77.0"  # the pixi the generated files are written for
PIXI_IMAGE = f"ghcr.io/prefix-dev/pixi:{PIXI_VERSION}-noble"  # container.pixi_image's default
CI_PIXI_VERSION = f"v{PIXI_VERSION}"  # ci.pixi_version's default: setup-pixi's pixi-version
# Platform entries with virtual packages need pixi >= 0.71 (REFERENCE.md, "pixi since 0.71"):
# build/pixi.toml's requires-pixi floor when it writes such entries.
REQUIRES_PIXI = "0.71"
# pixi-pack reads lock file v7 from 0.7.7 (REFERENCE.md: pin `>=0.7.7,<0.8`): the pack feature's floor.
PIXI_PACK_MIN = "0.7.7"
PIXI_PACK_BELOW = "0.8"  # and its ceiling (the same pin)

# CI (the generated .github/workflows/ file).
CI_PYTHON = "3.12"  # the Python that CI's `pixi-htc check` job runs on (actions/setup-python)
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

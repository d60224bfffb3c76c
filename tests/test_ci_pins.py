"""What the generated CI and the root pixi.toml depend on, held to facts checked upstream.

The lists below are transcribed from ../shared/REFERENCE.md ("2026 corrections"), not from the
compiler: a careless edit of an action pin, of the Apptainer version, or of the root workspace's
platforms fails here. Change them only after checking the action's repository or conda-forge again.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pixi_htc.artifacts.base import Layout
from pixi_htc.pipeline.compile import render_all
from tests.conftest import DEFAULT_SPEC, REPO, load_project
from tests.test_pixi import pixi_schema_errors

WORKFLOW_PATH = ".github/workflows/pixi-htc.yml"

# action -> (commit, tag), each verified against the action's repository (REFERENCE.md).
VERIFIED_ACTIONS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "docker/metadata-action": ("dc802804100637a589fabce1cb79ff13a1411302", "v6.2.0"),
    "docker/setup-buildx-action": ("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "docker/login-action": ("4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    "docker/build-push-action": ("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
    "prefix-dev/setup-pixi": ("5185adfbffb4bd703da3010310260805d89ebb11", "v0.9.6"),
}
# Known bad: setup-apptainer's v1 (Apptainer 1.0.3, no `apptainer registry`), once pinned as "v2";
# and its v2 / v2.0.0, whose action.yml says `using: 'node20'` (checked in a fetch of the repository,
# Dec 2026), a Node version GitHub removes from its runners: Apptainer comes from its release .deb.
REJECTED_COMMITS = {
    "58d788a297b0acdec33b8979428afa78679aa711",
    "3ef0313712e4b523c4c04205ee726f16b3437da5",
    "4bb22c52d4f63406c49e94c804632975787312b3",
}

# 1.3.3 fails unprivileged on Ubuntu 24.04; v1.5.3 is Apptainer's newest release tag (CHANGELOG.md,
# 2026-07-21, in a fetch of apptainer/apptainer).
MIN_APPTAINER = (1, 5, 3)
# The .deb's bytes, pinned: Apptainer's release attaches no checksums or signatures (release.yml), so
# this is the SHA-256 that two independent public records give for v1.5.3's apptainer_1.5.3_amd64.deb,
# one checked against the digest GitHub's release API lists for the asset (found with the search tool;
# the other record names v1.5.3's tag object 12054fb7 and commit 6a76317a, as the fetched repository has
# them). A new APPTAINER_VERSION needs a new pin here, checked the same way.
VERIFIED_APPTAINER_DEBS = {"1.5.3": "82b0bdddf459087d202383360b8318d526ad6826c748a2f669913cc6aef9ee40"}

USES = re.compile(r"^\s*(?:- )?uses: (?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})  # (?P<tag>v[\w.]+)$")


def workflow_text(spec_text: str | None = None, tmp_path: Path | None = None) -> str:
    spec = DEFAULT_SPEC
    if spec_text is not None:
        assert tmp_path is not None
        spec = tmp_path / "project.yaml"
        spec.write_text(spec_text)
    project = load_project(spec)
    return {str(a.path): a.text for a in render_all(project, Layout())}[WORKFLOW_PATH]


CPU_NO_APPTAINER = (
    "schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu, apptainer: false}\n"
)


def uses_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\s*(- )?uses:", line)]


@pytest.mark.parametrize("variant", ["default", "cpu-no-apptainer", "committed"])
def test_every_uses_line_is_a_verified_pin(variant: str, tmp_path: Path) -> None:
    if variant == "committed":
        path = REPO / WORKFLOW_PATH
        if not path.is_file():
            pytest.skip("no committed workflow")
        text = path.read_text()
    else:
        text = workflow_text(CPU_NO_APPTAINER if variant == "cpu-no-apptainer" else None, tmp_path)
    lines = uses_lines(text)
    assert lines, "the workflow uses no action"
    for line in lines:
        match = USES.match(line)
        assert match, f"not `owner/name@<40 hex>  # vX.Y.Z`: {line.strip()}"
        assert match["sha"] not in REJECTED_COMMITS, line
        assert match["action"] in VERIFIED_ACTIONS, f"{match['action']} has no verified pin: {line.strip()}"
        assert (match["sha"], match["tag"]) == VERIFIED_ACTIONS[match["action"]], line.strip()


def test_default_workflow_uses_every_verified_action() -> None:
    used = {USES.match(line)["action"] for line in uses_lines(workflow_text())}  # type: ignore[index]
    assert used == set(VERIFIED_ACTIONS)


def _steps(job: str) -> list[dict[str, Any]]:
    workflow: dict[str, Any] = YAML(typ="safe").load(workflow_text())
    return workflow["jobs"][job]["steps"]


def _index(steps: list[dict[str, Any]], predicate: Any) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(found) == 1, found
    return found[0]


def _version(text: str) -> tuple[int, ...]:
    assert re.fullmatch(r"\d+(\.\d+){1,2}", text), text
    return tuple(int(part) for part in text.split("."))


def test_setup_apptainer_gets_a_version_that_builds_unprivileged_on_ubuntu_24_04() -> None:
    steps = _steps("apptainer")
    assert not any(s.get("uses", "").startswith("eWaterCycle/setup-apptainer@") for s in steps), "node20"
    setup = steps[_index(steps, lambda s: "apptainer.deb" in str(s.get("run", "")))]
    version = str(setup["env"]["APPTAINER_VERSION"])
    assert _version(version) >= MIN_APPTAINER, version
    url = (
        "https://github.com/apptainer/apptainer/releases/download/v${APPTAINER_VERSION}/"
        "apptainer_${APPTAINER_VERSION}_amd64.deb"
    )
    assert url in setup["run"] and "sudo apt-get install --yes /tmp/apptainer.deb" in setup["run"]
    assert "--fail" in setup["run"], "a missing release must fail the step, not install an error page"
    build = _index(steps, lambda s: "apptainer build image.sif" in str(s.get("run", "")))
    assert steps.index(setup) < build


def _install_step() -> dict[str, Any]:
    steps = _steps("apptainer")
    return steps[_index(steps, lambda s: "apptainer.deb" in str(s.get("run", "")))]


def test_the_apptainer_deb_is_the_pinned_one() -> None:
    setup = _install_step()
    version, digest = str(setup["env"]["APPTAINER_VERSION"]), str(setup["env"]["APPTAINER_DEB_SHA256"])
    assert VERIFIED_APPTAINER_DEBS.get(version) == digest, (version, digest)
    lines = [line.strip() for line in setup["run"].splitlines()]
    check = lines.index('echo "${APPTAINER_DEB_SHA256}  /tmp/apptainer.deb" | sha256sum --check --strict -')
    install = lines.index("sudo apt-get install --yes /tmp/apptainer.deb")
    assert check < install and "--proto '=https'" in setup["run"]


def _run_install(tmp_path: Path, payload: bytes, digest: str | None = None) -> tuple[int, list[str]]:
    """The step's script in a sandbox: curl, sudo and apptainer are stand-ins on PATH (curl writes
    `payload`, sudo records what it was asked, apptainer says the pinned version)."""
    import hashlib
    import os
    import stat
    import subprocess

    setup = _install_step()
    bin_dir, deb, calls = tmp_path / "bin", tmp_path / "apptainer.deb", tmp_path / "sudo.calls"
    bin_dir.mkdir()
    (tmp_path / "payload").write_bytes(payload)
    stubs = {
        "curl": f'while [ "$1" != --output ]; do shift; done; cp {tmp_path}/payload "$2"\n',
        "sudo": f'echo "$*" >> {calls}\n',
        "apptainer": 'echo "apptainer version $APPTAINER_VERSION"\n',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(stat.S_IRWXU)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "APPTAINER_VERSION": str(setup["env"]["APPTAINER_VERSION"]),
        "APPTAINER_DEB_SHA256": digest or str(setup["env"]["APPTAINER_DEB_SHA256"]),
    }
    script = setup["run"].replace("/tmp/apptainer.deb", str(deb))
    done = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True, check=False)
    if digest is not None:
        assert hashlib.sha256(payload).hexdigest() == digest
    return done.returncode, calls.read_text().splitlines() if calls.exists() else []


def test_a_deb_that_is_not_the_pinned_one_is_never_installed(tmp_path: Path) -> None:
    """GitHub runs `run:` with bash -e: the checksum line fails the step before apt-get sees the file."""
    code, calls = _run_install(tmp_path, b"an error page, or someone else's package")
    assert code != 0 and calls == []


def test_the_pinned_bytes_are_installed_and_the_version_checked(tmp_path: Path) -> None:
    import hashlib

    payload = b"stand-in for the release .deb"
    code, calls = _run_install(tmp_path, payload, hashlib.sha256(payload).hexdigest())
    assert code == 0 and calls == [f"apt-get install --yes {tmp_path / 'apptainer.deb'}"]


def test_the_sif_is_tested_after_it_is_built_and_before_it_is_pushed() -> None:
    steps = _steps("apptainer")
    runs = [str(step.get("run", "")) for step in steps]
    build = _index(steps, lambda s: "apptainer build image.sif" in str(s.get("run", "")))
    test = _index(steps, lambda s: str(s.get("run", "")).strip() == "apptainer test image.sif")
    push = _index(steps, lambda s: "apptainer push image.sif" in str(s.get("run", "")))
    assert build < test < push, runs
    assert (
        "working-directory" not in steps[build]
        and steps[build]["run"] == "apptainer build image.sif build/apptainer.def"
    )


@pytest.mark.parametrize("job", ["image", "apptainer"])
def test_disk_is_freed_before_the_image_is_built(job: str) -> None:
    """A pytorch-gpu environment does not fit beside the runner's preinstalled toolchains."""
    steps = _steps(job)
    free = _index(steps, lambda s: "rm -rf" in str(s.get("run", "")))
    script = steps[free]["run"]
    for path in ("/usr/share/dotnet", "/usr/local/lib/android", "/opt/ghc", "/opt/hostedtoolcache/CodeQL"):
        assert re.search(rf"(^|\s){re.escape(path)}(\s|$)", script), path
    assert "docker system prune" in script
    build = _index(
        steps,
        lambda s: (
            "apptainer build" in str(s.get("run", "")) or s.get("uses", "").startswith("docker/build-push-action@")
        ),
    )
    assert free < build
    if job == "image":  # a prune after setup-buildx would race its builder
        setup = _index(steps, lambda s: s.get("uses", "").startswith("docker/setup-buildx-action@"))
        assert free < setup


# --- the root pixi.toml: every dependency exists on conda-forge for every platform listed -----

ALL = frozenset({"linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64"})
# Where conda-forge builds each root dependency (REFERENCE.md: htcondor has no win-64 build; the
# others are noarch or built for every common platform). A dependency missing here fails the test.
CONDA_FORGE_PLATFORMS: dict[str, frozenset[str]] = {
    "python": ALL,
    "pip": ALL,
    "setuptools": ALL,
    "ruamel.yaml": ALL,
    "jsonschema": ALL,
    "jinja2": ALL,
    "htcondor": frozenset({"linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64"}),
}


def selector_matches(selector: str, platform: str) -> bool:
    """pixi's target selectors: a platform, or linux / osx / win / unix."""
    family = platform.split("-")[0]
    return selector == platform or selector == family or (selector == "unix" and family in {"linux", "osx"})


def dependencies_for(manifest: dict[str, Any], platform: str) -> set[str]:
    names = set(manifest.get("dependencies", {}))
    for selector, target in manifest.get("target", {}).items():
        if selector_matches(selector, platform):
            names |= set(target.get("dependencies", {}))
    return names


def test_selector_matching() -> None:
    assert selector_matches("unix", "osx-arm64") and selector_matches("unix", "linux-aarch64")
    assert not selector_matches("unix", "win-64") and selector_matches("win", "win-64")
    assert selector_matches("linux-64", "linux-64") and not selector_matches("linux", "osx-64")


def test_root_workspace_solves_on_every_platform_it_lists() -> None:
    manifest = tomllib.loads((REPO / "pixi.toml").read_text())
    assert pixi_schema_errors(manifest) == []
    platforms = manifest["workspace"]["platforms"]
    assert platforms
    selectors = set(manifest.get("target", {}))
    assert selectors <= {"linux", "osx", "win", "unix", *ALL}, selectors
    for platform in platforms:
        for name in sorted(dependencies_for(manifest, platform)):
            assert name in CONDA_FORGE_PLATFORMS, f"{name}: say where conda-forge builds it"
            assert platform in CONDA_FORGE_PLATFORMS[name], f"conda-forge has no {name} for {platform}"
    # htcondor (`pixi-htc submit`) is still there wherever conda-forge has it.
    for platform in platforms:
        if platform in CONDA_FORGE_PLATFORMS["htcondor"]:
            assert "htcondor" in dependencies_for(manifest, platform), platform

"""build/pixi.toml and the root pixi.toml: pixi's own schema accepts them, and they say what the spec says."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from pixi_htc.artifacts import container
from pixi_htc.artifacts.base import Layout
from pixi_htc.artifacts.pixi import render
from pixi_htc.spec.loader import load_spec
from pixi_htc.spec.validate import validate
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC, REPO, load_project, pixi_manifest_schema, shellcheck


def pixi_schema_errors(manifest: dict[str, Any]) -> list[str]:
    schema = json.loads(pixi_manifest_schema().read_text())
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(schema).iter_errors(manifest)]


def rendered(spec: Path = DEFAULT_SPEC) -> dict[str, str]:
    project = validate(load_spec(spec, "specs/project.yaml"))
    return {str(artifact.path): artifact.text for artifact in render(project, Layout())}


def generated(spec: Path = DEFAULT_SPEC) -> dict[str, Any]:
    return tomllib.loads(rendered(spec)["build/pixi.toml"])


def test_generated_workspace_passes_pixi_schema() -> None:
    assert pixi_schema_errors(generated()) == []


def test_root_workspace_passes_pixi_schema() -> None:
    assert pixi_schema_errors(tomllib.loads((REPO / "pixi.toml").read_text())) == []


def test_generated_workspace_says_what_the_spec_says() -> None:
    spec = YAML(typ="safe").load(DEFAULT_SPEC.read_text())
    toml = generated()
    assert toml["workspace"]["channels"] == spec["workspace"]["channels"]
    # The spec's platforms first, as written; then the CUDA variants the gpu feature selects.
    assert toml["workspace"]["platforms"][:3] == spec["workspace"]["platforms"]
    assert toml["dependencies"] == spec["workspace"]["dependencies"]
    assert toml["feature"]["cpu"]["dependencies"] == spec["environments"]["cpu"]["dependencies"]
    gpu = toml["feature"]["gpu"]
    # Issue #12: no deprecated [system-requirements]; CUDA is declared on named platforms (where
    # CUDA exists: not on osx) that the gpu feature selects. Issue #11: the seed's shape. The gpu
    # environment keeps every workspace platform, and its CUDA packages stay where the spec put them
    # (target.linux-64), not copied onto each platform.
    assert "system-requirements" not in gpu and "system-requirements" not in toml
    assert gpu["platforms"] == ["linux-64-cuda-12", "osx-arm64", "win-64-cuda-12"]
    assert declared(toml, "linux-64-cuda-12") == {"platform": "linux-64", "cuda": "12"}
    assert declared(toml, "win-64-cuda-12") == {"platform": "win-64", "cuda": "12"}
    # cpu selects the plain platforms (issue #21): else pixi solves it for the CUDA variants too
    assert toml["feature"]["cpu"]["platforms"] == ["linux-64", "osx-arm64", "win-64"]
    assert gpu["target"] == {
        "linux-64": {"dependencies": spec["environments"]["gpu"]["target"]["linux-64"]["dependencies"]}
    }
    assert "dependencies" not in gpu
    assert toml["environments"]["cpu"] == ["cpu"] and toml["environments"]["gpu"] == ["gpu"]
    assert toml["environments"]["pack"] == {"features": ["pack"], "no-default-feature": True}
    assert toml["feature"]["pack"]["dependencies"] == {"pixi-pack": ">=0.7.7,<0.8"}
    # Tasks run from the project root (issue #21): build/pixi.toml is one level down.
    assert toml["tasks"]["detect-gpu"] == {"cmd": spec["tasks"]["detect-gpu"], "cwd": ".."}
    assert toml["tasks"]["train"]["cmd"] == spec["tasks"]["train"]["cmd"] and toml["tasks"]["train"]["cwd"] == ".."


def test_hostile_strings_survive_toml(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: 12}\n"
        'tasks:\n  evil: "echo \\"]\\\\n[tasks] x = 1 \\\\ \\u00e9 #"\n'
        "  quoted: {cmd: \"python -c 'print(1)'\", description: ok, depends_on: [evil]}\n"
    )
    toml = generated(spec)
    assert toml["tasks"]["evil"]["cmd"] == YAML(typ="safe").load(spec.read_text())["tasks"]["evil"]
    assert "é" in toml["tasks"]["evil"]["cmd"] and "\\n[tasks]" in toml["tasks"]["evil"]["cmd"]
    assert toml["tasks"]["quoted"]["depends-on"] == ["evil"]
    assert declared(toml, "linux-64-cuda-12")["cuda"] == "12"
    assert pixi_schema_errors(toml) == []


def declared(toml: dict[str, Any], name: str) -> dict[str, Any]:
    """The [workspace].platforms entry of that name, without its name."""
    entries = [
        entry for entry in toml["workspace"]["platforms"] if isinstance(entry, dict) and entry.get("name") == name
    ]
    assert len(entries) == 1, f"{name} declared {len(entries)} times in {toml['workspace']['platforms']}"
    return {key: value for key, value in entries[0].items() if key != "name"}


RICH_PLATFORMS = """\
schema_version: 1
name: demo
workspace:
  platforms: [linux-64, linux-aarch64, osx-arm64]
  system_requirements: {glibc: "2.17", macos: "14.0"}
environments:
  gpu: {cuda: "12.4", platforms: [linux-64, osx-arm64]}
  cpu: {}
container: {environment: gpu}
jobs:
  old-gpus: {runtime: container, command: [python, x.py], gpu: {min_capability: 8.0}}
  new-gpus: {runtime: container, command: [python, x.py], gpu: {min_capability: 7.5}}
  cpu-side: {runtime: container, command: [python, x.py], resources: {gpus: 0}}
"""


def test_rich_platforms_declare_cuda_arch_and_system_requirements(tmp_path: Path) -> None:
    """Issue #12 item 1: every GPU job that runs gpu asks for compute capability >= 7.5 or 8.0, so the
    solver is told 7.5 (__cuda_arch), and the image installs with the same claim."""
    spec = tmp_path / "p.yaml"
    spec.write_text(RICH_PLATFORMS)
    files = rendered(spec)
    toml = tomllib.loads(files["build/pixi.toml"])
    assert pixi_schema_errors(toml) == []
    assert toml["workspace"]["platforms"][:3] == [
        {"name": "linux-64", "platform": "linux-64", "glibc": "2.17"},
        {"name": "linux-aarch64", "platform": "linux-aarch64", "glibc": "2.17"},
        {"name": "osx-arm64", "platform": "osx-arm64", "macos": "14.0"},
    ]
    name = "linux-64-cuda-12-4-arch-7-5"
    assert declared(toml, name) == {"platform": "linux-64", "cuda": {"driver": "12.4", "arch": "7.5"}, "glibc": "2.17"}
    assert toml["feature"]["gpu"]["platforms"] == [name, "osx-arm64"]
    assert "cpu" not in toml.get("feature", {})  # an empty environment: no feature table, every platform
    dockerfile = container.render(load_project(spec, tmp_path), Layout())[0].text
    assert "ENV CONDA_OVERRIDE_CUDA_ARCH=7.5" in dockerfile.splitlines()


def test_one_gpu_job_without_a_floor_declares_no_cuda_arch(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(RICH_PLATFORMS.replace("gpu: {min_capability: 8.0}", "resources: {gpus: 1}"))
    toml = generated(spec)
    assert declared(toml, "linux-64-cuda-12-4") == {"platform": "linux-64", "cuda": "12.4", "glibc": "2.17"}
    assert "CONDA_OVERRIDE_CUDA_ARCH" not in container.render(load_project(spec, tmp_path), Layout())[0].text


def test_workspace_cuda_is_declared_on_its_own_platforms(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "schema_version: 1\nname: demo\nworkspace:\n  platforms: [linux-64, osx-arm64]\n  cuda: 12\n"
        "environments:\n  gpu: {platforms: [linux-64]}\n"
    )
    toml = generated(spec)
    assert pixi_schema_errors(toml) == []
    # The plain linux-64 is pixi-pack's (a tool environment runs on an access point without a driver).
    assert toml["workspace"]["platforms"] == [
        {"name": "linux-64-cuda-12", "platform": "linux-64", "cuda": "12"},
        "osx-arm64",
        "linux-64",
    ]
    assert toml["feature"]["gpu"]["platforms"] == ["linux-64-cuda-12"]
    assert toml["feature"]["pack"]["platforms"] == ["linux-64", "osx-arm64"]


STAND_IN_PIXI = """#!/bin/bash
echo "cwd=$(basename "$PWD") args=$* CONDA_OVERRIDE_CUDA=${CONDA_OVERRIDE_CUDA-unset}"
"""
CUDA_ENVIRONMENTS = """\
schema_version: 1
name: demo
environments:
  new: {cuda: "13"}
  old: {cuda: "12.4"}
  patch: {cuda: "12.10"}
  cpu: {}
container: {environment: new}
"""


def run_lock_script(
    tmp_path: Path, spec_text: str, *args: str, with_pixi: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the generated build/lock.sh from elsewhere, with a stand-in `pixi` that reports what it got."""
    spec = tmp_path / "project.yaml"
    spec.write_text(spec_text)
    build = tmp_path / "build"
    build.mkdir()
    (build / "lock.sh").write_text(rendered(spec)["build/lock.sh"])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_pixi:
        (bin_dir / "pixi").write_text(STAND_IN_PIXI)
        (bin_dir / "pixi").chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(
        ["bash", "build/lock.sh", *args], cwd=tmp_path, capture_output=True, text=True, env=environment, check=False
    )


def test_lock_script_claims_the_highest_cuda_any_environment_needs(tmp_path: Path) -> None:
    """`pixi lock` solves every environment, so 13 (not 12.10, not the image's alone, not a fixed 12)."""
    result = run_lock_script(tmp_path, CUDA_ENVIRONMENTS, "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cwd=build args=lock --check CONDA_OVERRIDE_CUDA=13\n"


def test_lock_script_compares_cuda_versions_as_numbers(tmp_path: Path) -> None:
    result = run_lock_script(tmp_path, CUDA_ENVIRONMENTS.replace('cuda: "13"', 'cuda: "12.2"'))
    assert result.stdout == "cwd=build args=lock CONDA_OVERRIDE_CUDA=12.10\n"


def test_lock_script_claims_no_cuda_without_cuda_environments(tmp_path: Path) -> None:
    spec = "schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu}\n"
    result = run_lock_script(tmp_path, spec)
    assert result.stdout == "cwd=build args=lock CONDA_OVERRIDE_CUDA=unset\n"


def test_lock_script_fails_clearly_without_pixi(tmp_path: Path) -> None:
    result = run_lock_script(tmp_path, CUDA_ENVIRONMENTS, with_pixi=False)
    assert result.returncode == 1
    assert result.stderr == "lock.sh: pixi is not installed; get it from https://pixi.sh\n"


def test_lock_script_passes_shellcheck(tmp_path: Path) -> None:
    path = tmp_path / "lock.sh"
    path.write_text(rendered()["build/lock.sh"])
    result = shellcheck(path)
    assert result.returncode == 0, result.stdout


def test_task_globs_outside_the_build_directory_are_left_out_and_said(tmp_path: Path) -> None:
    """pixi hashes a task's inputs and outputs from build/ and stops on a match outside it: only the
    globs inside build/ reach the manifest; the others are named in a comment, the spec keeps them."""
    spec = tmp_path / "project.yaml"
    spec.write_text(
        MINIMAL_SPEC.replace(
            "jobs:",
            """tasks:
  prepare:
    cmd: python prep.py
    inputs: [data/raw/*.csv, build/src/prep.py]
    outputs: [build/data/clean.csv, results/]
jobs:""",
            1,
        )
    )
    manifest = generated(spec)
    task = manifest["tasks"]["prepare"]
    assert task["inputs"] == ["src/prep.py"] and task["outputs"] == ["data/clean.csv"]
    text = rendered(spec)["build/pixi.toml"]
    assert "# prepare: inputs/outputs outside build/ left out" in text and '["data/raw/*.csv", "results/"]' in text
    assert not any(glob.startswith("..") for glob in (*task["inputs"], *task["outputs"]))

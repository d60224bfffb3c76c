"""Tool environments (pixi-pack's `pack`) get plain platforms, so `pixi run -e pack pack` runs on an
access point, which has no GPU driver (#23, item 7).

`best_platform` below follows pixi v0.77.0 (crates/pixi_core/src/workspace/environment.rs,
`best_declared_platform`, and crates/pixi_manifest/src/workspace.rs, `possible_pixi_platforms`): the
candidates are the `[workspace].platforms` entries for the host's subdir, in declaration order, whose
declared virtual packages the host has; the environment runs on the first candidate it selects, and
on none when no candidate is left. A `cuda = "12"` entry declares `__cuda >= 12`, which a host without
a driver lacks (CONDA_OVERRIDE_CUDA aside).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.test_pixi import generated, pixi_schema_errors

NO_DRIVER: dict[str, str] = {}  # an access point: linux-64, no __cuda
GPU_NODE = {"cuda": "12.8"}  # an execute point with a driver for CUDA 12.8


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def best_platform(manifest: dict[str, Any], environment: str, subdir: str, host: dict[str, str]) -> str | None:
    entries = manifest["workspace"]["platforms"]

    def name(entry: str | dict[str, Any]) -> str:
        return entry if isinstance(entry, str) else entry.get("name", entry["platform"])

    def runs_here(entry: str | dict[str, Any]) -> bool:
        if isinstance(entry, str):
            return entry == subdir
        if entry["platform"] != subdir:
            return False
        cuda = entry.get("cuda")
        if cuda is None:
            return True
        needed = cuda if isinstance(cuda, str) else cuda["driver"]
        return "cuda" in host and _numbers(host["cuda"]) >= _numbers(needed)

    selected = environment_platforms(manifest, environment, [name(e) for e in entries])
    return next((name(e) for e in entries if runs_here(e) and name(e) in selected), None)


def environment_platforms(manifest: dict[str, Any], environment: str, every: list[str]) -> list[str]:
    """The platforms an environment selects: the intersection of its features' (all when none says)."""
    definition = manifest["environments"][environment]
    features = definition if isinstance(definition, list) else definition["features"]
    chosen = set(every)
    for feature in features:
        chosen &= set(manifest.get("feature", {}).get(feature, {}).get("platforms", every))
    return sorted(chosen)


WORKSPACE_CUDA = """\
schema_version: 1
name: demo
workspace:
  platforms: [linux-64, osx-arm64, win-64]
  cuda: "12"
environments:
  gpu:
    dependencies: {pytorch-gpu: "*"}
  cpu:
    dependencies: {pytorch-cpu: "*"}
container: {environment: gpu}
pack: {environment: gpu}
jobs:
  train: {runtime: pixi-pack, command: [python, train.py]}
"""

ENVIRONMENT_CUDA = WORKSPACE_CUDA.replace('  cuda: "12"\n', "").replace("  gpu:\n", '  gpu:\n    cuda: "12"\n')


@pytest.mark.parametrize("spec_text", [WORKSPACE_CUDA, ENVIRONMENT_CUDA], ids=["workspace-cuda", "environment-cuda"])
def test_pack_runs_on_an_access_point_without_a_driver(spec_text: str, tmp_path: Path) -> None:
    spec = tmp_path / "project.yaml"
    spec.write_text(spec_text)
    manifest = generated(spec)
    assert pixi_schema_errors(manifest) == []
    # pixi-pack's environment: a plain entry on the access point; the GPU environment needs the driver.
    assert best_platform(manifest, "pack", "linux-64", NO_DRIVER) == "linux-64"
    assert best_platform(manifest, "gpu", "linux-64", NO_DRIVER) is None
    assert best_platform(manifest, "gpu", "linux-64", GPU_NODE) == "linux-64-cuda-12"
    for entry in manifest["workspace"]["platforms"]:
        if isinstance(entry, dict) and entry.get("name") in manifest["feature"]["pack"]["platforms"]:
            assert "cuda" not in entry, entry


def test_cuda_environments_keep_their_cuda_entries(tmp_path: Path) -> None:
    """The plain entries come after the CUDA ones and only the pack feature selects them: every other
    environment solves and installs as before."""
    spec = tmp_path / "project.yaml"
    spec.write_text(WORKSPACE_CUDA)
    manifest = generated(spec)
    for env in ("gpu", "cpu"):
        assert manifest["feature"][env]["platforms"] == ["linux-64-cuda-12", "osx-arm64", "win-64-cuda-12"]
    names = [e if isinstance(e, str) else e["name"] for e in manifest["workspace"]["platforms"]]
    assert names == ["linux-64-cuda-12", "osx-arm64", "win-64-cuda-12", "linux-64", "win-64"]
    assert manifest["feature"]["pack"]["platforms"] == ["linux-64", "osx-arm64", "win-64"]


def test_the_matcher_follows_declaration_order() -> None:
    """Two entries for one subdir: the first the host satisfies wins (pixi's rule, not ours)."""
    manifest = tomllib.loads("""
[workspace]
platforms = [{ name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" }, "linux-64"]
[environments]
both = []
""")
    assert best_platform(manifest, "both", "linux-64", GPU_NODE) == "linux-64-cuda-12"
    assert best_platform(manifest, "both", "linux-64", NO_DRIVER) == "linux-64"
    assert best_platform(manifest, "both", "osx-arm64", NO_DRIVER) is None


def test_platform_entries_require_the_pixi_that_reads_them(tmp_path: Path) -> None:
    """`{ platform, cuda }` entries are pixi >= 0.71 syntax (docs/workspace/system_requirements.md)."""
    spec = tmp_path / "project.yaml"
    spec.write_text(WORKSPACE_CUDA)
    manifest = generated(spec)
    assert manifest["workspace"]["requires-pixi"] == ">=0.71" and pixi_schema_errors(manifest) == []
    spec.write_text(WORKSPACE_CUDA.replace('  cuda: "12"\n', '  cuda: "12"\n  requires_pixi: ">=0.77"\n', 1))
    assert generated(spec)["workspace"]["requires-pixi"] == ">=0.77", "the spec's own floor wins"
    spec.write_text("schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu}\n")
    assert "requires-pixi" not in generated(spec)["workspace"], "plain platforms: any pixi reads them"

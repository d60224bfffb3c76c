"""Bring your own workspace (issue #11): shapes of real pixi manifests, written as specs, come back as
pixi would read the originals. Each case is a spec and the tables its build/pixi.toml must hold,
compared as parsed TOML; pixi's own manifest schema judges every output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.test_pixi import generated, pixi_schema_errors

HEAD = "schema_version: 1\nname: demo\n"

# pixi's PyTorch guide: a CUDA feature with a linux-only package, PyPI wheels from PyTorch's index,
# and a plain `pixi run` that finds them (the default environment is the CUDA one).
PYTORCH_PYPI = (
    HEAD
    + """\
workspace:
  platforms: [linux-64, osx-arm64]
  dependencies: {python: "3.12.*"}
  pypi_options: {extra_index_urls: ["https://download.pytorch.org/whl/cu124"]}
  default_environment: cuda
environments:
  cuda:
    cuda: "12.4"
    pypi_dependencies: {torch: ">=2.5", torchvision: "*"}
    target:
      linux-64:
        dependencies: {nvtop: "*"}
container: {environment: cuda}
"""
)
PYTORCH_PYPI_TOML = {
    "workspace": {
        "name": "demo",
        "channels": ["conda-forge"],
        "platforms": ["linux-64", "osx-arm64", {"name": "linux-64-cuda-12-4", "platform": "linux-64", "cuda": "12.4"}],
    },
    "dependencies": {"python": "3.12.*"},
    "pypi-options": {"extra-index-urls": ["https://download.pytorch.org/whl/cu124"]},
    "feature": {
        "cuda": {
            "platforms": ["linux-64-cuda-12-4", "osx-arm64"],
            "pypi-dependencies": {"torch": ">=2.5", "torchvision": "*"},
            "target": {"linux-64": {"dependencies": {"nvtop": "*"}}},
        }
    },
    "environments": {
        "cuda": {"features": ["cuda"], "solve-group": "cuda"},
        "default": {"features": ["cuda"], "solve-group": "cuda"},
    },
}

# pixi's multi-environment example: features composed into environments, a solve group, a test
# environment without the default feature, workspace-level CUDA and the project installed editable.
MULTI_FEATURE = (
    HEAD
    + """\
workspace:
  cuda: "12"
  platforms: [linux-64]
  dependencies: {python: ">=3.11"}
  pypi_dependencies: {demo: {path: ".", editable: true}}
  authors: ["Ada Lovelace <ada@example.org>"]
  license: MIT
  requires_pixi: ">=0.77"
environments:
  gpu:
    dependencies: {pytorch-gpu: {version: ">=2.5", channel: conda-forge, build: "cuda*"}}
    solve_group: main
  test:
    features: [gpu]
    dependencies: {pytest: "*"}
    solve_group: main
  lint:
    no_default_feature: true
    dependencies: {ruff: "*"}
    channels: [bioconda]
container: {environment: gpu}
"""
)
MULTI_FEATURE_TOML = {
    "workspace": {
        "authors": ["Ada Lovelace <ada@example.org>"],
        "license": "MIT",
        "requires-pixi": ">=0.77",
        # The plain linux-64 is for pixi-htc's pack environment (a tool runs without a driver).
        "platforms": [{"name": "linux-64-cuda-12", "platform": "linux-64", "cuda": "12"}, "linux-64"],
    },
    "pypi-dependencies": {"demo": {"path": "..", "editable": True}},
    "feature": {
        "gpu": {"dependencies": {"pytorch-gpu": {"version": ">=2.5", "channel": "conda-forge", "build": "cuda*"}}},
        "test": {"dependencies": {"pytest": "*"}},
        "lint": {"channels": ["bioconda"], "dependencies": {"ruff": "*"}},
    },
    "environments": {
        "gpu": {"features": ["gpu"], "solve-group": "main"},
        "test": {"features": ["test", "gpu"], "solve-group": "main"},
        "lint": {"features": ["lint"], "no-default-feature": True},
    },
}

# Tasks as real workspaces write them: an alias, a task scoped to one feature, env, cwd, caching
# inputs/outputs and named arguments; activation variables and scripts.
TASKS = (
    HEAD
    + """\
workspace:
  activation: {env: {WANDB_MODE: offline}, scripts: [scripts/setup.sh]}
environments:
  gpu: {cuda: "12", activation: {env: {CUDA_MODULE_LOADING: LAZY}}}
tasks:
  ci: {depends_on: [lint, train]}
  lint: ruff check .
  train:
    cmd: python train.py --epochs {{ epochs }}
    environment: gpu
    cwd: .
    env: {PYTHONUNBUFFERED: "1"}
    inputs: ["src/**/*.py"]
    outputs: [model.pt]
    args: [{arg: epochs, default: "2"}]
"""
)
TASKS_TOML = {
    "activation": {"env": {"WANDB_MODE": "offline"}, "scripts": ["../scripts/setup.sh"]},
    # Issue #21: every task runs from the project root, as pixi ran it beside the manifest it came
    # from; build/pixi.toml is one level down, so that is cwd "..". Its inputs/outputs lie outside build/,
    # where pixi hashes them from and stops on a match outside (Task.globs_in): left out, and said.
    # An alias runs nothing, and needs no directory.
    "tasks": {"ci": {"depends-on": ["lint", "train"]}, "lint": {"cmd": "ruff check .", "cwd": ".."}},
    "feature": {
        "gpu": {
            "activation": {"env": {"CUDA_MODULE_LOADING": "LAZY"}},
            "tasks": {
                "train": {
                    "cmd": "python train.py --epochs {{ epochs }}",
                    "cwd": "..",
                    "env": {"PYTHONUNBUFFERED": "1"},
                    "args": [{"arg": "epochs", "default": "2"}],
                }
            },
        }
    },
}


def _contains(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Every key of `expected` is in `actual` with the same value (tables compared key by key)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a table, got {actual!r}"]
        return [
            problem
            for key, value in expected.items()
            for problem in (
                _contains(actual[key], value, f"{path}.{key}") if key in actual else [f"{path}.{key}: missing"]
            )
        ]
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [(PYTORCH_PYPI, PYTORCH_PYPI_TOML), (MULTI_FEATURE, MULTI_FEATURE_TOML), (TASKS, TASKS_TOML)],
    ids=["pytorch-pypi", "multi-feature", "tasks"],
)
def test_real_workspace_shapes_come_back(tmp_path: Path, spec: str, expected: dict[str, Any]) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(spec)
    manifest = generated(path)
    assert _contains(manifest, expected) == []
    assert not any(
        "inputs" in task or "outputs" in task
        for part in (manifest, *manifest.get("feature", {}).values())
        for task in part.get("tasks", {}).values()
        if isinstance(task, dict)
    )
    assert "version" not in manifest["workspace"], "a version the spec never set was invented"
    assert pixi_schema_errors(manifest) == []


def test_a_cuda_environment_keeps_the_platforms_the_user_listed(tmp_path: Path) -> None:
    """The seed's gpu environment once came out narrowed to linux-64, its packages copied per platform."""
    path = tmp_path / "project.yaml"
    path.write_text(
        HEAD + "workspace: {platforms: [linux-64, win-64]}\nenvironments:\n  gpu:\n    cuda: '12'\n"
        "    dependencies: {numpy: '*'}\n"
    )
    gpu = generated(path)["feature"]["gpu"]
    # Both platforms, each as its CUDA variant; the packages once, for all of them.
    assert gpu["platforms"] == ["linux-64-cuda-12", "win-64-cuda-12"]
    assert gpu["dependencies"] == {"numpy": "*"} and "target" not in gpu


def test_workspace_cuda_reaches_the_jobs_driver_requirement(tmp_path: Path) -> None:
    from tests.test_htcondor import files, project

    path = tmp_path / "project.yaml"
    path.write_text(
        HEAD + "workspace: {cuda: '12.4'}\nenvironments:\n  gpu: {}\n"
        "jobs:\n  t: {runtime: container, command: [python, x.py]}\n"
    )
    sub = files(project(path))["build/htcondor/t.sub"]
    assert "\ngpus_minimum_runtime = 12.4\n" in sub and "GPUs_DriverVersion" not in sub


def test_hostile_dependency_tables_stay_toml_strings(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(
        HEAD + "environments:\n  cpu:\n    pypi_dependencies:\n"
        "      x: {git: 'https://example.org/a.git', branch: main, extras: [cli]}\n"
        "    activation: {env: {A: '\" = 1 [x] \\\\ $(id)'}}\ncontainer: {environment: cpu}\n"
    )
    toml = generated(path)
    assert toml["feature"]["cpu"]["pypi-dependencies"]["x"] == {
        "git": "https://example.org/a.git",
        "branch": "main",
        "extras": ["cli"],
    }
    written = YAML(typ="safe").load(path.read_text())["environments"]["cpu"]["activation"]["env"]
    assert toml["feature"]["cpu"]["activation"]["env"] == written and "\\" in written["A"]
    assert pixi_schema_errors(toml) == []

"""build/pixi.toml and the root pixi.toml: pixi's own schema accepts them, and they say what the spec says."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from compiler.artifacts.base import Layout
from compiler.artifacts.pixi import render
from compiler.loader import load_spec
from compiler.validate import validate
from tests.conftest import DEFAULT_SPEC, PIXI_SCHEMA, REPO


def pixi_schema_errors(manifest: dict[str, Any]) -> list[str]:
    if not PIXI_SCHEMA.is_file():
        pytest.skip(f"pixi manifest schema not found at {PIXI_SCHEMA} (set PIXI_MANIFEST_SCHEMA)")
    schema = json.loads(PIXI_SCHEMA.read_text())
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(schema).iter_errors(manifest)]


def generated(spec: Path = DEFAULT_SPEC) -> dict[str, Any]:
    project = validate(load_spec(spec, "specs/project.yaml"))
    [artifact] = render(project, Layout())
    return tomllib.loads(artifact.text)


def test_generated_workspace_passes_pixi_schema() -> None:
    assert pixi_schema_errors(generated()) == []


def test_root_workspace_passes_pixi_schema() -> None:
    assert pixi_schema_errors(tomllib.loads((REPO / "pixi.toml").read_text())) == []


def test_generated_workspace_says_what_the_spec_says() -> None:
    spec = YAML(typ="safe").load(DEFAULT_SPEC.read_text())
    toml = generated()
    assert toml["workspace"]["channels"] == spec["workspace"]["channels"]
    assert toml["workspace"]["platforms"] == spec["workspace"]["platforms"]
    assert toml["dependencies"] == spec["workspace"]["dependencies"]
    assert toml["feature"]["cpu"]["dependencies"] == spec["environments"]["cpu"]["dependencies"]
    gpu = toml["feature"]["gpu"]
    assert gpu["system-requirements"] == {"cuda": "12"}
    assert gpu["platforms"] == ["linux-64"]
    assert gpu["target"]["linux-64"]["dependencies"] == spec["environments"]["gpu"]["dependencies"]
    assert "dependencies" not in gpu, "CUDA packages belong under target.linux-64 only"
    assert toml["environments"]["cpu"] == ["cpu"] and toml["environments"]["gpu"] == ["gpu"]
    assert toml["environments"]["pack"] == {"features": ["pack"], "no-default-feature": True}
    assert toml["feature"]["pack"]["dependencies"] == {"pixi-pack": "*"}
    assert toml["tasks"]["detect-gpu"] == spec["tasks"]["detect-gpu"]
    assert toml["tasks"]["train"]["cmd"] == spec["tasks"]["train"]["cmd"]


def test_hostile_strings_survive_toml(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        'schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: 12}\n'
        'tasks:\n  evil: "echo \\"]\\\\n[tasks] x = 1 \\\\ \\u007f \\u00e9"\n'
        "  quoted: {cmd: \"python -c 'print(1)'\", description: ok, depends_on: [evil]}\n"
    )
    toml = generated(spec)
    assert toml["tasks"]["evil"] == YAML(typ="safe").load(spec.read_text())["tasks"]["evil"]
    assert "\x7f" in toml["tasks"]["evil"] and "é" in toml["tasks"]["evil"]
    assert toml["tasks"]["quoted"]["depends-on"] == ["evil"]
    assert toml["feature"]["gpu"]["system-requirements"]["cuda"] == "12"
    assert pixi_schema_errors(toml) == []

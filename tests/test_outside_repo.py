"""pixi-htc outside its own repository (issue #11): a repository with only a spec, its code and an
installed pixi-htc gets a workflow that works there, and pixi-htc claims no generic import name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import pixi_htc
from tests.conftest import REPO
from tests.test_container import lint_workflow

SPEC = """\
schema_version: 1
name: lab-project
site: chtc
source: [train.py, lib]
environments:
  gpu: {cuda: "12", target: {linux-64: {dependencies: {pytorch-gpu: "*"}}}}
container: {image: ghcr.io/my-lab/lab-project}
jobs:
  train: {runtime: container, command: [python, train.py]}
"""


def installed_cli() -> Path:
    """The console script pip installed (make installs pixi-htc into .venv), not the checkout."""
    cli = Path(sys.executable).parent / "pixi-htc"
    if not cli.exists():
        pytest.skip("pixi-htc is not installed in this interpreter's environment (make test installs it)")
    return cli


@pytest.fixture
def scratch_repository(tmp_path: Path) -> Path:
    """A researcher's repository: a spec, their code, nothing of pixi-htc's own."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(SPEC)
    (tmp_path / "train.py").write_text("print('training')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "model.py").write_text("")
    for command in ("build", "check"):
        result = subprocess.run([str(installed_cli()), command], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return tmp_path


def test_the_generated_workflow_works_without_pixi_htcs_own_files(scratch_repository: Path) -> None:
    text = (scratch_repository / ".github" / "workflows" / "pixi-htc.yml").read_text()
    assert lint_workflow(text, scratch_repository / "lint") == []
    workflow = YAML(typ="safe").load(text)
    runs = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    version = pixi_htc.__version__  # the one version (pyproject.toml reads it dynamically)
    assert f"python -m pip install pixi-htc=={version}" in runs
    assert "pixi-htc check specs/project.yaml --out build" in runs
    assert not any("make" in run.split() for run in runs), "the user's repository has no Makefile of ours"
    paths = workflow["on"]["push"]["paths"]
    assert sorted(paths) == [
        ".github/workflows/pixi-htc.yml",
        "build/**",
        "lib",
        "lib/**",
        "specs/**",
        "train.py",
        "train.py/**",
    ]
    assert not (scratch_repository / "build" / "src").exists(), "the user's code is not copied into build/"


def test_the_installed_package_is_pixi_htc_not_compiler(scratch_repository: Path) -> None:
    probe = "import importlib.util as u; print(u.find_spec('pixi_htc').origin); print(u.find_spec('compiler'))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=scratch_repository, capture_output=True, text=True, check=True
    )
    origin, compiler = result.stdout.splitlines()
    assert Path(origin).parent == REPO / "compiler" and compiler == "None"

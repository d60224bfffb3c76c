"""Files at the repository's top that other tools read: pre-commit's hook list and the Makefile."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, run_cli

# pre-commit's manifest (pre_commit/clientlib.py, MANIFEST_HOOK_DICT): these keys are required.
REQUIRED = {"id", "name", "entry", "language"}


def hooks() -> list[dict[str, object]]:
    loaded = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(loaded, list)
    return loaded


def test_pre_commit_hook_runs_pixi_htc_check_on_the_spec_and_its_outputs() -> None:
    (hook,) = hooks()
    assert REQUIRED <= set(hook)
    assert hook["id"] == "pixi-htc-check" and hook["language"] == "python"
    assert hook["entry"] == "pixi-htc check" and hook["pass_filenames"] is False
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert str(hook["entry"]).split()[0] in scripts, "language: python installs the repository's console script"
    files = re.compile(str(hook["files"]))
    for path in ("specs/project.yaml", "build/pixi.toml", "build/htcondor/train.sub", ".github/workflows/pixi-htc.yml"):
        assert files.search(path), path
    for path in ("README.md", "src/train.py", "notes/specs.txt"):
        assert not files.search(path), path


def test_the_hook_entry_checks_a_project_without_arguments(project_dir: Path) -> None:
    """pass_filenames is false: the entry alone must find specs/project.yaml and build/."""
    assert run_cli("build", cwd=project_dir).returncode == 0
    entry = str(hooks()[0]["entry"]).split()[1:]
    assert run_cli(*entry, cwd=project_dir).returncode == 0
    (project_dir / "build" / "pixi.toml").write_text("edited\n")
    stale = run_cli(*entry, cwd=project_dir)
    assert stale.returncode != 0 and "pixi.toml" in stale.stdout + stale.stderr


def test_make_results_installs_the_plot_extra_itself(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    plan = subprocess.run(
        ["make", "-n", "-C", str(REPO), "results", f"VENV={venv}"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    install = next(i for i, line in enumerate(plan) if "install -e '.[plot]'" in line)
    results = next(i for i, line in enumerate(plan) if "pixi-htc results" in line)
    assert install < results, plan

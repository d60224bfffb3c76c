"""pixi-htc's own release pipeline (.github/workflows/release.yml) and the one place its version lives.

A generated workflow installs `pixi-htc==<version>` from PyPI by default; that release exists only if
this pipeline publishes it, and only the version that generated the workflow compiles it to the same
bytes. So: one version (compiler/__init__.py), read by pyproject.toml, checked against the tag, and
the default the model applies.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from pixi_htc import __version__
from pixi_htc.core.resources import project_schema
from pixi_htc.spec.model import CI
from tests.conftest import REPO
from tests.test_ci_pins import USES, uses_lines, workflow_text
from tests.test_container import lint_workflow

RELEASE = REPO / ".github" / "workflows" / "release.yml"

# action -> (commit, tag): each tag's commit read from the action's repository (`git rev-list -n1
# <tag>` in a fetched copy, Dec 2026), each on `runs.using: node24` (or a Docker action) in its
# action.yml, so none runs on a Node version GitHub has removed. gh-action-pypi-publish's newest tag
# in that copy is v1.8.14, which supports trusted publishing (README, "Trusted publishing").
RELEASE_ACTIONS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "pypa/gh-action-pypi-publish": ("81e9d935c883d0b210363ab89cf05f3894778450", "v1.8.14"),
}


def release() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(RELEASE.read_text())
    return loaded


def runs(job: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in job["steps"]]


def test_release_workflow_is_clean_for_actionlint_zizmor_and_the_workflow_schema(tmp_path: Path) -> None:
    assert lint_workflow(RELEASE.read_text(), tmp_path) == []


def test_release_actions_are_pinned_to_verified_commits() -> None:
    lines = uses_lines(RELEASE.read_text())
    assert {USES.match(line)["action"] for line in lines if USES.match(line)} == set(RELEASE_ACTIONS)  # type: ignore[index]
    for line in lines:
        match = USES.match(line)
        assert match, f"not `owner/name@<40 hex>  # vX.Y.Z`: {line.strip()}"
        assert (match["sha"], match["tag"]) == RELEASE_ACTIONS[match["action"]], line.strip()


def test_publishes_only_on_a_version_tag_with_trusted_publishing() -> None:
    workflow = release()
    assert workflow["on"]["push"] == {"tags": ["v*"]}, "a branch push must not publish"
    assert workflow["permissions"] == {}
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == ["dist"]
    assert "refs/tags/v" in publish["if"] and "github.event_name == 'push'" in publish["if"]
    # Trusted publishing: the OIDC token and nothing else; no password or token input anywhere.
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    step = next(s for s in publish["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@"))
    assert not set(step.get("with", {})) & {"password", "user"}
    assert "secrets." not in RELEASE.read_text()
    assert workflow["jobs"]["dist"]["permissions"] == {"contents": "read"}


def test_builds_both_distributions_checks_them_and_the_tag() -> None:
    dist = release()["jobs"]["dist"]
    commands = runs(dist)
    build = next(i for i, run in enumerate(commands) if run.strip() == "python -m build")  # sdist and wheel
    check = next(i for i, run in enumerate(commands) if "twine check --strict dist/*" in run)
    assert build < check
    assert any(re.search(r"pip install build==[0-9.]+ twine==[0-9.]+", run) for run in commands), "pinned tools"
    assert any("pip install dist/*.whl" in run and "pixi-htc check specs/project.yaml" in run for run in commands)
    tag = next(s for s in dist["steps"] if "__version__" in str(s.get("run", "")))
    assert tag["env"] == {"TAG": "${{ github.ref_name }}"}, "the tag reaches the script through env, not ${{ }}"
    assert "exit 1" in tag["run"]
    upload = next(s for s in dist["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "dist/"


def test_the_version_is_written_in_one_place() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pixi_htc.__version__"}
    assert pyproject["tool"]["setuptools"]["package-dir"]["pixi_htc"] == "compiler"
    assert "version" not in tomllib.loads((REPO / "pixi.toml").read_text())["workspace"]
    written = re.findall(r"^__version__ = \"([^\"]+)\"$", (REPO / "compiler" / "__init__.py").read_text(), re.M)
    assert written == [__version__] and re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_default_pixi_htc_is_the_version_that_generated_the_workflow(tmp_path: Path) -> None:
    assert CI().pixi_htc == f"pixi-htc=={__version__}"
    ci = project_schema()["properties"]["ci"]["properties"]["pixi_htc"]
    assert "default" not in ci, "a literal default would fall behind the next release"
    spec = "schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu}\n"
    steps = YAML(typ="safe").load(workflow_text(spec, tmp_path))["jobs"]["check"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install pixi-htc")
    assert install["run"] == f"python -m pip install pixi-htc=={__version__}"

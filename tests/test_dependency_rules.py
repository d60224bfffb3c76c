"""PyPI dependencies the image or pixi-pack cannot build are refused at their key (#23, item 3).

What refuses them upstream: the image's build stage holds only pixi.toml and pixi.lock (see the
Dockerfile test below), and pixi-pack (src/pack.rs) bails on a locked PyPI package whose location
is not a `.whl` file unless told to leave it out.
"""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest
from ruamel.yaml import YAML

from pixi_htc.core.errors import SpecError
from pixi_htc.spec.loader import load_spec
from pixi_htc.spec.validate import validate
from tests.conftest import DEFAULT_SPEC, load_project
from tests.test_container import lint_workflow, outputs

HEAD = "schema_version: 1\nname: demo\n"
CONTAINER_JOB = "jobs:\n  train: {runtime: container, command: [python, train.py], resources: {gpus: 0}}\n"
PACK_JOB = "jobs:\n  train: {runtime: pixi-pack, command: [python, train.py], resources: {gpus: 0}}\n"


def errors(text: str, tmp_path: Path) -> list[str]:
    spec = tmp_path / "project.yaml"
    spec.write_text(text)
    try:
        validate(load_spec(spec, "specs/project.yaml"))
    except SpecError as error:
        return [d.format("specs/project.yaml") for d in error.diagnostics]
    return []


def env(pypi: str, name: str = "gpu") -> str:
    return f"environments:\n  {name}:\n    pypi_dependencies: {{{pypi}}}\ncontainer: {{environment: gpu}}\n"


@pytest.mark.parametrize(
    ("pypi", "where", "says"),
    [
        ('mypkg: {path: "."}', ":5:32:", "a path dependency (.), and the image's build stage holds only pixi.toml"),
        ("mypkg: {path: libs/mypkg, editable: true}", ":5:32:", "an editable install"),
    ],
)
def test_the_image_cannot_build_a_path_dependency(pypi: str, where: str, says: str, tmp_path: Path) -> None:
    (message,) = errors(HEAD + env(pypi) + CONTAINER_JOB, tmp_path)
    assert f"specs/project.yaml{where} error: environments.gpu.pypi_dependencies.mypkg: '" in message
    assert says in message and "container.environment 'gpu'" in message
    assert "{url: https://.../name.whl}" in message, "the message says how to fix it"


@pytest.mark.parametrize(
    ("pypi", "says"),
    [
        (
            "mypkg: {path: libs/mypkg}",
            "path dependency (libs/mypkg), and pixi-pack packs PyPI packages only as wheel files",
        ),
        ('mypkg: {git: "https://github.com/example/mypkg"}', "a git dependency, and pixi-pack"),
        ('mypkg: {url: "https://example.org/mypkg-1.0.tar.gz"}', "a source archive (url), and pixi-pack"),
        ('mypkg: {path: ".", editable: true}', "an editable install"),
    ],
)
def test_pixi_pack_packs_wheels_only(pypi: str, says: str, tmp_path: Path) -> None:
    (message,) = errors(HEAD + env(pypi) + PACK_JOB, tmp_path)
    assert "environments.gpu.pypi_dependencies.mypkg:" in message and says in message
    assert "pack.environment 'gpu'" in message


@pytest.mark.parametrize(
    "pypi",
    [
        "mypkg: {path: dist/mypkg-1.0-py3-none-any.whl}",  # a wheel file: pixi-pack copies it
        'mypkg: {url: "https://example.org/mypkg-1.0-py3-none-any.whl"}',
        'mypkg: ">=1.0"',
    ],
)
def test_wheels_pack(pypi: str, tmp_path: Path) -> None:
    assert errors(HEAD + env(pypi) + PACK_JOB, tmp_path) == []


def test_git_builds_in_the_image(tmp_path: Path) -> None:
    """pixi builds a git dependency from the network in the build stage."""
    assert errors(HEAD + env('mypkg: {git: "https://github.com/example/mypkg"}') + CONTAINER_JOB, tmp_path) == []


def test_what_neither_builds_keeps_its_path_dependencies(tmp_path: Path) -> None:
    """A development environment, and a workspace with no job that runs the image (one moved in)."""
    dev = (
        'environments:\n  gpu: {}\n  dev:\n    pypi_dependencies: {mypkg: {path: ".", editable: true}}\n'
        "container: {environment: gpu}\n"
    )
    assert (
        errors(
            HEAD + dev + CONTAINER_JOB + "  pack-it: {runtime: pixi-pack, command: [x], resources: {gpus: 0}}\n",
            tmp_path,
        )
        == []
    )
    assert errors(HEAD + env('mypkg: {path: ".", editable: true}'), tmp_path) == []


def test_a_workspace_with_no_job_gets_no_image_build_in_ci(tmp_path: Path) -> None:
    """Its CI checks build/ and the lock; the image, which could not install the editable self-install,
    is built once a job runs it (and then the rule above holds)."""
    spec = tmp_path / "project.yaml"
    spec.write_text(HEAD + env('mypkg: {path: ".", editable: true}'))
    workflow = YAML(typ="safe").load(outputs(load_project(spec, tmp_path))[".github/workflows/pixi-htc.yml"])
    assert set(workflow["jobs"]) == {"check", "lock"}
    assert lint_workflow(outputs(load_project(spec, tmp_path))[".github/workflows/pixi-htc.yml"], tmp_path) == []
    with_job = YAML(typ="safe").load(outputs(load_project(DEFAULT_SPEC))[".github/workflows/pixi-htc.yml"])
    assert "image" in with_job["jobs"]
    # A job that does not run the project's image (its own image, pixi-pack) builds none either.
    spec.write_text(
        HEAD + env("numpy: '*'") + "jobs:\n  packed: {runtime: pixi-pack, command: [x], resources: {gpus: 0}}\n"
        "  hub: {runtime: container, image: 'docker://python:3.12', command: [x], resources: {gpus: 0}}\n"
    )
    others = YAML(typ="safe").load(outputs(load_project(spec, tmp_path))[".github/workflows/pixi-htc.yml"])
    assert "image" not in others["jobs"]


def test_the_default_feature_and_included_features_count(tmp_path: Path) -> None:
    workspace = (
        'workspace:\n  pypi_dependencies: {mypkg: {path: ".", editable: true}}\n'
        "environments:\n  gpu: {}\ncontainer: {environment: gpu}\n"
    )
    (message,) = errors(HEAD + workspace + CONTAINER_JOB, tmp_path)
    assert ":4:30: error: workspace.pypi_dependencies.mypkg:" in message
    included = (
        "environments:\n  base:\n    target:\n      linux-64:\n        pypi_dependencies: {mypkg: {path: lib}}\n"
        "  gpu: {features: [base]}\ncontainer: {environment: gpu}\n"
    )
    (message,) = errors(HEAD + included + CONTAINER_JOB, tmp_path)
    assert "environments.base.target.linux-64.pypi_dependencies.mypkg:" in message
    # A target the image's platform does not select is not installed there.
    assert errors(HEAD + included.replace("linux-64:", "osx-arm64:") + CONTAINER_JOB, tmp_path) == []


def test_the_build_stage_holds_only_the_manifest_and_the_lock() -> None:
    """Why a path dependency cannot build in the image: nothing else is copied before `pixi install`."""
    parsed = dockerfile.parse_string(outputs(load_project(DEFAULT_SPEC))["build/Dockerfile"])
    install = next(i for i, c in enumerate(parsed) if c.cmd == "RUN" and "pixi install" in c.value[0])
    copies = [c.value for c in parsed[:install] if c.cmd == "COPY"]
    assert copies == [("build/pixi.toml", "build/pixi.lock", "./")]

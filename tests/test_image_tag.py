"""The image's default tag follows its content (issue #12): execute points cache images by tag, so
a rebuilt image needs a new one. Jobs and CI use the same tag; check fails when it has not followed."""

from __future__ import annotations

import re
from pathlib import Path

import htcondor2

from tests.conftest import run_cli

SPEC = """\
schema_version: 1
name: demo
source: [code]
environments:
  gpu: {cuda: "12"}
container: {apptainer: true}
jobs:
  train: {runtime: container, command: [python, code/train.py]}
"""


def _image(root: Path) -> str:
    return htcondor2.Submit((root / "build" / "htcondor" / "train.sub").read_text())["container_image"]


def _project(tmp_path: Path, spec: str = SPEC) -> Path:
    (tmp_path / "specs").mkdir(parents=True)
    (tmp_path / "specs" / "project.yaml").write_text(spec)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("print('v1')\n")
    assert run_cli("build", cwd=tmp_path).returncode == 0
    return tmp_path


def test_the_tag_follows_the_lock_file_and_the_code(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = _image(root)
    assert re.fullmatch(r"docker://ghcr\.io/demo/demo:gpu-[0-9a-f]{12}", first)
    workflow = (root / ".github" / "workflows" / "pixi-htc.yml").read_text()
    tag = first.rsplit(":", 1)[1]
    assert f"type=raw,value={tag}\n" in workflow and f"oras://ghcr.io/demo/demo:{tag}-sif" in workflow

    (root / "build" / "pixi.lock").write_text("version: 7\n")  # `make lock` wrote or changed the lock
    stale = run_cli("check", cwd=root)
    assert stale.returncode == 1 and "container_image" in stale.stdout
    assert run_cli("build", cwd=root).returncode == 0
    second = _image(root)
    assert second != first

    (root / "code" / "train.py").write_text("print('v2')\n")
    assert run_cli("check", cwd=root).returncode == 1
    assert run_cli("build", cwd=root).returncode == 0
    assert _image(root) not in (first, second)


def test_the_same_content_gives_the_same_tag_anywhere(tmp_path: Path) -> None:
    assert _image(_project(tmp_path / "a")) == _image(_project(tmp_path / "b"))


def test_a_tag_the_spec_names_is_kept(tmp_path: Path) -> None:
    root = _project(tmp_path, SPEC.replace("{apptainer: true}", "{apptainer: true, tag: v1.2}"))
    assert _image(root) == "docker://ghcr.io/demo/demo:v1.2"


def test_editing_a_job_does_not_change_the_image(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = _image(root)
    spec = root / "specs" / "project.yaml"
    spec.write_text(
        spec.read_text().replace(
            "command: [python, code/train.py]", "command: [python, code/train.py], resources: {memory: 8GB}"
        )
    )
    assert run_cli("build", cwd=root).returncode == 0
    assert _image(root) == first

"""Issue #12 item 3: the Apptainer runtime. A job runs the .sif CI pushes, from the registry or, with
staging, the content-named copy OSDF serves; CHTC's disk default for it; stage-sif.sh puts it there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import htcondor2
from ruamel.yaml import YAML

from pixi_htc.artifacts.base import Layout
from pixi_htc.pipeline.compile import render_all
from tests.conftest import load_project, shellcheck
from tests.test_htcondor import _write_exe

SPEC = """\
schema_version: 1
name: demo
site: {site}
{staging}environments:
  gpu: {{cuda: "12"}}
container: {{environment: gpu, image: ghcr.io/lab/demo}}
jobs:
  train: {{runtime: apptainer, command: [python, train.py]}}
  theirs: {{runtime: apptainer, image: "osdf:///ospool/ap20/data/alice/sleap.sif", command: [sleap-train], resources: {{disk: 20GB}}}}
"""


def _files(tmp_path: Path, site: str = "generic", staging: str = "") -> dict[str, str]:
    spec = tmp_path / "specs" / "project.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(SPEC.format(site=site, staging=staging))
    return {str(a.path): a.text for a in render_all(load_project(spec, tmp_path), Layout())}


def test_an_apptainer_job_runs_the_sif_ci_pushes(tmp_path: Path) -> None:
    files = _files(tmp_path)
    sub = htcondor2.Submit(files["build/htcondor/train.sub"])
    image = sub["container_image"]
    tag = re.fullmatch(r"oras://ghcr\.io/lab/demo:(gpu-[0-9a-f]{12})-sif", image)
    assert tag, image
    assert sub["universe"] == "container" and sub["request_disk"] == "7GB" and sub["request_memory"] == "2GB"
    # The workflow builds the .sif though the spec never said container.apptainer, and pushes that tag.
    workflow = YAML(typ="safe").load(files[".github/workflows/pixi-htc.yml"])
    pushed = " ".join(step.get("run", "") for step in workflow["jobs"]["apptainer"]["steps"])
    assert f"oras://ghcr.io/lab/demo:{tag.group(1)}-sif" in pushed
    # Someone else's .sif is used as given, with the job's own disk; nothing to stage without staging.
    theirs = htcondor2.Submit(files["build/htcondor/theirs.sub"])
    assert theirs["container_image"] == "osdf:///ospool/ap20/data/alice/sleap.sif" and theirs["request_disk"] == "20GB"
    assert "build/stage-sif.sh" not in files


def test_with_staging_the_job_fetches_the_content_named_sif_that_stage_sif_puts_there(tmp_path: Path) -> None:
    files = _files(tmp_path, "ospool", "staging: {directory: /ospool/ap20/data/alice}\n")
    image = htcondor2.Submit(files["build/htcondor/train.sub"])["container_image"]
    match = re.fullmatch(r"osdf:///ospool/ap20/data/alice/(demo-gpu-[0-9a-f]{12}\.sif)", image)
    assert match, image
    script = tmp_path / "stage-sif.sh"
    script.write_text(files["build/stage-sif.sh"])
    assert shellcheck(script).returncode == 0, shellcheck(script).stdout
    # Run it with the staging directory where the access point has it, and a stand-in apptainer.
    staging = tmp_path / "ospool" / "ap20" / "data" / "alice"
    staging.mkdir(parents=True)
    text = files["build/stage-sif.sh"].replace("staging=/ospool/ap20/data/alice", f"staging={staging}")
    assert text != files["build/stage-sif.sh"]
    script.write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _write_exe(bin_dir / "apptainer", '#!/bin/bash\necho "$*" > "$3"\n')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    staged = staging / match.group(1)
    pulled = staged.read_text().split()
    assert pulled[:2] == ["pull", "--force"] and pulled[3] == f"oras://ghcr.io/lab/demo:{match.group(1)[5:-4]}-sif"
    assert [p.name for p in staging.iterdir()] == [match.group(1)]
    again = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0 and "already staged" in again.stdout


def test_the_sif_name_follows_the_image_content(tmp_path: Path) -> None:
    staging = "staging: {directory: /staging/a/alice}\n"
    before = htcondor2.Submit(_files(tmp_path, "chtc", staging)["build/htcondor/train.sub"])["container_image"]
    assert before.startswith("osdf:///chtc/staging/a/alice/demo-gpu-")
    (tmp_path / "build").mkdir(exist_ok=True)
    (tmp_path / "build" / "pixi.lock").write_text("version: 6\n")
    after = htcondor2.Submit(_files(tmp_path, "chtc", staging)["build/htcondor/train.sub"])["container_image"]
    assert after != before and after.startswith("osdf:///chtc/staging/a/alice/demo-gpu-")

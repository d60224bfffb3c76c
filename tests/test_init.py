"""`pixi-htc init` (issue #11): a first spec from nothing, from a pixi manifest or from a submit file.
What it writes builds; a pixi workspace comes back as pixi reads it; a .sub's commands come back as
HTCondor reads them; what cannot be carried is said; nothing is overwritten."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import htcondor2

from tests.conftest import run_cli

PIXI_TOML = """\
[workspace]
name = "seg-models"
authors = ["Ada Lovelace <ada@example.org>"]
channels = ["conda-forge", "nvidia"]
platforms = [
  "linux-64",
  "osx-arm64",
  { name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" },
]
requires-pixi = ">=0.77"

[dependencies]
python = "3.12.*"
numpy = ">=1.26"

[pypi-dependencies]
seg-models = { path = ".", editable = true }

[activation.env]
WANDB_MODE = "offline"

[tasks]
lint = "ruff check ."
ci = { depends-on = ["lint", "test"] }

[feature.cuda]
platforms = ["linux-64-cuda-12", "osx-arm64"]

[feature.cuda.target.linux-64.dependencies]
pytorch-gpu = ">=2.5"

[feature.cuda.tasks]
train = { cmd = "python -m seg.train", env = { PYTHONUNBUFFERED = "1" } }

[feature.test.dependencies]
pytest = "*"

[feature.test.tasks]
test = "pytest"

[environments]
cuda = { features = ["cuda"], solve-group = "main" }
test = { features = ["test", "cuda"], solve-group = "main" }
"""

SUBMIT = """\
universe = container
container_image = docker://nvcr.io/nvidia/pytorch:24.01-py3
executable = run.sh
arguments = "--epochs 3"
transfer_input_files = run.sh, data.tar.gz
transfer_output_files = model.pt
request_cpus = 4
request_gpus = 1
request_memory = 16GB
request_disk = 40GB
gpus_minimum_capability = 8.0
requirements = (GPUs_DriverVersion >= 12.2) && (Machine != "bad.example.org")
+WantGPULab = true
+GPUJobLength = "long"
+ProjectName = "Lab"
environment = "OMP_NUM_THREADS=4"
max_retries = 3
log = job.log
notification = Always
queue
"""


def _init(tmp_path: Path, name: str, text: str) -> tuple[Path, str]:
    (tmp_path / name).write_text(text)
    result = run_cli("init", "--from", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    return tmp_path, result.stderr


def test_init_from_nothing_writes_a_spec_that_builds(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "specs" / "project.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=project.schema.json\n")
    assert (tmp_path / "specs" / "project.schema.json").is_file()
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert run_cli("check", cwd=tmp_path).returncode == 0


def test_a_manifest_toml_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pixi.toml").write_text('[workspace]\nname = "x\n')
    result = run_cli("init", "--from", "pixi.toml", cwd=tmp_path)
    assert result.returncode == 2 and "pixi.toml: not TOML" in result.stderr and "line 2" in result.stderr
    assert not (tmp_path / "specs").exists()


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text("mine\n")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2 and "never overwrites" in result.stderr
    assert (tmp_path / "specs" / "project.yaml").read_text() == "mine\n"
    assert not (tmp_path / "specs" / "project.schema.json").exists()


def _without_pixi_htcs_own(manifest: dict[str, Any]) -> dict[str, Any]:
    """The generated manifest less what pixi-htc adds by design: the pixi-pack feature and environment."""
    manifest["feature"].pop("pack")
    manifest["environments"].pop("pack")
    return manifest


def test_a_pixi_workspace_round_trips(tmp_path: Path) -> None:
    root, _ = _init(tmp_path, "pixi.toml", PIXI_TOML)
    original = tomllib.loads(PIXI_TOML)
    generated = _without_pixi_htcs_own(tomllib.loads((root / "build" / "pixi.toml").read_text()))
    # Paths are the project root's; build/pixi.toml sits one level down.
    original["pypi-dependencies"]["seg-models"]["path"] = ".."
    assert generated == original


def test_a_pre_071_workspace_comes_back_in_the_form_pixi_migrates_it_to(tmp_path: Path) -> None:
    """[system-requirements] is deprecated (pixi 0.71): what comes back is pixi's documented equivalent."""
    old = PIXI_TOML.replace('  { name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" },\n', "").replace(
        '[feature.cuda]\nplatforms = ["linux-64-cuda-12", "osx-arm64"]\n',
        '[feature.cuda.system-requirements]\ncuda = "12"\n').replace(
        '[dependencies]', '[system-requirements]\nlibc = { family = "glibc", version = "2.17" }\nmacos = "14.0"\n\n[dependencies]')
    assert "system-requirements" in tomllib.loads(old)
    root, _ = _init(tmp_path, "pixi.toml", old)
    generated = tomllib.loads((root / "build" / "pixi.toml").read_text())
    assert "system-requirements" not in generated and "system-requirements" not in generated["feature"]["cuda"]
    assert generated["workspace"]["platforms"] == [
        {"name": "linux-64", "platform": "linux-64", "glibc": "2.17"},
        {"name": "osx-arm64", "platform": "osx-arm64", "macos": "14.0"},
        {"name": "linux-64-cuda-12", "platform": "linux-64", "cuda": "12", "glibc": "2.17"}]
    assert generated["feature"]["cuda"]["platforms"] == ["linux-64-cuda-12", "osx-arm64"]


def test_a_submit_file_comes_back_as_htcondor_reads_it(tmp_path: Path) -> None:
    root, stderr = _init(tmp_path, "train.sub", SUBMIT)
    original = htcondor2.Submit(SUBMIT)
    generated = htcondor2.Submit((root / "build" / "htcondor" / "train.sub").read_text())
    same = ["universe", "container_image", "transfer_output_files", "request_cpus", "request_gpus", "request_memory",
            "request_disk", "gpus_minimum_capability", "MY.WantGPULab", "MY.GPUJobLength", "MY.ProjectName",
            "max_retries"]
    assert {k: generated.get(k) for k in same} == {k: original.get(k) for k in same}
    assert generated["requirements"] == '(GPUs_DriverVersion >= 12.2) && ((Machine != "bad.example.org"))'
    # Paths are the project root's; the .sub is submitted from build/.
    assert generated["transfer_input_files"] == "../run.sh, ../data.tar.gz"
    assert generated["environment"] == '"OMP_NUM_THREADS=4"'
    assert "not carried over: train.sub: notification" in stderr
    spec = (root / "specs" / "project.yaml").read_text()
    assert "#   train.sub: notification" in spec


def test_a_pyproject_tool_pixi_table_moves_in_too(tmp_path: Path) -> None:
    pyproject = "[project]\nname = \"seg\"\n\n" + re.sub(r"(?m)^\[", "[tool.pixi.", PIXI_TOML)
    root, _ = _init(tmp_path, "pyproject.toml", pyproject)
    generated = _without_pixi_htcs_own(tomllib.loads((root / "build" / "pixi.toml").read_text()))
    assert generated["workspace"]["name"] == "seg-models"
    assert generated["feature"]["cuda"]["target"]["linux-64"]["dependencies"] == {"pytorch-gpu": ">=2.5"}

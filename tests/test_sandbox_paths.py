"""Inputs and checkpoint files in subdirectories (#23 items 1 and 2), run for real: the generated job
scripts in a sandbox laid out as HTCondor lays out a job (files placed as the .sub we generate tells
HTCondor to place them, read back with htcondor2), evicted after a checkpoint and resumed with the
files HTCondor spools back; and the Slurm script in its task directory, requeued.

How HTCondor places files (htcondor/htcondor, docs/man-pages/htcondor-jdl.rst and
src/condor_utils/file_transfer.cpp, ExpandFileTransferList and LegalPathInSandbox): every entry of
transfer_input_files, and every spooled checkpoint file, lands in the sandbox's top level under its
base name, unless preserve_relative_paths is true, in which case a relative entry keeps its path, and
one with a '..' segment is refused by the starter (the job is held). The model below follows that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import htcondor2
import pytest

from tests.conftest import run_cli, shellcheck

SPEC = """\
schema_version: 1
name: videos
source: [train.py]
jobs:
  {name}:
    {scheduler}runtime: host
    command: [python3, train.py, "videos/{{video}}.mp4", labels/all.csv, ckpt/state]
    inputs: ["videos/{{video}}.mp4", build/labels/all.csv, data/frames.tar.gz]
    outputs: ["model-{{video}}.txt"]
    checkpoint: {{files: [ckpt/state], exit_code: 85}}
    sweep: {{video: [cat, dog]}}
"""

# The payload: reads the video and the labels where its arguments say, and the frames the archive
# holds; checkpoints once (exit 85) and finishes on the next run only from that checkpoint.
TRAIN = """\
import pathlib, sys
video, labels, state = map(pathlib.Path, sys.argv[1:4])
frames = pathlib.Path("frames/0001.txt").read_text()
seen = video.read_text() + labels.read_text() + frames
if not state.exists():
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("epoch 1 of " + video.name)
    sys.exit(85)
name = video.name.removesuffix(".mp4")
pathlib.Path(f"model-{name}.txt").write_text(f"resumed from {state.read_text()}; {seen}")
"""


def project(tmp_path: Path, scheduler: str) -> Path:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    name = "train" if scheduler == "htcondor" else "train-slurm"
    (root / "specs" / "project.yaml").write_text(
        SPEC.format(name=name, scheduler="" if scheduler == "htcondor" else "scheduler: slurm\n    ")
    )
    (root / "train.py").write_text(TRAIN)
    for video in ("cat", "dog"):
        (root / "videos").mkdir(exist_ok=True)
        (root / "videos" / f"{video}.mp4").write_text(f"{video} frames;")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "0001.txt").write_text("frame one")
    (root / "data").mkdir()
    with tarfile.open(root / "data" / "frames.tar.gz", "w:gz") as tar:
        tar.add(frames, arcname="frames")
    built = run_cli("build", cwd=root)
    assert built.returncode == 0, built.stderr
    (root / "build" / "labels").mkdir()
    (root / "build" / "labels" / "all.csv").write_text("cat,dog;")
    return root


def path_env() -> dict[str, str]:
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/nonexistent"}


# --- HTCondor -------------------------------------------------------------------------------------


def macros(submit: htcondor2.Submit, process: int) -> dict[str, str]:
    row = [dict(item) for item in submit.itemdata()][process]
    return {"Cluster": "7", "Process": str(process), **row}


def expand(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"$({name})", value)
    return text


def listed(submit: htcondor2.Submit, key: str, values: dict[str, str]) -> list[str]:
    return [expand(entry.strip(), values) for entry in submit.get(key, "").split(",") if entry.strip()]


def placed_as(entry: str, preserve: bool) -> str:
    """Where HTCondor writes one transfer-list entry in the receiving directory."""
    if preserve and not entry.startswith("/"):
        assert ".." not in entry.split("/"), f"{entry}: the starter refuses the path and holds the job"
        return entry
    return entry.rsplit("/", 1)[-1]


def copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)


def start(
    root: Path, submit: htcondor2.Submit, values: dict[str, str], sandbox: Path, spool: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A fresh sandbox: the executable, the inputs and (after an eviction) the spooled checkpoint."""
    build = root / "build"
    preserve = submit.get("preserve_relative_paths", "false").lower() == "true"
    sandbox.mkdir()
    executable = submit["executable"]
    copy(build / executable, sandbox / executable.rsplit("/", 1)[-1])
    for entry in listed(submit, "transfer_input_files", values):
        copy(build / entry, sandbox / placed_as(entry, preserve))
    for spooled in sorted(spool.iterdir()) if spool else ():
        copy(spooled, sandbox / spooled.name)
    arguments = expand(submit["arguments"].strip('"'), values).split()
    return subprocess.run(
        ["bash", executable.rsplit("/", 1)[-1], *arguments],
        cwd=sandbox,
        env=path_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def spool_checkpoint(submit: htcondor2.Submit, values: dict[str, str], sandbox: Path, spool: Path) -> None:
    preserve = submit.get("preserve_relative_paths", "false").lower() == "true"
    for entry in listed(submit, "transfer_checkpoint_files", values):
        copy(sandbox / entry, spool / placed_as(entry, preserve))


@pytest.mark.parametrize("process,video", [(0, "cat"), (1, "dog")])
def test_htcondor_job_reads_inputs_in_subdirectories_and_resumes_from_its_checkpoint(
    tmp_path: Path, process: int, video: str
) -> None:
    root = project(tmp_path, "htcondor")
    submit = htcondor2.Submit((root / "build" / "htcondor" / "train.sub").read_text())
    values = macros(submit, process)
    assert f"../videos/{video}.mp4" in listed(submit, "transfer_input_files", values)

    first = start(root, submit, values, tmp_path / "run1")
    assert first.returncode == int(submit["checkpoint_exit_code"]), first.stderr
    spool = tmp_path / "spool"
    spool_checkpoint(submit, values, tmp_path / "run1", spool)
    assert sorted(p.name for p in spool.iterdir()) == ["state"]  # by base name, as HTCondor spools it

    second = start(root, submit, values, tmp_path / "run2", spool)
    assert second.returncode == 0, second.stderr
    outputs = listed(submit, "transfer_output_files", values)
    assert outputs == [f"model-{video}.txt"]
    assert (tmp_path / "run2" / f"{video}.mp4").is_file()  # where HTCondor put it, for commands that read it there
    assert (
        tmp_path / "run2" / outputs[0]
    ).read_text() == f"resumed from epoch 1 of {video}.mp4; {video} frames;cat,dog;frame one"


def test_htcondor_job_that_never_checkpointed_starts_from_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, "htcondor")
    submit = htcondor2.Submit((root / "build" / "htcondor" / "train.sub").read_text())
    ran = start(root, submit, macros(submit, 0), tmp_path / "run")
    assert ran.returncode == 85, ran.stderr
    assert (tmp_path / "run" / "ckpt" / "state").read_text() == "epoch 1 of cat.mp4"


def test_htcondor_job_says_which_input_did_not_arrive(tmp_path: Path) -> None:
    root = project(tmp_path, "htcondor")
    sandbox = tmp_path / "run"
    sandbox.mkdir()
    shutil.copy2(root / "build" / "htcondor" / "train.sh", sandbox / "train.sh")
    ran = subprocess.run(
        ["bash", "train.sh", "7", "0", "cat"], cwd=sandbox, env=path_env(), capture_output=True, text=True, check=False
    )
    assert ran.returncode == 1
    assert "an input was not transferred: cat.mp4" in ran.stderr


def test_top_level_inputs_leave_the_job_files_as_they_were() -> None:
    """The default spec's inputs and checkpoint are all at the top level: its .sh moves nothing."""
    repo = Path(__file__).resolve().parents[1]
    for script in (repo / "build" / "htcondor").glob("mnist-*.sh"):
        text = script.read_text()
        assert "mv -f" not in text and "base name" not in text


def test_generated_scripts_pass_shellcheck(tmp_path: Path) -> None:
    for scheduler, script in (("htcondor", "htcondor/train.sh"), ("slurm", "slurm/train-slurm.sbatch")):
        root = project(tmp_path / scheduler, scheduler)
        checked = shellcheck(root / "build" / script)
        assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    "inputs,message",
    [
        ('["a/labels.csv", "b/labels.csv"]', "both arrive under the base name labels.csv"),
        ("[build/labels.csv, labels.csv]", "both land at labels.csv"),
        ("[state]", "both arrive under the base name state"),
    ],
)
def test_two_files_for_one_place_are_refused_at_their_line(tmp_path: Path, inputs: str, message: str) -> None:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "project.yaml").write_text(f"""\
schema_version: 1
name: clash
source: []
jobs:
  train:
    runtime: host
    command: [python3, train.py]
    inputs: {inputs}
    checkpoint: {{files: [ckpt/state]}}
""")
    result = run_cli("validate", cwd=root)
    assert result.returncode == 2
    assert "specs/project.yaml:" in result.stderr and message in result.stderr, result.stderr


# --- Slurm ----------------------------------------------------------------------------------------


def test_slurm_task_links_inputs_at_their_paths_and_a_requeued_task_resumes(tmp_path: Path) -> None:
    root = project(tmp_path, "slurm")
    build = root / "build"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    requeued = tmp_path / "requeued"
    (bin_dir / "scontrol").write_text(f'#!/bin/bash\necho "$@" >> "{requeued}"\n')
    (bin_dir / "scontrol").chmod(0o755)
    env = {
        **path_env(),
        "PATH": f"{bin_dir}:{path_env()['PATH']}",
        "SLURM_SUBMIT_DIR": str(build),
        "SLURM_ARRAY_JOB_ID": "40",
        "SLURM_ARRAY_TASK_ID": "1",
        "SLURM_JOB_ID": "41",
    }

    def run(restart: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(build / "slurm" / "train-slurm.sbatch")],
            cwd=tmp_path,
            env={**env, "SLURM_RESTART_COUNT": str(restart)},
            capture_output=True,
            text=True,
            check=False,
        )

    first = run(0)
    assert first.returncode == 0, first.stderr
    assert requeued.read_text().split() == ["requeue", "40_1"]
    task = build / "outputs" / "train-slurm" / "40_1"
    assert (task / "videos" / "dog.mp4").resolve() == (root / "videos" / "dog.mp4").resolve()
    assert (task / "labels" / "all.csv").is_symlink()
    assert (task / "ckpt" / "state").read_text() == "epoch 1 of dog.mp4"

    second = run(1)
    assert second.returncode == 0, second.stderr
    assert (task / "model-dog.txt").read_text() == "resumed from epoch 1 of dog.mp4; dog frames;cat,dog;frame one"
    assert os.listdir(task / "videos") == ["dog.mp4"] and (task / "dog.mp4").is_symlink()

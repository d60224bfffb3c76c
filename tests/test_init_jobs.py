"""Moved-in jobs start and run the same command (issue #22): a submit file in a subdirectory of a
repository, its script checked in as 644, paths relative to the .sub; init run from that
subdirectory; the generated job run in a sandbox laid out as HTCondor lays it out (each input by its
base name with the mode it has, only the executable made executable)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import htcondor2
import pytest

from tests.conftest import run_cli

SUB = """\
universe = container
container_image = docker://pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime
executable = {executable}
arguments = "--data data.csv --out model.pt"
transfer_input_files = ../../data/data.csv, ../../../outside.txt
transfer_output_files = model.pt
log = train.log
output = logs/train.out
error = logs/train.err
request_cpus = 1
request_gpus = 1
request_memory = 4GB
queue
"""
SCRIPTS = {
    "run.sh": '#!/bin/bash\nset -e\necho "$@" > args.txt\ntest -f data.csv\ntouch model.pt\n',
    "train.py": "#!/usr/bin/env python3\nimport sys, pathlib\npathlib.Path('args.txt').write_text(' '.join(sys.argv[1:]))\n"
    "assert pathlib.Path('data.csv').is_file()\npathlib.Path('model.pt').touch()\n",
    "plain.sh": 'echo "$@" > args.txt\ntest -f data.csv\ntouch model.pt\n',  # no #! line
}


def _repository(tmp_path: Path, executable: str) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "data").mkdir()
    (repo / "data" / "data.csv").write_text("a,b\n")
    (tmp_path / "outside.txt").write_text("not the project's\n")
    jobs = repo / "jobs" / "train"
    jobs.mkdir(parents=True)
    (jobs / executable).write_text(SCRIPTS[executable])
    (jobs / executable).chmod(0o644)  # as git checks out a script nobody marked executable
    (jobs / "train.sub").write_text(SUB.format(executable=executable))
    return repo


def _sandbox_run(repo: Path, job: str, sandbox: Path) -> subprocess.CompletedProcess[str]:
    """HTCondor's layout: transfer_input_files (relative to initialdir, itself relative to build/,
    where the .sub is submitted from) each under its base name, modes as they are; the executable
    made executable."""
    sub = htcondor2.Submit((repo / "build" / "htcondor" / f"{job}.sub").read_text())  # our own file
    sandbox.mkdir()
    initialdir = repo / "build" / sub["initialdir"] if sub.get("initialdir") else repo / "build"
    for entry in (e.strip() for e in sub["transfer_input_files"].split(",")):
        source = initialdir / entry
        target = sandbox / source.name
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
    executable = sandbox / Path(sub["executable"]).name
    shutil.copy2(repo / "build" / sub["executable"], executable)
    executable.chmod(0o755)
    arguments = sub["arguments"].strip('"').replace("$(Cluster)", "7").replace("$(Process)", "0").split()
    return subprocess.run(
        [str(executable), *arguments], cwd=sandbox, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("executable", sorted(SCRIPTS))
def test_a_moved_in_job_reaches_its_command_with_its_inputs(tmp_path: Path, executable: str) -> None:
    repo = _repository(tmp_path, executable)
    moved = run_cli("init", "--from", "train.sub", cwd=repo / "jobs" / "train")
    assert moved.returncode == 0, moved.stderr
    # The spec lands at the repository's top, where build/ and .github/workflows/ belong.
    assert (repo / "specs" / "project.yaml").is_file() and not (repo / "jobs" / "train" / "specs").exists()
    assert "next: cd ../.. && pixi-htc build" in moved.stdout
    # A path that leads out of the project is reported with its line, never copied as written.
    assert "train.sub:5: transfer_input_files ../../../outside.txt (outside the project" in moved.stderr
    built = run_cli("build", cwd=repo)
    assert built.returncode == 0, built.stderr
    sub = htcondor2.Submit((repo / "build" / "htcondor" / "train.sub").read_text())
    assert sub["transfer_input_files"] == f"../data/data.csv, ../jobs/train/{executable}"
    assert [sub[key] for key in ("log", "output", "error")] == [
        "../jobs/train/train.log",
        "../jobs/train/logs/train.out",
        "../jobs/train/logs/train.err",
    ]
    # Outputs come back where HTCondor returned them: beside the .sub.
    assert sub["transfer_output_remaps"] == '"model.pt = ../jobs/train/model.pt"'
    sandbox = tmp_path / "sandbox"
    ran = _sandbox_run(repo, "train", sandbox)
    assert ran.returncode == 0, ran.stderr
    assert (sandbox / "args.txt").read_text().split() == ["--data", "data.csv", "--out", "model.pt"]
    assert (sandbox / "model.pt").exists()
    assert not os.access(sandbox / executable, os.X_OK)  # it ran through its interpreter


def test_initialdir_is_where_the_paths_start(tmp_path: Path) -> None:
    repo = _repository(tmp_path, "run.sh")
    sub = repo / "jobs" / "train" / "train.sub"
    # The same job, submitted from the repository's top with initialdir pointing at its directory.
    text = "initialdir = jobs/train\n" + sub.read_text()
    (repo / "train.sub").write_text(text)
    sub.unlink()
    moved = run_cli("init", "--from", "train.sub", cwd=repo)
    assert moved.returncode == 0, moved.stderr
    assert "initialdir" not in moved.stderr
    assert run_cli("build", cwd=repo).returncode == 0
    generated = htcondor2.Submit((repo / "build" / "htcondor" / "train.sub").read_text())
    assert generated["transfer_input_files"] == "../data/data.csv, ../jobs/train/run.sh"
    assert _sandbox_run(repo, "train", tmp_path / "sandbox").returncode == 0


def test_a_slurm_script_is_recognised_by_its_sbatch_lines(tmp_path: Path) -> None:
    (tmp_path / "train.job").write_text("#!/bin/bash\n#SBATCH --gres=gpu:1\npython train.py\n")
    result = run_cli("init", "--from", "train.job", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((tmp_path / "specs" / "project.yaml").read_text())["jobs"]["train"]
    assert job["scheduler"] == "slurm" and job["command"] == ["bash", "train.job"] and job["resources"]["gpus"] == 1


VANILLA = """\
universe = vanilla
executable = run.sh
arguments = --lr 0.1
transfer_input_files = train.py
request_cpus = 2
request_memory = 4GB
request_disk = 10GB
requirements = (OpSysMajorVer > 7) && (Arch == "X86_64")
queue
"""


def test_a_job_that_brings_its_own_software_runs_on_the_host(tmp_path: Path) -> None:
    """A vanilla job whose script sets up its own software (a CVMFS setup script here) becomes
    runtime host: no pixi-pack archive, no image, no GPU it did not ask for, its clauses as written."""
    (tmp_path / "run.sh").write_text(
        '#!/bin/bash\n[ -f /cvmfs/x/setup.sh ] && . /cvmfs/x/setup.sh\necho "$@" > args.txt\ntest -f train.py\n'
    )
    (tmp_path / "train.py").write_text("print('train')\n")
    (tmp_path / "job.sub").write_text(VANILLA)
    moved = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert moved.returncode == 0 and "not carried over" not in moved.stderr, moved.stderr
    assert "next: pixi-htc build" in moved.stdout and "wrote specs/project.yaml" in moved.stdout
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    original = htcondor2.Submit(VANILLA)
    generated = htcondor2.Submit((tmp_path / "build" / "htcondor" / "job.sub").read_text())
    assert generated["universe"] == "vanilla" and "container_image" not in generated
    assert generated.get("request_gpus", "0") == "0"
    assert generated["requirements"] == '(OpSysMajorVer > 7) && (Arch == "X86_64")'
    assert {k: generated[k] for k in ("request_cpus", "request_memory", "request_disk")} == {
        k: original[k] for k in ("request_cpus", "request_memory", "request_disk")
    }
    assert not (tmp_path / "build" / "pack.sh").exists() and not (tmp_path / "build" / "pixi.toml").exists()
    sandbox = tmp_path / "sandbox"
    ran = _sandbox_run(tmp_path, "job", sandbox)
    assert ran.returncode == 0, ran.stderr
    assert (sandbox / "args.txt").read_text().split() == ["--lr", "0.1"]


def test_runtime_host_takes_no_image_or_environment(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(
        "schema_version: 1\nname: demo\nsource: []\njobs:\n  a:\n    runtime: host\n    image: docker://x/y:1\n"
        "    command: [python, a.py]\n    resources: {gpus: 0}\n"
    )
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "specs/project.yaml:7:5: error: jobs.a.image: runtime host" in result.stderr


def test_runtime_host_on_slurm_runs_the_command_as_it_is(tmp_path: Path) -> None:
    from tests.conftest import shellcheck

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(
        "schema_version: 1\nname: demo\nscheduler: slurm\nsource: [run.sh]\njobs:\n  a:\n    runtime: host\n"
        "    command: [bash, run.sh, --lr, '0.1']\n    resources: {gpus: 1}\n"
    )
    (tmp_path / "run.sh").write_text("echo hi\n")
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    script = tmp_path / "build" / "slurm" / "a.sbatch"
    text = script.read_text()
    assert "runtime host" in text and "apptainer exec" not in text and "pixi shell-hook" not in text
    assert '"${_launch[@]}" bash run.sh --lr 0.1 &' in text
    assert shellcheck(script).returncode == 0


SLURM_SCRIPT = """\
#!/bin/bash
#SBATCH --job-name=resnet-train
#SBATCH --partition=gpu --account=lab42
#SBATCH -t 04:00:00
#SBATCH --cpus-per-task=8 --mem=32G
#SBATCH --gres=gpu:a100:2
#SBATCH --output=logs/%x-%j.out
#SBATCH --mail-type=END --mail-user=me@example.org
#SBATCH --nodes=1

module load cuda/12.1
srun python train.py --epochs 10
"""


def test_a_slurm_script_moves_in_and_its_body_runs_as_it_did(tmp_path: Path) -> None:
    """#SBATCH options become the job's keys; the script itself runs (runtime host), so its module
    and srun lines do what they did. Run here as Slurm runs a batch script: bash, in the submit
    directory, with SLURM_* set; stand-ins for module, srun and python record what they get."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.slurm").write_text(SLURM_SCRIPT)
    moved = run_cli("init", "--from", "scripts/train.slurm", cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert "not carried over: train.slurm:7: #SBATCH --output=logs/%x-%j.out" in moved.stderr
    assert "mail" not in moved.stderr and "nodes" not in moved.stderr
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((tmp_path / "specs" / "project.yaml").read_text())["jobs"]["resnet-train"]
    assert job["resources"] == {"gpus": 2, "cpus": 8, "memory": "32GB"}
    assert job["slurm"] == {
        "partition": "gpu",
        "account": "lab42",
        "time": "04:00:00",
        "gpu_type": "a100",
        "mail_type": "END",
        "mail_user": "me@example.org",
    }
    assert run_cli("build", cwd=tmp_path).returncode == 0
    script = (tmp_path / "build" / "slurm" / "resnet-train.sbatch").read_text()
    for option in (
        "--partition=gpu",
        "--account=lab42",
        "--time=04:00:00",
        "--cpus-per-task=8",
        "--mem=32G",
        "--gres=gpu:a100:2",
        "--mail-type=END",
        "--mail-user=me@example.org",
    ):
        assert f"#SBATCH {option}\n" in script
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    record = tmp_path / "calls.txt"
    for name in ("module", "srun", "python", "nvidia-smi"):
        (stand_ins / name).write_text(
            f'#!/bin/bash\necho "{name} $*" >> {record}\n' + ('exec "$@"\n' if name == "srun" else "")
        )
        (stand_ins / name).chmod(0o755)
    env = {
        "PATH": f"{stand_ins}:/usr/bin:/bin",
        "SLURM_SUBMIT_DIR": str(tmp_path / "build"),
        "SLURM_JOB_ID": "41",
        "HOME": str(tmp_path),
    }
    ran = subprocess.run(
        ["bash", str(tmp_path / "build" / "slurm" / "resnet-train.sbatch")],
        cwd=tmp_path / "build",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    calls = record.read_text().splitlines()
    assert "module load cuda/12.1" in calls and "python train.py --epochs 10" in calls

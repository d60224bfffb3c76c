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
    assert "not carried over" not in moved.stderr
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
        "output": "scripts/logs/%x-%j.out",  # where sbatch, run in scripts/, put it
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
        "--output=../scripts/logs/%x-%j.out",
    ):
        assert f"#SBATCH {option}\n" in script
    assert "#SBATCH --error" not in script  # stderr goes with stdout, as the script had it
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


def _moved(tmp_path: Path, name: str, text: str) -> tuple[dict, str]:
    (tmp_path / name).write_text(text)
    moved = run_cli("init", "--from", name, cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((tmp_path / "specs" / "project.yaml").read_text())
    return spec, moved.stderr


def test_a_job_named_as_pixi_htcs_own_scripts_is_renamed(tmp_path: Path) -> None:
    """submit.sub (CHTC's templates) and a Slurm --job-name=submit: pixi-htc writes submit.sh itself."""
    (tmp_path / "a").mkdir()
    spec, _ = _moved(tmp_path / "a", "submit.sub", "executable = /bin/true\nlog = x.log\nqueue\n")
    assert list(spec["jobs"]) == ["submit-job"]
    assert run_cli("build", cwd=tmp_path / "a").returncode == 0
    (tmp_path / "b").mkdir()
    spec, _ = _moved(tmp_path / "b", "job.slurm", "#!/bin/bash\n#SBATCH --job-name=submit\nhostname\n")
    assert list(spec["jobs"]) == ["submit-job"]
    assert run_cli("build", cwd=tmp_path / "b").returncode == 0


def test_init_says_why_what_it_wrote_would_not_build(tmp_path: Path) -> None:
    """A placeholder left in a template's image: init writes the spec and says what build will say,
    at the spec's line and the submit file's, and no follow-on error about a default environment."""
    text = "container_image = osdf:///ospool/<AP>/data/<USER>/torch.sif\nexecutable = /bin/true\nqueue\n"
    (tmp_path / "job.sub").write_text(text)
    moved = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert moved.returncode == 0
    problems = [line.strip() for line in moved.stderr.splitlines() if "error:" in line]
    assert "specs/project.yaml does not build yet" in moved.stderr
    assert len(problems) == 1 and problems[0].startswith("specs/project.yaml:")
    assert "jobs.job.image" in problems[0] and problems[0].endswith("(moved in from job.sub:1)")
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 2 and problems[0] in built.stderr and "environment" not in built.stderr


def test_image_forms_move_in_as_htcondor_reads_them(tmp_path: Path) -> None:
    forms = {
        "file:///staging/me/fold.sif": ("file:///staging/me/fold.sif", "apptainer"),
        "/cvmfs/singularity.opensciencegrid.org/me/keras:2.9/": (
            "/cvmfs/singularity.opensciencegrid.org/me/keras:2.9",
            "apptainer",
        ),
    }
    for index, (written, (image, runtime)) in enumerate(forms.items()):
        here = tmp_path / str(index)
        here.mkdir()
        text = f"container_image = {written}\nexecutable = /bin/true\nrequest_gpus = 1\nlog = x.log\nqueue\n"
        spec, stderr = _moved(here, "fold.sub", text)
        job = spec["jobs"]["fold"]
        assert (job["image"], job["runtime"]) == (image, runtime) and "does not build" not in stderr
        assert run_cli("build", cwd=here).returncode == 0
        generated = htcondor2.Submit((here / "build" / "htcondor" / "fold.sub").read_text())
        assert generated["container_image"] == image


def test_pull_policy_and_driver_attribute_stay_as_written(tmp_path: Path) -> None:
    text = (
        "universe = docker\ndocker_image = python:3.12\ndocker_pull_policy = missing\nexecutable = /bin/true\n"
        "request_gpus = 1\nrequirements = (CUDADriverVersion >= 11.1)\nlog = x.log\nqueue\n"
    )
    spec, stderr = _moved(tmp_path, "d.sub", text)
    assert spec["jobs"]["d"]["docker_pull_policy"] == "missing" and "not carried" not in stderr
    assert run_cli("build", cwd=tmp_path).returncode == 0
    generated = htcondor2.Submit((tmp_path / "build" / "htcondor" / "d.sub").read_text())
    original = htcondor2.Submit(text)
    assert generated["docker_pull_policy"] == original["docker_pull_policy"]
    assert "CUDADriverVersion >= 11.1" in generated["requirements"] and "GPUs_Driver" not in generated["requirements"]
    (tmp_path / "2").mkdir()
    container = text.replace("universe = docker\ndocker_image", "container_image")
    _, stderr = _moved(tmp_path / "2", "d.sub", container)
    assert "not carried" not in stderr  # missing is HTCondor's default in every universe


def test_a_directory_named_with_a_slash_sends_its_entries(tmp_path: Path) -> None:
    """`transfer_input_files = inputs/`: HTCondor writes the directory's entries in the sandbox's top
    level. The generated .sub names it so; on Slurm the entries are linked in the task's directory."""
    (tmp_path / "jobs" / "inputs").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ("a.txt", "b.csv"):
        (tmp_path / "jobs" / "inputs" / name).write_text("x\n")
    text = "executable = /bin/true\ntransfer_input_files = inputs/\nlog = x.log\nqueue\n"
    (tmp_path / "jobs" / "dock.sub").write_text(text)
    assert run_cli("init", "--from", "dock.sub", cwd=tmp_path / "jobs").returncode == 0
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((tmp_path / "specs" / "project.yaml").read_text())
    assert spec["jobs"]["dock"]["inputs"] == ["jobs/inputs/"]
    assert run_cli("build", cwd=tmp_path).returncode == 0
    generated = htcondor2.Submit((tmp_path / "build" / "htcondor" / "dock.sub").read_text())
    # A job naming no outputs gets initialdir (jobs/, its .sub's directory), which HTCondor reads the
    # transfer list from: the directory's contents, the trailing / kept.
    assert generated["initialdir"] == "../jobs" and generated["transfer_input_files"] == "inputs/"
    # The same input on Slurm: run as Slurm runs it, in the build directory with SLURM_* set.
    from tests.conftest import shellcheck

    (tmp_path / "run.sh").write_text("test -f a.txt && test -f b.csv && test ! -e inputs && touch ok\n")
    (tmp_path / "specs" / "project.yaml").write_text(
        "schema_version: 1\nname: demo\nscheduler: slurm\nsource: [run.sh]\njobs:\n  a:\n    runtime: host\n"
        "    command: [bash, run.sh]\n    inputs: [jobs/inputs/]\n    resources: {gpus: 0}\n"
    )
    assert run_cli("build", cwd=tmp_path).returncode == 0
    script = tmp_path / "build" / "slurm" / "a.sbatch"
    assert shellcheck(script).returncode == 0
    env = {"PATH": "/usr/bin:/bin", "SLURM_SUBMIT_DIR": str(tmp_path / "build"), "SLURM_JOB_ID": "41"}
    ran = subprocess.run(
        ["bash", str(script)], cwd=tmp_path / "build", env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert [p.name for p in (tmp_path / "build" / "outputs" / "a").rglob("ok")] == ["ok"]


def test_a_slurm_script_finds_everything_beside_it(tmp_path: Path) -> None:
    """Slurm runs a script where sbatch ran, with all of its directory there: every entry beside it is
    linked where it runs (however the script names it), but not .git, specs, build or dot files."""
    (tmp_path / ".git").mkdir()
    for name in ("svd.m", "hello_gpu", ".env"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "job.slurm").write_text("#!/bin/bash\n#SBATCH --gres=gpu:1\nmatlab -r svd\n./hello_gpu\n")
    spec, _ = _moved(tmp_path, "job.slurm", (tmp_path / "job.slurm").read_text())
    assert spec["source"] == ["job.slurm", "data", "hello_gpu", "svd.m"]


@pytest.mark.parametrize(
    ("chdir", "listed"),
    [
        ("--chdir=/home/alice/proj/jobs", False),  # the author's checkout of this very directory
        ("--chdir=.", False),
        ("-D /home/alice/proj/jobs/", False),
        ("--chdir=/home/alice/other/jobs", True),
        ("--chdir=/scratch/alice/run", True),
        ("--chdir=../data", False),  # the project's data/: the job runs there
        ("--chdir=/home/alice/proj/data", False),
        ("--chdir=/home/alice/proj/jobs/../data", True),
        ("--chdir=/home/alice/proj/missing", True),
    ],
)
def test_a_slurm_chdir_into_the_project_is_where_the_moved_in_job_runs(
    tmp_path: Path, chdir: str, listed: bool
) -> None:
    """The moved-in job runs the script beside the entries of the directory --chdir names (linked where
    it runs), also named by the author's absolute path to it (the part after the project's name); a
    directory this project does not have is listed."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "jobs").mkdir()
    (root / "data").mkdir()
    (root / "jobs" / "train.py").write_text("print(1)\n")
    (root / "data" / "x.csv").write_text("1\n")
    text = f"#!/bin/bash\n#SBATCH --gres=gpu:1\n#SBATCH {chdir}\npython train.py\n"
    (root / "jobs" / "train.sh").write_text(text)
    moved = run_cli("init", "--from", "train.sh", cwd=root / "jobs")
    assert moved.returncode == 0, moved.stderr
    assert ("train.sh:3: #SBATCH" in moved.stderr) is listed, moved.stderr
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())
    assert next(iter(spec["jobs"].values()))["command"] == ["bash", "train.sh"]
    assert ("data/x.csv" in spec["source"]) is ("data" in chdir and not listed), spec["source"]
    assert ("jobs/train.py" in spec["source"]) is ("data" not in chdir or listed), spec["source"]
    assert run_cli("build", cwd=root).returncode == 0


def test_a_slurm_script_submitted_from_the_top_finds_what_it_names_from_there(tmp_path: Path) -> None:
    """jobs/fit.sh runs `python src/fit.py --config configs/a.json`: sbatch ran at the project's top
    (from jobs/ neither path exists). The job links the top's entries and reaches the command with both
    present; a ../ path is listed."""
    root = tmp_path / "proj"
    for name in ("jobs", "src", "configs"):
        (root / name).mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "fit.py").write_text("print(1)\n")
    (root / "configs" / "a.json").write_text("{}\n")
    text = (
        "#!/bin/bash\n#SBATCH --time=01:00:00\nmodule load python\n"
        "python src/fit.py --config configs/a.json\ncp out.txt ../results/\n"
    )
    (root / "jobs" / "fit.sh").write_text(text)
    (root / "fit.sh").write_text("echo another script of that name\n")  # linked at the top: no clash
    moved = run_cli("init", "--from", "fit.sh", cwd=root / "jobs")
    assert moved.returncode == 0, moved.stderr
    assert "fit.sh:5: ../results/ leads out of the directory the job runs in" in moved.stderr, moved.stderr
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())
    assert {"src", "configs", "jobs"} <= set(spec["source"]), spec["source"]
    assert next(iter(spec["jobs"].values()))["command"] == ["bash", "jobs/fit.sh"]  # as sbatch ran it
    assert run_cli("build", cwd=root).returncode == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text('#!/bin/bash\n[ -f "$1" ] && [ -f "$3" ] && echo "$@" > "$PIXI_HTC_TEST_RECORD"\n')
    (bin_dir / "module").write_text("#!/bin/bash\n")
    for stand_in in bin_dir.iterdir():
        stand_in.chmod(0o755)
    record = tmp_path / "record.txt"
    script = next((root / "build" / "slurm").glob("*.sbatch"))
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SLURM_SUBMIT_DIR": str(root / "build"),
        "SLURM_JOB_ID": "41",
        "PIXI_HTC_TEST_RECORD": str(record),
    }
    subprocess.run(["bash", str(script)], cwd=root / "build", env=env, capture_output=True, timeout=60, check=False)
    assert record.read_text() == "src/fit.py --config configs/a.json\n"


def test_a_dot_entry_the_slurm_script_names_is_listed_at_the_line_naming_it(tmp_path: Path) -> None:
    """.env and .venv beside the script are not linked where the job runs (they would become source):
    the ones the script names are listed where it names them; others (.DS_Store) say nothing."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".env").write_text("TOKEN=x\n")
    (tmp_path / ".DS_Store").write_text("x")
    text = "#!/bin/bash\n#SBATCH --gres=gpu:1\nsource .venv/bin/activate\nset -a; . ./.env; set +a\npython t.py\n"
    spec, stderr = _moved(tmp_path, "job.slurm", text)
    assert "job.slurm:3: .venv is not linked" in stderr and "job.slurm:4: .env is not linked" in stderr, stderr
    assert ".DS_Store" not in stderr
    assert not any(name.startswith(".") for name in spec["source"])


@pytest.mark.parametrize("time", ["48:0:00", "2-0:0:0", "90:5", "1-2"])
def test_a_slurm_time_with_one_digit_fields_is_carried_as_written(tmp_path: Path, time: str) -> None:
    """sbatch reads 48:0:00 as 48:00:00: the time limit moves in as it was written."""
    (tmp_path / ".git").mkdir()
    spec, stderr = _moved(tmp_path, "job.sh", f"#!/bin/bash\n#SBATCH --time={time}\npython t.py\n")
    assert "not carried" not in stderr, stderr
    assert next(iter(spec["jobs"].values()))["slurm"]["time"] == time
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert f"#SBATCH --time={time}\n" in next((tmp_path / "build" / "slurm").glob("*.sbatch")).read_text()


def test_the_author_s_checkout_is_found_from_the_absolute_paths_a_file_names(tmp_path: Path) -> None:
    """By the project's own name, or by the longest tail of two names or more that the project holds;
    a system program, a lone name or a path nothing in the project matches gives nothing."""
    from pixi_htc.init.places import Places, author_root

    root = tmp_path / "Wcb"
    (root / "condor" / "Scripts").mkdir(parents=True)
    (root / "condor" / "Scripts" / "fetchFiles.py").write_text("")
    assert author_root(root, ["/ospool/u/alice/Wcb/logs/x.log"]) == ""  # logs/x.log is not in the project
    assert author_root(root, ["--scratch /ospool/u/alice/Wcb"]) == ""  # the name alone says nothing (review28)
    assert author_root(root, ["/ospool/u/alice/Wcb/condor"]) == "/ospool/u/alice/Wcb"
    moved = tmp_path / "other-name"
    shutil.copytree(root, moved)
    words = ["/ospool/u/alice/A/condor/Scripts/fetchFiles.py, /usr/bin/env", "/usr/bin/python3 run.py"]
    assert author_root(moved, words) == "/ospool/u/alice/A"
    assert author_root(moved, ["/usr/bin/env python3", "/data/Scripts/other.py", "/x"]) == ""
    # Only a path's last 32 names are looked for: 2,000 parts of a hostile word cost 32 looks, not millions.
    deep = "/" + "/".join(["a"] * 2_000)
    assert author_root(moved, [f"{deep}/condor/Scripts/fetchFiles.py"] * 1_000) == deep
    assert author_root(moved, ["/ospool/" + "/".join(["condor", "Scripts", "fetchFiles.py"] + ["x"] * 40)]) == ""
    places = Places.of(moved, moved, "/ospool/u/alice/A/condor", "/ospool/u/alice/A")
    assert places.base == "condor"
    assert places.rebased("/ospool/u/alice/A/log/a.log") == "log/a.log"
    assert places.rebased("/ospool/u/alice/Other/a.log") is None
    assert places.rebased("/ospool/u/alice/A/../B/a.log") is None


@pytest.mark.parametrize("option", ["--ntasks=4", "--ntasks-per-node=4", "-n 4"])
def test_tasks_on_one_node_are_carried(tmp_path: Path, option: str) -> None:
    """`--ntasks-per-node=4 --mem-per-cpu=8G` (a script that runs srun): the allocation stays four
    tasks' (real22d s8 shrank to one); the sbatch says --ntasks=4 on --nodes=1."""
    (tmp_path / ".git").mkdir()
    text = f"#!/bin/bash\n#SBATCH {option}\n#SBATCH --mem-per-cpu=8G\nsrun python t.py\n"
    spec, stderr = _moved(tmp_path, "job.sh", text)
    assert "not carried" not in stderr, stderr
    assert next(iter(spec["jobs"].values()))["slurm"]["ntasks"] == 4
    assert run_cli("build", cwd=tmp_path).returncode == 0
    sbatch = next((tmp_path / "build" / "slurm").glob("*.sbatch")).read_text()
    assert "#SBATCH --ntasks=4\n" in sbatch and "#SBATCH --nodes=1\n" in sbatch and "--mem-per-cpu=8G" in sbatch

"""Issue #22's missing keys: each moved in from a submit file of its own, built, the .sub read back
with HTCondor's parser, and where it changes what runs, the generated job script run in a sandbox
laid out as HTCondor lays one out. Also each key on a Slurm job (an error at its line) and the rules
that tie it to others."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import htcondor2
import pytest

from tests.conftest import run_cli, shellcheck

RECORDER = '#!/bin/sh\nprintf \'%s\\n\' "$PWD" "$@" > "$RECORD"\nenv > "$RECORD.env"\n'


def moved_in(tmp_path: Path, text: str, *, where: str = "", files: tuple[str, ...] = ()) -> tuple[Path, str]:
    """A repository with the submit file at `where`, moved in and built: (root, init's stderr)."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    directory = root / where
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "job.sub").write_text(text)
    for name in files:
        (directory / name).write_text("print('hello')\n")
    init = run_cli("init", "--from", "job.sub", cwd=directory)
    assert init.returncode == 0, init.stderr
    built = run_cli("build", cwd=root)
    assert built.returncode == 0, built.stderr
    return root, init.stderr


def submit(root: Path, job: str = "job") -> htcondor2.Submit:
    return htcondor2.Submit((root / "build" / "htcondor" / f"{job}.sub").read_text())


def run_in_sandbox(root: Path, sandbox: Path, job: str = "job") -> subprocess.CompletedProcess[str]:
    """The job's .sh as HTCondor runs it: transfer_input_files read from initialdir (relative to the
    build directory, where condor_submit runs) land in the sandbox under their base names; a stand-in
    python3 records its directory, arguments and environment."""
    sub = submit(root, job)
    build = root / "build"
    initialdir = (build / sub["initialdir"]).resolve() if sub.get("initialdir") else build
    sandbox.mkdir()
    for entry in (e.strip() for e in sub.get("transfer_input_files", "").split(",") if e.strip()):
        shutil.copy(initialdir / entry, sandbox / Path(entry).name)
    bin_dir = sandbox.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python3").write_text(RECORDER)
    (bin_dir / "python3").chmod(0o755)
    environment = (
        sub.expand("environment").strip('"') if "environment" in sub else ""
    )  # condor_submit's own expansion ($(DOLLAR))
    env = dict(word.split("=", 1) for word in shlex.split(environment) if "=" in word)
    arguments = sub["arguments"].strip('"').replace("$(Cluster)", "7").replace("$(Process)", "3").split()
    return subprocess.run(
        ["bash", str(build / sub["executable"]), *arguments],
        cwd=sandbox,
        env={
            **env,
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "RECORD": str(sandbox.parent / "record"),
            "_CONDOR_SCRATCH_DIR": str(sandbox),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


BASE = """executable = /usr/bin/env
transfer_executable = false
transfer_input_files = run.py
request_memory = 1GB
request_disk = 1GB
"""


def test_docker_network_type_is_carried_and_written(tmp_path: Path) -> None:
    text = "universe = docker\ndocker_image = python:3.12\ndocker_network_type = none\n" + BASE + "queue\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr
    sub = submit(root)
    assert sub["universe"] == "docker" and sub["docker_network_type"] == "none"


def test_file_url_inputs_are_transferred_as_written(tmp_path: Path) -> None:
    text = (
        BASE.replace("run.py\n", "run.py, file:///staging/alice/data.tar.gz\n") + "arguments = python3 run.py\nqueue\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr
    entries = [e.strip() for e in submit(root)["transfer_input_files"].split(",")]
    assert "file:///staging/alice/data.tar.gz" in entries


def test_dollar_in_environment_values_reaches_the_job_literally(tmp_path: Path) -> None:
    text = (
        BASE
        + "arguments = python3 run.py\nenvironment = \"PRICE=$5 TEMPLATE=$(DOLLAR)(name) LABEL='a $HOME b'\"\nqueue\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr
    ran = run_in_sandbox(root, tmp_path / "sandbox")
    assert ran.returncode == 0, ran.stderr
    seen = dict(line.split("=", 1) for line in (tmp_path / "record.env").read_text().splitlines() if "=" in line)
    assert seen["PRICE"] == "$5" and seen["TEMPLATE"] == "$(name)" and seen["LABEL"] == "a $HOME b"


def test_match_time_and_function_macros_are_reported_not_written(tmp_path: Path) -> None:
    text = (
        BASE
        + 'arguments = python3 run.py --host $$(Machine) --home $ENV(HOME)\nenvironment = "SITE=$$(GLIDEIN_Site)"\nqueue\n'
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: arguments $$(Machine)" in stderr and "job.sub:6: arguments $ENV(HOME)" in stderr
    assert "job.sub:7: environment $$(GLIDEIN_Site)" in stderr
    assert "$" not in (root / "build" / "htcondor" / "job.sh").read_text().split("exec ", 1)[1].split("\n")[0]


def test_submit_macros_in_arguments_become_placeholders(tmp_path: Path) -> None:
    text = (
        BASE
        + "seed = 42\narguments = python3 run.py --step $(Step) --id $(JobId) --seed $(seed) --node $(Node)\nqueue 4\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr
    ran = run_in_sandbox(root, tmp_path / "sandbox")
    assert ran.returncode == 0, ran.stderr
    called = (tmp_path / "record").read_text().splitlines()[1:]
    # $(Node) is empty outside a parallel job: the old syntax drops the word, as condor_submit does.
    assert called == ["run.py", "--step", "3", "--id", "7.3", "--seed", "42", "--node"]


def test_a_job_that_names_no_outputs_returns_them_beside_its_submit_file(tmp_path: Path) -> None:
    root, _ = moved_in(
        tmp_path, BASE + "arguments = python3 run.py\nlog = sim.log\nqueue\n", where="jobs/sim", files=("run.py",)
    )
    sub = submit(root)
    # HTCondor returns every new top-level file to initialdir, read from build/ where condor_submit runs.
    assert (root / "build" / sub["initialdir"]).resolve() == (root / "jobs" / "sim").resolve()
    assert sub["transfer_input_files"] == "run.py" and sub["log"] == "sim.log"
    assert sub["output"] == "../../build/logs/job_$(Cluster)_$(Process).out"
    assert sub["executable"] == "htcondor/job.sh"  # condor_submit's directory, not initialdir
    ran = run_in_sandbox(root, tmp_path / "sandbox")
    assert ran.returncode == 0, ran.stderr


def test_a_job_that_names_its_outputs_keeps_the_build_directory(tmp_path: Path) -> None:
    text = BASE + "arguments = python3 run.py\ntransfer_output_files = out.csv\nqueue\n"
    root, _ = moved_in(tmp_path, text, where="jobs/sim", files=("run.py",))
    sub = submit(root)
    assert "initialdir" not in sub
    assert "out.csv = ../jobs/sim/out.csv" in sub["transfer_output_remaps"]


@pytest.mark.parametrize("value", ["IF_NEEDED", "NO"])
def test_should_transfer_files_on_a_shared_filesystem(tmp_path: Path, value: str) -> None:
    text = (
        BASE.replace("run.py\n", "run.py, data.csv\n")
        + f"arguments = python3 run.py data.csv\nshould_transfer_files = {value}\nqueue\n"
    )
    root, stderr = moved_in(tmp_path, text, where="jobs/sim", files=("run.py", "data.csv"))
    assert "not carried" not in stderr
    sub = submit(root)
    assert sub["should_transfer_files"] == value
    assert (root / "build" / sub["initialdir"]).resolve() == (root / "jobs" / "sim").resolve()
    # No sandbox: the job runs in initialdir, where its files are, and the .sh links nothing there.
    before = sorted(p.name for p in (root / "jobs" / "sim").iterdir())
    record = tmp_path / "record"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(RECORDER)
    (bin_dir / "python3").chmod(0o755)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ran = subprocess.run(
        ["bash", str(root / "build" / "htcondor" / "job.sh"), "7", "0"],
        cwd=root / "jobs" / "sim",
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(record), "_CONDOR_SCRATCH_DIR": str(scratch)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert record.read_text().splitlines() == [str(root / "jobs" / "sim"), "run.py", "data.csv"]
    assert sorted(p.name for p in (root / "jobs" / "sim").iterdir()) == before
    assert shellcheck(root / "build" / "htcondor" / "job.sh").returncode == 0


def test_require_gpus_with_floors_comes_back_as_written(tmp_path: Path) -> None:
    """Both kept as the file had them: condor_submit itself ANDs the floors into RequireGPUs, leaving
    out a floor whose GPU property require_gpus names (SetResourceRequirements, submit_utils.cpp), so
    the moved-in job matches the slots the original matched; preflight matches the same way."""
    text = BASE + (
        "arguments = python3 run.py\nrequest_gpus = 1\ngpus_minimum_capability = 7.5\ngpus_minimum_memory = 16GB\n"
        "require_gpus = (Capability < 9.0)\nqueue\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr
    sub = submit(root)
    assert sub["require_gpus"] == "(Capability < 9.0)"
    assert sub["gpus_minimum_capability"] == "7.5" and sub["gpus_minimum_memory"].upper() in ("16GB", "16384MB")


def spec(tmp_path: Path, job: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(
        "schema_version: 1\nname: demo\nsource: [run.py]\njobs:\n  j:\n" + job
    )
    (tmp_path / "run.py").write_text("print(1)\n")
    return run_cli("validate", cwd=tmp_path)


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (
            "    scheduler: slurm\n    runtime: host\n    command: [python3, run.py]\n    initialdir: jobs\n",
            "project.yaml:9:5: error: jobs.j.initialdir: 'initialdir' is for HTCondor jobs",
        ),
        (
            "    scheduler: slurm\n    runtime: host\n    command: [python3, run.py]\n    should_transfer_files: NO\n",
            "project.yaml:9:5: error: jobs.j.should_transfer_files: 'should_transfer_files' is for HTCondor jobs",
        ),
        (
            "    runtime: container\n    image: docker://python:3.12\n    command: [python3, run.py]\n"
            "    docker_network_type: none\n",
            "project.yaml:9:5: error: jobs.j.docker_network_type: docker_network_type is for the docker universe",
        ),
        (
            "    runtime: host\n    command: [python3, run.py]\n    should_transfer_files: IF_NEEDED\n",
            "project.yaml:8:28: error: jobs.j.should_transfer_files: with IF_NEEDED the job may run",
        ),
        (
            "    runtime: host\n    command: [python3, run.py]\n    should_transfer_files: NO\n    initialdir: jobs\n",
            "project.yaml:3:10: error: source[0]: 'run.py' is not directly in initialdir jobs",
        ),
        (
            "    runtime: host\n    command: [python3, run.py]\n    env: {A: $$(Name)}\n",
            "error: jobs.j.env.A",
        ),
        (
            "    scheduler: slurm\n    runtime: host\n    command: [python3, run.py]\n    inputs: [file:///data/x]\n",
            "jobs.j.inputs[0]: a Slurm job reads its inputs from the shared filesystem",
        ),
    ],
)
def test_rules_with_their_lines(tmp_path: Path, job: str, expected: str) -> None:
    checked = spec(tmp_path, job)
    assert checked.returncode == 2
    assert expected in checked.stderr, checked.stderr


def test_a_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    checked = spec(tmp_path, "    runtime: host\n    command: [python3, run.py]\n    initial_dir: jobs\n")
    assert checked.returncode == 2 and "initialdir" in checked.stderr, checked.stderr


def test_the_schema_states_each_key() -> None:
    import json

    schema = json.loads((Path(__file__).parent.parent / "schema" / "project.schema.json").read_text())
    job = schema["$defs"]["job"]["properties"]
    for key in ("docker_network_type", "should_transfer_files", "initialdir"):
        assert job[key]["description"] and job[key]["examples"], key
    assert job["should_transfer_files"]["default"] == "YES"

"""Slurm (#14): the spec language, the generated sbatch scripts, and a real single-node cluster running them."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixi_htc.schedulers.htcondor.render import queue_table
from pixi_htc.spec.scheduler_rules import HTCONDOR_ONLY
from tests.conftest import REPO, load_project, run_cli, shellcheck, tree_bytes
from tests.slurm_cluster import Cluster, missing

SLURM_SPEC = REPO / "tests" / "slurm" / "project.yaml"
PYTHON_BIN = Path(sys.executable).parent  # has torch: the stand-ins put it on the jobs' PATH
HEAD = """\
schema_version: 1
name: demo
environments:
  cpu: {cuda: "12", dependencies: {python: "*"}}
container: {environment: cpu}
pack: {environment: cpu}
"""


def project_with(tmp_path: Path, text: str, name: str = "project.yaml") -> Path:
    (tmp_path / "specs").mkdir(exist_ok=True)
    spec = tmp_path / "specs" / name
    spec.write_text(text)
    return spec


def build(root: Path, spec: str = "specs/project.yaml") -> subprocess.CompletedProcess[str]:
    return run_cli("build", spec, "--out", "build", cwd=root)


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 2, result.stdout + result.stderr
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def sbatch_options(script: str) -> dict[str, str | None]:
    """The #SBATCH lines sbatch reads: those before the first command."""
    found: dict[str, str | None] = {}
    for line in script.splitlines()[1:]:
        if line.startswith("#SBATCH "):
            option = line.removeprefix("#SBATCH --")
            name, _, value = option.partition("=")
            assert name not in found, f"--{name} twice"
            found[name] = value if "=" in option else None
        elif line and not line.startswith("#"):
            break
    return found


# --- the spec language -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(HTCONDOR_ONLY))
def test_an_htcondor_key_on_a_slurm_job_is_a_located_error(tmp_path: Path, key: str) -> None:
    values = {
        "attributes": "{Foo: 1}",
        "batch_name": "b",
        "chtc": "{gpu_lab: true}",
        "gpu": "{min_memory: 8GB}",
        "max_retries": "2",
        "on_exit_hold": "ExitCode != 0",
        "ospool": "{duration: long}",
        "periodic_release": "NumJobStarts < 3",
        "requirements": "['(Memory > 1)']",
        "stream_error": "true",
        "stream_output": "true",
        "logs": "{log: logs/x.log}",
        "retry_until": "ExitCode == 0",
        "on_exit_remove": "ExitCode == 0",
        "periodic_hold": "NumJobStarts > 3",
        "periodic_remove": "NumJobStarts > 9",
        "output_remaps": "{out: results/out}\n    outputs: [out]",
        "count": "3",
        "docker_pull_policy": "always",
        "docker_network_type": "none",
        "initialdir": "jobs",
        "should_transfer_files": "IF_NEEDED",
        "notification": "Complete",
        "notify_user": "me@example.org",
        "os_requirement": "false",
        "universe": "docker",
        "when_to_transfer_output": "ON_EXIT_OR_EVICT",
        "getenv": "true",
    }
    site = {"chtc": "site: chtc\n", "ospool": "site: ospool\n"}.get(key, "")
    project_with(
        tmp_path,
        HEAD
        + site
        + f"""\
jobs:
  keep:
    scheduler: htcondor
    runtime: container
    command: [python, x.py]
  train:
    scheduler: slurm
    runtime: container
    command: [python, x.py]
    {key}: {values[key]}
""",
    )
    found = errors(build(tmp_path))
    # The scheduler's error, and at most the key's own other rule (docker_pull_policy wants the docker
    # universe, os_requirement a pixi-pack job), at the same line.
    assert (
        f"specs/project.yaml:{16 + bool(site)}:5: error: jobs.train.{key}: '{key}' is for HTCondor jobs, and this job runs on "
        f"Slurm{HTCONDOR_ONLY[key]}"
    ) in found
    assert all(f":5: error: jobs.train.{key}: " in error for error in found) and len(found) <= 2
    assert not (tmp_path / "build").exists()


def test_slurm_keys_and_the_pixi_runtime_on_htcondor_jobs_are_located_errors(tmp_path: Path) -> None:
    spec = project_with(
        tmp_path,
        HEAD
        + """\
slurm: {partition: gpu}
jobs:
  a:
    runtime: pixi
    command: [python, x.py]
    slurm: {time: 60}
""",
    )
    assert errors(build(tmp_path)) == [
        "specs/project.yaml:7:1: error: slurm: no job runs on Slurm (scheduler: slurm, for the project or a job); "
        "remove 'slurm' or move a job there",
        "specs/project.yaml:10:14: error: jobs.a.runtime: runtime 'pixi' is for Slurm jobs (a pixi workspace on a "
        "shared filesystem); an HTCondor job runs container or pixi-pack, or set scheduler: slurm",
        "specs/project.yaml:12:5: error: jobs.a.slurm: 'slurm' is for Slurm jobs, and this job runs on HTCondor",
    ]
    assert spec.is_file()


def test_what_a_slurm_job_cannot_reach_is_a_located_error(tmp_path: Path) -> None:
    project_with(
        tmp_path,
        HEAD.replace(
            "pack: {environment: cpu}", "pack: {environment: cpu, archive: 'https://example.org/environment.sh'}"
        )
        + """\
site: chtc
scheduler: slurm
jobs:
  a:
    runtime: pixi-pack
    command: [python, x.py]
    inputs: [data.txt, "osdf:///chtc/staging/me/data.tar.gz"]
    resources: {gpus: 0}
    slurm: {max_running: 2}
  b:
    runtime: container
    image: osdf:///chtc/staging/me/image.sif
    command: [python, x.py]
    resources: {gpus: 0}
""",
    )
    assert errors(build(tmp_path)) == [
        "specs/project.yaml:6:35: error: pack.archive: job 'a' runs on Slurm, which reads the archive from the shared "
        "filesystem and fetches no URL: name a path relative to the build directory",
        "specs/project.yaml:7:1: error: site: 'site' chooses an HTCondor pool, and every job runs on Slurm; remove it",
        "specs/project.yaml:13:24: error: jobs.a.inputs[1]: a Slurm job reads its inputs from the shared filesystem "
        "and fetches no URL: download it and name its path",
        "specs/project.yaml:15:26: error: jobs.a.slurm.max_running: max_running limits a job array, and this job has "
        "no sweep",
        "specs/project.yaml:18:12: error: jobs.b.image: Apptainer on a Slurm node cannot pull osdf://; use docker://, "
        "oras:// or a .sif path on the shared filesystem",
    ]


HOSTILE = ["gpu\n#SBATCH --uid=0", "gpu --account=x", "a'b", 'a"b', "$(id)", "`id`", "a b", "50%", "gpu#x", ""]


@pytest.mark.parametrize("key", ["partition", "account", "qos", "constraint", "time", "gpu_type"])
def test_hostile_slurm_values_are_rejected_where_they_stand(tmp_path: Path, key: str) -> None:
    import json

    lines = "".join(f"  {key}: {json.dumps(value)}\n" for value in HOSTILE[:1])
    per_job = "".join(
        f"  job{index}:\n    runtime: container\n    command: [python]\n    resources: {{gpus: 0}}\n"
        f"    slurm: {{{key}: {json.dumps(value)}}}\n"
        for index, value in enumerate(HOSTILE[1:])
    )
    project_with(tmp_path, HEAD + "scheduler: slurm\nslurm:\n" + lines + "jobs:\n" + per_job)
    found = errors(build(tmp_path))
    located = {re.match(r"specs/project.yaml:(\d+):\d+: error: ([^:]+):", line).groups() for line in found}  # type: ignore[union-attr]
    expected = {("9", f"slurm.{key}")} | {
        (str(11 + 5 * index + 4), f"jobs.job{index}.slurm.{key}") for index in range(len(HOSTILE) - 1)
    }
    assert located == expected, found


def test_arguments_env_and_sweep_values_reach_the_payload_exactly(tmp_path: Path) -> None:
    """Hostile text is quoted: the command the stand-in apptainer receives is the spec's, word for word."""
    command = [
        "python",
        "a b",
        "it's",
        "$IFS$HOME",
        "`touch pwned`",
        "%post",
        "X=1",
        '"q"',
        "*",
        "~",
        "{lr}",
        "--x={lr}/{process}",
        "",
        "a\\b",
        "{cluster}",
    ]
    import json

    project_with(
        tmp_path,
        HEAD
        + f"""\
scheduler: slurm
jobs:
  hostile:
    runtime: container
    command: {json.dumps(command)}
    env: {{A: "x y 'z' \\"w\\" `id` ;|&"}}
    resources: {{gpus: 0}}
    sweep:
      lr: ["0.5", "a%b=c:d@e/f+g"]
""",
    )
    assert build(tmp_path).returncode == 0
    script = tmp_path / "build" / "slurm" / "hostile.sbatch"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_executable(
        bin_dir / "apptainer",
        """#!/bin/bash
while [ "$1" != /app/entrypoint.sh ]; do shift; done
shift
printf '%s\\0' "$A" "$@" > "$RECORD"
""",
    )
    record = tmp_path / "record"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SLURM_SUBMIT_DIR": str(tmp_path / "build"),
        "SLURM_JOB_ID": "9",
        "SLURM_ARRAY_JOB_ID": "7",
        "SLURM_ARRAY_TASK_ID": "1",
        "RECORD": str(record),
    }
    run = subprocess.run(["bash", str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    values = record.read_bytes().decode().split("\0")[:-1]
    lr = "a%b=c:d@e/f+g"
    assert values == [
        "x y 'z' \"w\" `id` ;|&",
        *[word.replace("{lr}", lr).replace("{process}", "1").replace("{cluster}", "7") for word in command],
    ]
    assert not list(tmp_path.rglob("pwned"))
    assert (tmp_path / "build" / "outputs" / "hostile" / "7_1").is_dir()


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# --- what is generated ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slurm-project")
    (root / "specs").mkdir()
    shutil.copy(SLURM_SPEC, root / "specs" / "project.yaml")
    result = build(root)
    assert result.returncode == 0, result.stderr
    return root


def test_sbatch_lines_say_what_the_spec_says(built: Path) -> None:
    sweep = sbatch_options((built / "build" / "slurm" / "sweep.sbatch").read_text())
    assert sweep == {
        "job-name": "sweep",
        "array": "0-3%2",
        "output": "logs/sweep_%A_%a.out",
        "error": "logs/sweep_%A_%a.err",
        "open-mode": "append",
        "nodes": "1",
        "ntasks": "1",
        "cpus-per-task": "1",
        "mem": "512M",
        "time": "00:10:00",
    }
    resume = sbatch_options((built / "build" / "slurm" / "resume.sbatch").read_text())
    assert resume["output"] == "logs/resume_%j.out" and "array" not in resume
    assert (resume["requeue"], resume["signal"]) == (None, "B:USR1@300")
    assert sbatch_options((built / "build" / "slurm" / "usr1.sbatch").read_text())["signal"] == "B:USR1@60"
    assert "requeue" not in sweep and "signal" not in sweep


def test_gpus_site_settings_and_disk(tmp_path: Path) -> None:
    project_with(
        tmp_path,
        HEAD
        + """\
scheduler: slurm
slurm: {partition: "gpu,gpu-long", account: my-lab, qos: normal, constraint: "a100|h100", time: 90}
jobs:
  a:
    runtime: container
    command: [python]
    resources: {cpus: 4, gpus: 2, memory: 16GB, disk: 20GB}
  b:
    runtime: pixi
    command: [python]
    resources: {gpus: 1}
    slurm: {gpu_option: gpus, gpu_type: a100, account: other, time: "1-12:00:00"}
""",
    )
    assert build(tmp_path).returncode == 0
    a = sbatch_options((tmp_path / "build" / "slurm" / "a.sbatch").read_text())
    b = sbatch_options((tmp_path / "build" / "slurm" / "b.sbatch").read_text())
    assert {
        k: a[k] for k in ("cpus-per-task", "mem", "gres", "tmp", "time", "partition", "account", "qos", "constraint")
    } == {
        "cpus-per-task": "4",
        "mem": "16G",
        "gres": "gpu:2",
        "tmp": "20G",
        "time": "90",
        "partition": "gpu,gpu-long",
        "account": "my-lab",
        "qos": "normal",
        "constraint": "a100|h100",
    }
    assert (b["gpus"], b["account"], b["time"], b["partition"], "gres" in b, "tmp" in b) == (
        "a100:1",
        "other",
        "1-12:00:00",
        "gpu,gpu-long",
        False,
        False,
    )
    text = (tmp_path / "build" / "slurm" / "a.sbatch").read_text()
    assert "apptainer exec --nv " in text and "/app/entrypoint.sh" in text
    assert (
        'pixi shell-hook --manifest-path "$_submit_dir/pixi.toml" --locked --environment cpu'
        in (tmp_path / "build" / "slurm" / "b.sbatch").read_text()
    )


def test_the_apptainer_runtime_execs_the_sif_ci_pushes_and_never_the_staged_copy(tmp_path: Path) -> None:
    """On Slurm the .sif comes from the registry (apptainer pulls oras:// itself); the staged copy is
    for OSDF. The pixi-pack archive likewise comes from the build directory."""
    project_with(
        tmp_path,
        HEAD
        + """\
scheduler: slurm
site: chtc
staging: {directory: /staging/a/alice}
jobs:
  a: {runtime: apptainer, command: [python]}
  b: {runtime: pixi-pack, command: [python]}
  keep: {runtime: pixi-pack, command: [python], scheduler: htcondor}
""",
    )
    result = build(tmp_path)
    assert result.returncode == 0, result.stderr
    a = (tmp_path / "build" / "slurm" / "a.sbatch").read_text()
    assert re.search(r"^_image=oras://ghcr\.io/demo/demo:cpu-[0-9a-f]{12}-sif$", a, re.M), a
    assert '_launch=(apptainer exec --nv --bind "$_root" --pwd "$_task_dir" "$_image" /app/entrypoint.sh)' in a
    assert "osdf://" not in a and "osdf://" not in (tmp_path / "build" / "slurm" / "b.sbatch").read_text()
    assert "environment.sh" in (tmp_path / "build" / "slurm" / "b.sbatch").read_text()


def test_the_array_table_is_the_htcondor_queue_table_in_order(built: Path) -> None:
    job = next(j for j in load_project(built / "specs" / "project.yaml", built).jobs if j.name == "sweep")
    rows = (built / "build" / "slurm" / "sweep.array.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["task", "lr", "seed"]
    assert [row.split("\t")[0] for row in rows[1:]] == ["0", "1", "2", "3"]
    assert [", ".join(row.split("\t")[1:]) for row in rows[1:]] == queue_table(job)
    assert [tuple(row.split("\t")[1:]) for row in rows[1:]] == [("0.5", "1"), ("0.5", "2"), ("1.0", "1"), ("1.0", "2")]


def test_scripts_pass_bash_n_and_shellcheck(built: Path) -> None:
    for script in sorted((built / "build" / "slurm").glob("*.sbatch")):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
        result = shellcheck(script)
        assert result.returncode == 0, result.stdout
        assert os.access(script, os.X_OK)


def test_deterministic_and_free_of_machine_paths(built: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    (other / "specs").mkdir(parents=True)
    shutil.copy(SLURM_SPEC, other / "specs" / "project.yaml")
    assert build(other).returncode == 0
    first, second = tree_bytes(built / "build"), tree_bytes(other / "build")
    assert first == second
    for name, data in first.items():
        if name.startswith("slurm/"):
            assert str(built).encode() not in data and b"/tmp/" not in data.replace(b"${TMPDIR:-/tmp}", b"")


def test_the_default_spec_has_no_slurm_jobs() -> None:
    assert not (REPO / "build" / "slurm").exists()
    assert all(job.scheduler == "htcondor" for job in load_project(REPO / "specs" / "project.yaml").jobs)


def test_a_stale_array_table_stops_the_task(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "build"
    shutil.copytree(built / "build", copy)
    table = copy / "slurm" / "sweep.array.tsv"
    table.write_text(table.read_text().replace("0.5", "0.7"))
    run = subprocess.run(
        ["bash", str(copy / "slurm" / "sweep.sbatch")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "SLURM_SUBMIT_DIR": str(copy),
            "SLURM_ARRAY_JOB_ID": "3",
            "SLURM_ARRAY_TASK_ID": "0",
            "SLURM_JOB_ID": "4",
        },
    )
    assert run.returncode == 2 and "changed since this job was submitted" in run.stderr


def test_dry_run_lists_every_array_task(built: Path) -> None:
    result = run_cli(
        "submit",
        "specs/project.yaml",
        "--out",
        "build",
        "--job",
        "sweep",
        "--dry-run",
        cwd=built,
        env={"PATH": "/usr/bin/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        f"sweep[{task}]: lr={lr} seed={seed} cpus-per-task=1 mem=512M time=00:10:00 runtime=container "
        "script=slurm/sweep.sbatch"
        for task, (lr, seed) in enumerate([("0.5", "1"), ("0.5", "2"), ("1.0", "1"), ("1.0", "2")])
    ]
    assert "--test-only check was skipped" in lines[4]


# --- a real cluster ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing()
    if reason:
        pytest.skip(f"no Slurm cluster: {reason}")
    running = Cluster(tmp_path_factory.mktemp("slurm-cluster"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def on_cluster(built: Path, cluster: Cluster) -> dict[str, str]:
    """Build the data and the stand-ins, submit every job but pixi-run through `pixi-htc submit`, wait."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from pixi_htc.mnist_data import write_tarball
    from tests.digits import write_digits

    build_dir = built / "build"
    data = built / "digits"
    write_digits(data / "data")
    write_tarball(data / "data", build_dir / "MNIST_data.tar.gz")
    bin_dir = built / "bin"
    bin_dir.mkdir()
    # Apptainer's stand-in: checks the options it is given, records the image, runs what follows it.
    write_executable(
        bin_dir / "apptainer",
        f"""#!/bin/bash
set -euo pipefail
[ "$1" = exec ] || exit 64
shift
while [ $# -gt 0 ]; do
    case "$1" in
        --nv) shift ;;
        --bind) [ -d "$2" ] || exit 65; shift 2 ;;
        --pwd) cd "$2"; shift 2 ;;
        -*) echo "apptainer stand-in: unknown option $1" >&2; exit 64 ;;
        *) break ;;
    esac
done
echo "$1" > apptainer-image.txt
shift
[ "$1" = /app/entrypoint.sh ] && shift
export PATH="{PYTHON_BIN}:$PATH"
exec "$@"
""",
    )
    # pixi-pack's stand-in: the self-extracting archive leaves ./env and ./activate.sh where it runs.
    write_executable(
        build_dir / "environment.sh",
        f"""#!/bin/bash
mkdir -p env
printf 'export PATH="{PYTHON_BIN}:$PATH"\\nexport STANDIN_ENV="%s/env"\\n' "$PWD" > activate.sh
""",
    )
    env = {"SLURM_CONF": cluster.env["SLURM_CONF"], "PATH": f"{bin_dir}:/usr/bin:/bin"}
    dry = run_cli("submit", "specs/project.yaml", "--out", "build", "--job", "resume", "--dry-run", cwd=built, env=env)
    assert dry.returncode == 0 and "resume: sbatch --test-only: " in dry.stdout and "to start" in dry.stdout, (
        dry.stdout + dry.stderr
    )
    ids = {}
    for job in ("usr1", "resume", "sweep"):
        result = run_cli("submit", "specs/project.yaml", "--out", "build", "--job", job, cwd=built, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        ids[job] = re.search(r"as Slurm job (\d+)", result.stdout).group(1)  # type: ignore[union-attr]
    usr1_dir = build_dir / "outputs" / "usr1" / ids["usr1"]
    deadline = time.monotonic() + 120
    while not (usr1_dir / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (usr1_dir / "started").exists(), cluster.logs()
    time.sleep(1)  # the payload is past its check and asleep
    cluster.client("scancel", "--batch", "--signal=USR1", ids["usr1"])
    cluster.wait_jobs(list(ids.values()), timeout=150)
    return ids


def job_state(cluster: Cluster, job_id: str) -> dict[str, str]:
    text = cluster.client("scontrol", "show", "job", job_id).stdout
    return dict(re.findall(r"(\w+)=(\S*)", text))


def test_the_array_trains_one_model_per_task_apart(built: Path, cluster: Cluster, on_cluster: dict[str, str]) -> None:
    import json

    array = on_cluster["sweep"]
    expected = [("0.5", "1"), ("0.5", "2"), ("1.0", "1"), ("1.0", "2")]
    losses = []
    for task, (lr, seed) in enumerate(expected):
        task_dir = built / "build" / "outputs" / "sweep" / f"{array}_{task}"
        log = (built / "build" / "logs" / f"sweep_{array}_{task}.out").read_text()
        assert f"# sweep: lr={lr} seed={seed}" in log, log
        assert re.search(r"Test set: Average loss: [\d.]+, Accuracy: \d+/\d+", log), log
        records = [json.loads(line) for line in (task_dir / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in records] == [1]
        assert (task_dir / "mnist_cnn.pt").stat().st_size > 1_000_000
        assert (task_dir / "apptainer-image.txt").read_text().startswith("docker://ghcr.io/pixi-htc/hello-slurm:cpu-")
        losses.append(records[0]["train_loss"])
    assert len(set(losses)) == 4, losses  # each task its own values, none overwriting another
    assert sorted(p.name for p in (built / "build" / "outputs" / "sweep").iterdir()) == [
        f"{array}_{task}" for task in range(4)
    ]


def test_a_checkpoint_exit_requeues_and_resumes(built: Path, cluster: Cluster, on_cluster: dict[str, str]) -> None:
    import json

    job_id = on_cluster["resume"]
    state = job_state(cluster, job_id)
    assert (state["JobState"], state["Restarts"], state["Requeue"], state["ExitCode"]) == ("COMPLETED", "1", "1", "0:0")
    log = (built / "build" / "logs" / f"resume_{job_id}.out").read_text()
    first, _, second = log.partition("(restart 1)")
    assert "Checkpointed after epoch 1; exiting 85" in first and "The payload exited 85" in first
    assert f"Checkpointed: requeue {job_id}" in first
    assert "Resuming from checkpoint.pt after epoch 1" in second and "The payload exited 0" in second
    task_dir = built / "build" / "outputs" / "resume" / job_id
    assert [json.loads(line)["epoch"] for line in (task_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (task_dir / "mnist_cnn.pt").is_file()


def test_usr1_reaches_the_payload_and_the_job_requeues(
    built: Path, cluster: Cluster, on_cluster: dict[str, str]
) -> None:
    job_id = on_cluster["usr1"]
    state = job_state(cluster, job_id)
    assert (state["JobState"], state["Restarts"]) == ("COMPLETED", "1")
    log = (built / "build" / "logs" / f"usr1_{job_id}.out").read_text()
    err = (built / "build" / "logs" / f"usr1_{job_id}.err").read_text()
    assert "USR1: the time limit is near" in err
    first, _, second = log.partition("(restart 1)")
    assert "The payload exited 138" in first and f"Checkpointed: requeue {job_id}" in first
    assert "The payload exited 0" in second


def test_submit_runs_sbatch_in_the_build_directory_without_a_shell(built: Path, tmp_path: Path) -> None:
    """Without a cluster: a stand-in sbatch records how it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sbatch-calls"
    write_executable(
        bin_dir / "sbatch",
        f"""#!/bin/bash
printf '%s|%s\\n' "$PWD" "$*" >> {record}
if [ "$1" = --test-only ]; then echo "sbatch: Job 12 to start at 2030-01-01T00:00:00 using 1 processors" >&2; fi
echo "42;cluster"
""",
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    dry = run_cli("submit", "specs/project.yaml", "--out", "build", "--job", "resume", "--dry-run", cwd=built, env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == (
        "resume: sbatch --test-only: sbatch: Job 12 to start at 2030-01-01T00:00:00 using 1 processors 42;cluster"
    )
    result = run_cli("submit", "specs/project.yaml", "--out", "build", "--job", "sweep", cwd=built, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sweep: submitted 4 task(s) as Slurm job 42;")
    build_dir = (built / "build").resolve()
    assert record.read_text().splitlines() == [
        f"{build_dir}|--test-only slurm/resume.sbatch",
        f"{build_dir}|--parsable slurm/sweep.sbatch",
    ]
    assert (build_dir / "logs").is_dir()

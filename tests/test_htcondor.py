"""The HTCondor jobs: parsed by htcondor2, linted by shellcheck, and run for real in a sandbox."""

from __future__ import annotations

import re
import stat
import subprocess
import tarfile
from pathlib import Path

import htcondor2
import pytest
from ruamel.yaml import YAML

from pixi_htc.artifacts.base import Layout
from pixi_htc.schedulers.common import shell_word
from pixi_htc.schedulers.htcondor.render import render
from pixi_htc.spec.model import Project
from tests.conftest import DEFAULT_SPEC, load_project, run_cli, shellcheck

SPEC = YAML(typ="safe").load(DEFAULT_SPEC.read_text())


def project(spec: Path = DEFAULT_SPEC) -> Project:
    return load_project(spec)


def files(p: Project | None = None) -> dict[str, str]:
    return {str(a.path): a.text for a in render(p or project(), Layout())}


def submit(job: str, p: Project | None = None) -> htcondor2.Submit:
    return htcondor2.Submit(files(p)[f"build/htcondor/{job}.sub"])


def test_default_spec_has_the_seed_jobs_and_a_sweep() -> None:
    generated = files()
    for job in ("mnist-gpu-docker", "mnist-gpu-pixi-pack", "mnist-sweep"):
        assert f"build/htcondor/{job}.sub" in generated and f"build/htcondor/{job}.sh" in generated
    assert "build/htcondor/submit.sh" in generated and "build/htcondor/interact.sh" in generated


@pytest.mark.parametrize("job", sorted(SPEC["jobs"]))
def test_submit_file_says_what_the_spec_says(job: str) -> None:
    body = SPEC["jobs"][job]
    sub = submit(job)
    resources = body.get("resources", {})
    pack = body["runtime"] == "pixi-pack"
    assert sub["request_cpus"] == str(resources.get("cpus", 1))
    assert sub["request_gpus"] == str(resources.get("gpus", 1))
    assert sub["request_memory"] == resources.get("memory", "10GB" if pack else "2GB")
    assert sub["request_disk"] == resources.get("disk", "14GB" if pack else "2GB")
    inputs = [i.strip() for i in sub["transfer_input_files"].split(",")]
    assert "src" in inputs and "src/" not in inputs, "src must travel as a directory"
    if pack:
        assert sub["universe"] == "vanilla" and "container_image" not in sub
        # The staged, content-named archive (issue #12 item 4), fetched through OSDF.
        staged = f"osdf:///chtc{SPEC['staging']['directory']}/environment-"
        assert inputs[0].startswith(staged) and re.fullmatch(r"[0-9a-f]{12}\.sh", inputs[0][len(staged) :]), inputs[0]
    else:
        tag = project().container.tag or ""
        assert re.fullmatch(r"gpu-[0-9a-f]{12}", tag), "the default tag is the image content's digest"
        assert sub["container_image"] == f"docker://{SPEC['container']['image']}:{tag}"
    assert [o.strip() for o in sub["transfer_output_files"].split(",")] == body["outputs"]
    # The OS clause is for the vanilla universe, where the job runs on the host's OS; the CUDA floor
    # (the environment's cuda "12") is HTCondor's gpus_minimum_runtime, never a requirements clause.
    assert sub.get("requirements") == ("(OpSysMajorVer > 7)" if pack else None)
    assert sub["gpus_minimum_runtime"] == "12.0"
    assert sub["executable"] == f"htcondor/{job}.sh"
    for stream in ("log", "output", "error"):
        assert sub[stream].endswith("$(Cluster)_$(Process)." + {"log": "log", "output": "out", "error": "err"}[stream])


@pytest.mark.parametrize("job", sorted(SPEC["jobs"]))
def test_at_most_one_requirements_line_and_the_cuda_floor_is_htcondors_own(job: str) -> None:
    text = files()[f"build/htcondor/{job}.sub"]
    keys = [line.split("=")[0].strip().lower() for line in text.splitlines() if "=" in line and line[0] != "#"]
    assert keys.count("requirements") <= 1 and keys.count("gpus_minimum_runtime") == 1
    assert "GPUs_DriverVersion" not in text


def test_chtc_and_checkpoint_attributes() -> None:
    docker = submit("mnist-gpu-docker")
    assert docker["MY.WantGPULab"] == "true" and docker["MY.GPUJobLength"] == '"short"'
    # Issue #12: +is_resumable gives up the 72 h guarantee; only the job that checkpoints asks for it.
    assert "MY.is_resumable" not in docker and "MY.is_resumable" not in submit("mnist-gpu-pixi-pack")
    sweep = submit("mnist-sweep")
    assert sweep["checkpoint_exit_code"] == "85"
    assert sweep["transfer_checkpoint_files"] == "checkpoint.pt, metrics.jsonl"
    assert sweep["MY.is_resumable"] == "true"
    assert sweep["gpus_minimum_capability"] == "7.0" and sweep["gpus_minimum_memory"] == "8GB"


def test_sweep_queue_table_parses_to_every_combination() -> None:
    sub = submit("mnist-sweep")
    rows = [dict(row) for row in sub.itemdata()]
    lrs = [str(v) for v in SPEC["jobs"]["mnist-sweep"]["sweep"]["lr"]]
    sizes = [str(v) for v in SPEC["jobs"]["mnist-sweep"]["sweep"]["batch_size"]]
    assert rows == [{"PixiHtcSweep0": b, "PixiHtcSweep1": lr} for b in sizes for lr in lrs]
    assert sub["arguments"] == '"$(Cluster) $(Process) $(PixiHtcSweep0) $(PixiHtcSweep1)"'
    assert "mnist_cnn.pt = outputs/mnist-sweep_$(Cluster)_$(Process)_mnist_cnn.pt" in sub["transfer_output_remaps"]


def test_cpu_job_has_no_gpu_lines(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu}\n"
        "jobs:\n  t:\n    runtime: container\n    command: [python, x.py]\n    resources: {gpus: 0}\n"
    )
    text = files(project(spec))["build/htcondor/t.sub"]
    sub = htcondor2.Submit(text)
    assert "request_gpus" not in sub and "MY.WantGPULab" not in sub
    assert "requirements" not in sub


@pytest.mark.parametrize(
    "argument,expected",
    [
        ("plain", "plain"),
        ("two words", "'two words'"),
        ("{lr}", '"${lr}"'),
        ("--lr={lr}", '--lr="${lr}"'),
        ("it's $(x) `y`", "'it'\\''s $(x) `y`'"),
        ("", "''"),
        # shlex.quote leaves these bare, and as a first word bash takes them as job control or an assignment.
        ("%post", "'%post'"),
        ("A=b", "'A=b'"),
        ("a_1=", "'a_1='"),
        ("50%", "50%"),
    ],
)
def test_shell_words(argument: str, expected: str) -> None:
    assert shell_word(argument) == expected


def test_hostile_command_arguments_stay_literal(tmp_path: Path) -> None:
    """Quotes, globs, semicolons and backticks reach the payload unchanged, as one argument each."""
    hostile = ["a b", "it's", '"dq"', "*", "; rm -rf /", "`id`", "$HOME", "\\", "{lr}x"]
    spec = tmp_path / "p.yaml"
    items = ", ".join("'" + h.replace("'", "''") + "'" for h in ["printf", "%s\\n", *hostile])
    spec.write_text(
        "schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: 12}\njobs:\n  t:\n"
        f"    runtime: container\n    command: [{items}]\n    resources: {{gpus: 0}}\n    sweep: {{lr: [0.5]}}\n"
    )
    command = files(project(spec))["build/htcondor/t.sh"].rstrip("\n").splitlines()[-1]
    out = subprocess.run(
        ["bash", "-c", f"lr=0.5; {command}"], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.splitlines()
    assert out == [*hostile[:-1], "0.5x"]


@pytest.mark.parametrize(
    "name",
    [
        "executable",
        "arguments",
        "requirements",
        "container_image",
        "universe",
        "transfer_input_files",
        "output",
        "log",
        "request_gpus",
        "environment",
        "queue",
    ],
)
def test_a_sweep_variable_never_becomes_a_submit_command(tmp_path: Path, name: str) -> None:
    """Issue #10: `sweep: {executable: [...]}` once wrote `queue executable from (...)`, replacing the
    generated executable for every job. The queue statement's names are the compiler's own: the
    .sub is the one a harmless name gives, whatever the name."""

    def sub_for(variable: str) -> htcondor2.Submit:
        spec = tmp_path / f"{variable}.yaml"
        spec.write_text(
            "schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: 12}\njobs:\n  t:\n"
            f"    runtime: container\n    command: [x, '{{{variable}}}']\n"
            f"    sweep: {{{variable}: [/tmp/evil.sh, '1']}}\n"
        )
        return htcondor2.Submit(files(project(spec))["build/htcondor/t.sub"])

    sub, harmless = sub_for(name), sub_for("harmless")
    assert {key: sub[key] for key in sub.keys()} == {key: harmless[key] for key in harmless.keys()}
    assert sub["executable"] == "htcondor/t.sh"
    assert [dict(row) for row in sub.itemdata()] == [{"PixiHtcSweep0": "/tmp/evil.sh"}, {"PixiHtcSweep0": "1"}]
    assert sub["arguments"] == '"$(Cluster) $(Process) $(PixiHtcSweep0)"'


def test_a_percent_word_runs_as_a_command(tmp_path: Path) -> None:
    """`%post` unquoted is job control in bash (`%post: no such job`); quoted it is a command name."""
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: 12}\njobs:\n  t:\n"
        "    runtime: container\n    command: ['%post', 'A=b']\n    resources: {gpus: 0}\n"
    )
    command = files(project(spec))["build/htcondor/t.sh"].rstrip("\n").splitlines()[-1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _write_exe(bin_dir / "%post", '#!/bin/sh\necho "ran with $1"\n')
    out = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        check=False,
    )
    assert out.returncode == 0 and out.stdout == "ran with A=b\n", out.stderr


# --- the .sh files: linted, and run in a sandbox with stand-ins ---------------------------------


def _write_exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    "script", ["mnist-gpu-docker.sh", "mnist-gpu-pixi-pack.sh", "mnist-sweep.sh", "submit.sh", "interact.sh"]
)
def test_scripts_pass_shellcheck_and_bash_n(tmp_path: Path, script: str) -> None:
    path = tmp_path / script
    path.write_text(files()[f"build/htcondor/{script}"])
    subprocess.run(["bash", "-n", str(path)], check=True)
    result = shellcheck(path)
    assert result.returncode == 0, result.stdout


def test_pack_script_passes_shellcheck(tmp_path: Path) -> None:
    path = tmp_path / "pack.sh"
    path.write_text(files()["build/pack.sh"])
    assert shellcheck(path).returncode == 0


STAND_IN_PYTHON = """#!/bin/bash
echo "python $*" >> "$CALLS"
if [ "$1" = "./src/torch_detect_GPU.py" ]; then exit 0; fi
[ -f data/MNIST/raw/train-images-idx3-ubyte ] || { echo "data not unpacked before training" >&2; exit 3; }
[ -n "${PIXI_ENV_ACTIVE:-}" ] || { echo "environment not activated" >&2; exit 4; }
echo weights > mnist_cnn.pt
echo '{"epoch": 1}' > metrics.jsonl
"""


def _sandbox(tmp_path: Path, job: str) -> tuple[Path, Path, dict[str, str]]:
    """An execute-point sandbox: the job's transferred inputs, and stand-ins on PATH."""
    sandbox = tmp_path / "sandbox"
    bin_dir = tmp_path / "bin"
    sandbox.mkdir()
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    (sandbox / "src").mkdir()
    (sandbox / "src" / "torch_MNIST.py").write_text("# trainer\n")
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")
    with tarfile.open(sandbox / "MNIST_data.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "data", arcname="data")
    _write_exe(bin_dir / "nvidia-smi", f'#!/bin/bash\necho "nvidia-smi" >> "{calls}"\n')
    env_bin = tmp_path / "envbin"
    env_bin.mkdir()
    _write_exe(env_bin / "python", STAND_IN_PYTHON)
    # pixi-pack's self-extracting archive leaves ./env and ./activate.sh in the working directory. It
    # lands in the sandbox under the name the .sub fetches (the staged, content-named copy).
    archive = (
        submit(job)["transfer_input_files"].split(",")[0].strip().rsplit("/", 1)[-1]
        if "pack" in job
        else "environment.sh"
    )
    _write_exe(
        sandbox / archive,
        f"""#!/bin/bash
echo "environment.sh" >> "{calls}"
mkdir -p env
printf 'export PIXI_ENV_ACTIVE=1\\nexport PATH="{env_bin}:$PATH"\\necho activate >> "{calls}"\\n' > activate.sh
""",
    )
    entrypoint = tmp_path / "entrypoint.sh"
    entrypoint.write_text(
        f'#!/bin/bash\nexport PIXI_ENV_ACTIVE=1\nexport PATH="{env_bin}:$PATH"\necho activate >> "{calls}"\nexec "$@"\n'
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "HOME": str(tmp_path)}
    script = files()[f"build/htcondor/{job}.sh"].replace("/app/entrypoint.sh", str(entrypoint))
    _write_exe(sandbox / f"{job}.sh", script)
    return sandbox, calls, env


@pytest.mark.parametrize(
    "job,args",
    [("mnist-gpu-docker", ["7", "0"]), ("mnist-gpu-pixi-pack", ["7", "0"]), ("mnist-sweep", ["7", "3", "128", "1.0"])],
)
def test_job_script_runs_in_order_and_leaves_the_outputs(tmp_path: Path, job: str, args: list[str]) -> None:
    sandbox, calls, env = _sandbox(tmp_path, job)
    result = subprocess.run(["bash", f"./{job}.sh", *args], cwd=sandbox, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    log = calls.read_text().splitlines()
    expected_start = (["environment.sh"] if "pack" in job else []) + [
        "activate",
        "nvidia-smi",
        "python ./src/torch_detect_GPU.py",
    ]
    assert log[: len(expected_start)] == expected_start
    train = log[len(expected_start)]
    assert train.startswith("python src/torch_MNIST.py --data-dir data --epochs 14")
    if job == "mnist-sweep":
        assert "--lr 1.0 --batch-size 128" in train
    outputs = [o.strip() for o in submit(job)["transfer_output_files"].split(",")]
    for name in outputs:
        assert (sandbox / name).is_file(), f"{name} is not where transfer_output_files expects it"


def test_job_script_fails_clearly_without_its_data(tmp_path: Path) -> None:
    sandbox, _, env = _sandbox(tmp_path, "mnist-gpu-docker")
    (sandbox / "MNIST_data.tar.gz").unlink()
    result = subprocess.run(
        ["bash", "./mnist-gpu-docker.sh", "1", "0"], cwd=sandbox, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "MNIST_data.tar.gz was not transferred" in result.stderr


def test_checkpoint_exit_code_reaches_htcondor(tmp_path: Path) -> None:
    sandbox, _, env = _sandbox(tmp_path, "mnist-sweep")
    python = Path(env["PATH"].split(":")[0]).parent / "envbin" / "python"
    python.write_text(python.read_text().replace("echo weights > mnist_cnn.pt", "exit 85"))
    result = subprocess.run(
        ["bash", "./mnist-sweep.sh", "1", "0", "64", "0.5"], cwd=sandbox, env=env, capture_output=True, text=True
    )
    assert result.returncode == 85


# --- submit -------------------------------------------------------------------------------------


def test_dry_run_lists_every_job(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    result = run_cli("submit", "--dry-run", cwd=project_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 1 + 4
    assert (
        'mnist-sweep.3: batch_size=128 lr=1.0 arguments="<cluster> 3 128 1.0" cpus=1 gpus=1 memory=2GB disk=2GB'
        in result.stdout
    )
    assert (
        'mnist-gpu-pixi-pack.0: arguments="<cluster> 0" cpus=1 gpus=1 memory=10GB disk=14GB universe=vanilla' in lines
    )


def test_submit_refuses_a_stale_build(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    sub = project_dir / "build" / "htcondor" / "mnist-sweep.sub"
    sub.write_text(sub.read_text().replace("request_gpus = 1", "request_gpus = 4"))
    result = run_cli("submit", "--dry-run", cwd=project_dir)
    assert result.returncode == 1 and "stale" in result.stderr


def test_submit_without_a_schedd_is_one_line_exit_2(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    (project_dir / "build" / "MNIST_data.tar.gz").write_bytes(b"data")  # preflight refuses a missing input first
    result = run_cli("submit", "--job", "mnist-gpu-docker", "--offline", cwd=project_dir)
    if result.returncode == 0:
        pytest.skip("an HTCondor schedd is reachable here")
    assert result.returncode == 2
    # preflight's report, then one line of error
    errors = [line for line in result.stderr.splitlines() if not line.startswith("preflight: ")]
    assert len(errors) == 1 and "no HTCondor schedd reachable" in errors[0]
    assert "Traceback" not in result.stderr


def test_submit_unknown_job(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    result = run_cli("submit", "--job", "nope", "--dry-run", cwd=project_dir)
    assert result.returncode == 2 and "no job named 'nope'" in result.stderr

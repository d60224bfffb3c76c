"""The generated shell scripts, run for real: the jobs' GPU diagnostics never end a job, and pack.sh
fails (not "succeeds" doing nothing) without pixi-pack, which the generated pixi.toml pins to a
release that reads pixi's v7 lock files."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import htcondor2
import pytest

from pixi_htc.artifacts.base import Layout
from pixi_htc.pipeline.compile import render_all
from tests.conftest import DEFAULT_SPEC, load_project
from tests.test_htcondor import _sandbox, _write_exe

JOBS = [
    ("mnist-gpu-docker", ["7", "0"]),
    ("mnist-gpu-pixi-pack", ["7", "0"]),
    ("mnist-sweep", ["7", "3", "128", "1.0"]),
]
SYSTEM_PATH = "/usr/bin:/bin"


def _run(job: str, args: list[str], sandbox: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", f"./{job}.sh", *args], cwd=sandbox, env=env, capture_output=True, text=True, check=False
    )


def _stand_in_python(env: dict[str, str]) -> Path:
    """The environment's python that _sandbox writes (bin/ and envbin/ are siblings)."""
    return Path(env["PATH"].split(":")[0]).parent / "envbin" / "python"


def _trained(calls: Path) -> bool:
    return any(line.startswith("python src/torch_MNIST.py") for line in calls.read_text().splitlines())


# --- C: diagnostics never fail the job, the payload's failure does ------------------------------


@pytest.mark.parametrize("job,args", JOBS)
def test_missing_nvidia_smi_does_not_end_the_job(tmp_path: Path, job: str, args: list[str]) -> None:
    """CHTC: nvidia-smi is not found under Apptainer. The job must still train."""
    if shutil.which("nvidia-smi", path=SYSTEM_PATH):
        pytest.skip("this machine has nvidia-smi in /usr/bin or /bin")
    sandbox, calls, env = _sandbox(tmp_path, job)
    (Path(env["PATH"].split(":")[0]) / "nvidia-smi").unlink()
    result = _run(job, args, sandbox, env)
    assert result.returncode == 0, result.stderr
    assert "nvidia-smi not available" in result.stderr
    assert _trained(calls) and (sandbox / "mnist_cnn.pt").is_file()


@pytest.mark.parametrize("job,args", JOBS)
def test_failing_nvidia_smi_does_not_end_the_job(tmp_path: Path, job: str, args: list[str]) -> None:
    sandbox, calls, env = _sandbox(tmp_path, job)
    _write_exe(
        Path(env["PATH"].split(":")[0]) / "nvidia-smi",
        '#!/bin/bash\necho "NVIDIA-SMI has failed: no driver" >&2\nexit 1\n',
    )
    result = _run(job, args, sandbox, env)
    assert result.returncode == 0, result.stderr
    assert "nvidia-smi not available or failed (exit 1)" in result.stderr
    assert _trained(calls) and (sandbox / "mnist_cnn.pt").is_file()


def test_failing_gpu_detect_script_does_not_end_the_job(tmp_path: Path) -> None:
    sandbox, calls, env = _sandbox(tmp_path, "mnist-gpu-docker")
    python = _stand_in_python(env)
    python.write_text(
        python.read_text().replace(
            'if [ "$1" = "./src/torch_detect_GPU.py" ]; then exit 0; fi',
            'if [ "$1" = "./src/torch_detect_GPU.py" ]; then exit 2; fi',
        )
    )
    result = _run("mnist-gpu-docker", ["7", "0"], sandbox, env)
    assert result.returncode == 0, result.stderr
    assert "torch_detect_GPU.py failed (exit 2)" in result.stderr
    assert _trained(calls)


@pytest.mark.parametrize("job,args", JOBS)
def test_the_payloads_failure_is_the_jobs_failure(tmp_path: Path, job: str, args: list[str]) -> None:
    """Even with the diagnostics failing too, the job's exit code is the payload's."""
    sandbox, calls, env = _sandbox(tmp_path, job)
    _write_exe(Path(env["PATH"].split(":")[0]) / "nvidia-smi", "#!/bin/bash\nexit 1\n")
    python = _stand_in_python(env)
    python.write_text(python.read_text().replace("echo weights > mnist_cnn.pt", 'echo "payload failed" >&2; exit 3'))
    result = _run(job, args, sandbox, env)
    assert result.returncode == 3, result.stderr
    assert "payload failed" in result.stderr and "data not unpacked" not in result.stderr
    assert _trained(calls)


# --- B: pack.sh and the pixi-pack pin ------------------------------------------------------------


def _rendered() -> dict[str, str]:
    project = load_project(DEFAULT_SPEC)
    return {str(a.path): a.text for a in render_all(project, Layout())}


def _pack_dir(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    build.mkdir()
    (build / "pack.sh").write_text(_rendered()["build/pack.sh"])
    return build


def test_pack_script_fails_without_pixi_pack(tmp_path: Path) -> None:
    """`make pack` must not "succeed" having packed nothing."""
    if shutil.which("pixi-pack", path=SYSTEM_PATH):
        pytest.skip("this machine has pixi-pack in /usr/bin or /bin")
    build = _pack_dir(tmp_path)
    (build / "pixi.lock").write_text("version: 6\n")
    result = subprocess.run(
        ["bash", "build/pack.sh"], cwd=tmp_path, capture_output=True, text=True, env={"PATH": SYSTEM_PATH}, check=False
    )
    assert result.returncode != 0
    assert "pixi-pack is not installed" in result.stderr and "pixi-pack>=0.7.7" in result.stderr
    assert result.stdout == ""
    assert not (build / "environment.sh").exists()


def _stand_in_pixi_pack(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    _write_exe(
        bin_dir / "pixi-pack", '#!/bin/bash\nwhile [ "$1" != --output-file ]; do shift; done\necho "packed $2" > "$2"\n'
    )
    return {"PATH": f"{bin_dir}:{SYSTEM_PATH}"}


STAGED_SPEC = """\
schema_version: 1
name: demo
site: {site}
staging: {staging}
environments:
  gpu: {{cuda: "12"}}
pack: {{environment: gpu}}
jobs:
  train: {{runtime: pixi-pack, command: [python, train.py]}}
"""


def _staged_project(tmp_path: Path, site: str, staging: str | None) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    spec = root / "specs" / "project.yaml"
    text = STAGED_SPEC.format(site=site, staging=staging)
    spec.write_text(text if staging is not None else text.replace("staging: None\n", ""))
    (root / "build").mkdir()
    (root / "build" / "pixi.lock").write_text("version: 6\n")
    files = {str(a.path): a.text for a in render_all(load_project(spec, root), Layout())}
    (root / "build" / "pack.sh").write_text(files["build/pack.sh"])
    return root, files


def test_pack_script_without_staging_leaves_the_archive_for_the_submit_directory(tmp_path: Path) -> None:
    root, files = _staged_project(tmp_path, "generic", None)
    result = subprocess.run(
        ["bash", "build/pack.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_stand_in_pixi_pack(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (root / "build" / "environment.sh").read_text() == "packed environment.sh\n"
    assert (root / "build" / "environment.tar").is_file()
    assert "set staging.directory" in result.stdout
    assert (
        htcondor2.Submit(files["build/htcondor/train.sub"])["transfer_input_files"].split(", ")[0] == "environment.sh"
    )


def test_pack_script_stages_the_content_named_archive_that_jobs_fetch(tmp_path: Path) -> None:
    """Issue #12 item 4: the staged, content-named archive is what the .sub fetches, and pack.sh puts
    it there; a second run leaves it; the name changes with the lock."""
    staging = tmp_path / "staging" / "a" / "alice"
    staging.mkdir(parents=True)
    root, files = _staged_project(tmp_path, "generic", f"{{directory: {staging}, url: osdf:///chtc/staging/a/alice}}")
    fetched = htcondor2.Submit(files["build/htcondor/train.sub"])["transfer_input_files"].split(", ")[0]
    assert re.fullmatch(r"osdf:///chtc/staging/a/alice/environment-[0-9a-f]{12}\.sh", fetched), fetched
    name = fetched.rsplit("/", 1)[1]
    env = _stand_in_pixi_pack(tmp_path)
    first = subprocess.run(["bash", "build/pack.sh"], cwd=root, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    assert [p.name for p in staging.iterdir()] == [name]
    assert (staging / name).read_text() == "packed environment.sh\n"
    second = subprocess.run(["bash", "build/pack.sh"], cwd=root, capture_output=True, text=True, env=env, check=False)
    assert second.returncode == 0 and "already staged" in second.stdout
    (root / "build" / "pixi.lock").write_text("version: 7\n")
    relocked = {str(a.path): a.text for a in render_all(load_project(root / "specs" / "project.yaml", root), Layout())}
    assert htcondor2.Submit(relocked["build/htcondor/train.sub"])["transfer_input_files"].split(", ")[0] != fetched


def test_pack_script_fails_where_the_staging_directory_is_not(tmp_path: Path) -> None:
    root, _ = _staged_project(tmp_path, "chtc", "{directory: /staging/z/nobody-here}")
    (tmp_path / ".job.ad").write_text("IsBuildJob = true\n")  # in a CHTC build job, where staging is allowed
    result = subprocess.run(
        ["bash", "build/pack.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**_stand_in_pixi_pack(tmp_path), "_CONDOR_JOB_AD": str(tmp_path / ".job.ad")},
        check=False,
    )
    assert result.returncode == 1 and "/staging/z/nobody-here is not here" in result.stderr
    assert (root / "build" / "environment.sh").is_file()


def test_pack_environment_pins_a_pixi_pack_that_reads_lock_file_v7() -> None:
    """pixi >= 0.68 writes lock file v7, which pixi-pack reads from 0.7.7 on."""
    manifest = tomllib.loads(_rendered()["build/pixi.toml"])
    assert manifest["feature"]["pack"]["dependencies"]["pixi-pack"] == ">=0.7.7,<0.8"
    assert manifest["environments"]["pack"] == {"features": ["pack"], "no-default-feature": True}
    assert "0.7.7" in _rendered()["build/pack.sh"]

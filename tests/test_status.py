"""pixi-htc status on event logs written in HTCondor's text format (tests/fixtures/status)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pixi_htc.follow import provenance
from pixi_htc.follow.explain import Explainer
from pixi_htc.follow.status import collect, render, status
from pixi_htc.pipeline import compile as pipeline
from pixi_htc.schedulers import SCHEDULERS
from pixi_htc.schedulers.htcondor import HTCondor
from pixi_htc.schedulers.htcondor.diagnose import Locator, explain_hold
from pixi_htc.schedulers.htcondor.joblog import LogError, read_log
from pixi_htc.spec.loader import load_spec
from tests.conftest import run_cli

htcondor2 = pytest.importorskip("htcondor2")
FIXTURES = Path(__file__).parent / "fixtures" / "status"


@pytest.fixture
def built(project_dir: Path) -> Path:
    assert run_cli("build", cwd=project_dir).returncode == 0
    (project_dir / "build" / "logs").mkdir()
    for file in (FIXTURES / "logs").iterdir():
        shutil.copy(file, project_dir / "build" / "logs" / file.name)
    return project_dir


def compiled_at(root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(root)
    compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
    return compiled, load_spec(Path("specs/project.yaml"), compiled.project.spec_path)


@pytest.mark.parametrize(
    "log", sorted((FIXTURES / "logs").glob("*.log")) + sorted((FIXTURES / "holds").glob("*.log")), ids=lambda p: p.name
)
def test_htcondor_reads_every_fixture(log: Path) -> None:
    events = list(htcondor2.JobEventLog(str(log)).events(stop_after=0))
    assert events and int(events[0].type) == 0  # each starts with its submit event


def test_each_process_in_its_state(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    report = collect(compiled, spec, live=False)
    sweep = next(s for s in report.jobs if s.job.name == "mnist-sweep")
    assert sweep.cluster is not None and sweep.cluster.cluster == 4242 and sweep.cluster.older_clusters == (4241,)
    states = {proc: p.state for proc, p in sweep.cluster.processes.items()}
    assert states == {0: "completed", 1: "running", 2: "held", 3: "idle"}
    done = sweep.cluster.processes[0]
    assert (done.exit_code, done.checkpoints, done.evictions, done.restarts) == (0, 2, 1, 1)
    assert sweep.cluster.processes[2].held.code == 34 and sweep.cluster.processes[2].memory_mb == 3175
    assert not report.done and not report.unreadable
    lines = list(render(report))
    # Sweep values under the user's names, by ProcId in the queue table's order.
    assert any(line.split()[:3] == ["4242.2", "held", "batch_size=128"] and "lr=0.5" in line for line in lines)
    assert any(line.split()[:2] == ["4242.1", "running"] for line in lines)


def test_problems_point_at_the_spec_keys(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    findings = {f.key_path: f for s in collect(compiled, spec, live=False).jobs for f in s.findings}
    memory = findings["jobs.mnist-sweep.resources.memory"]
    assert "is 2GB" in memory.message and "3.1 GB" in memory.message and "4GB" in memory.message
    # The sweep takes the default: the finding says so in explain's words, where explain points.
    assert "default of jobs.mnist-sweep.resources.memory" in memory.message
    assert "set it under jobs.mnist-sweep" in memory.message
    assert (memory.line, memory.column) == spec.locate(("jobs", "mnist-sweep"), at_key=True)
    explainer = Explainer(compiled, spec)
    field = next(
        f for f in provenance.fields(compiled.project) if f.key == ("jobs", "mnist-sweep", "resources", "memory")
    )
    told = explainer.origin(field)
    assert told.note in memory.message and (told.line, told.column) == (memory.line, memory.column)
    inputs = findings["jobs.mnist-gpu-pixi-pack.inputs[0]"]
    assert (inputs.line, inputs.column) == spec.locate(("jobs", "mnist-gpu-pixi-pack", "inputs", 0))
    failed = findings["jobs.mnist-gpu-docker.command"]
    assert "exited with code 1" in failed.message and any("make data" in d for d in failed.details)
    checkpoint = findings["jobs.mnist-sweep.checkpoint.exit_code"]
    assert "checkpointed 2 time(s)" in checkpoint.message and "evicted 1" in checkpoint.message


HOLDS = {
    "memory": ("mnist-gpu-docker", "jobs.mnist-gpu-docker.resources.memory", "3.1 GB"),
    "memory-ospool": ("mnist-gpu-docker", "jobs.mnist-gpu-docker.resources.memory", "1.8 GB"),
    "disk": ("mnist-gpu-docker", "jobs.mnist-gpu-docker.resources.disk", "is 2GB"),
    "transfer-input": ("mnist-sweep", "jobs.mnist-sweep.inputs[0]", "build/MNIST_data.tar.gz"),
    "transfer-output": ("mnist-sweep", "jobs.mnist-sweep.outputs[1]", "metrics.jsonl"),
    "image": ("mnist-sweep", "container.image", "ghcr.io/pixi-htc/hello-pytorch"),
    "job-length": ("mnist-gpu-docker", "jobs.mnist-gpu-docker.chtc.job_length", "is short"),
}


@pytest.mark.parametrize("case", sorted(HOLDS))
def test_each_common_hold_maps_to_its_key(case: str, built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    job_name, key, text = HOLDS[case]
    job = next(j for j in compiled.project.jobs if j.name == job_name)
    process = read_log(FIXTURES / "holds" / f"{case}.log", case)[(5000, 0)]
    assert process.state == "held" and process.held is not None
    finding = explain_hold(compiled.project, job, process, process.held, Locator(spec))
    assert finding.key_path == key and text in finding.message
    assert finding.details[0].startswith("HTCondor: ") and f"HoldReasonCode {process.held.code}" in finding.details[0]


@pytest.mark.parametrize(
    "name, where",
    [("not-a-log.log", ":1: not an HTCondor job event log"), ("damaged.log", "HTCondor cannot read event")],
)
def test_damaged_logs_are_named_not_tracebacks(name: str, where: str) -> None:
    with pytest.raises(LogError, match=where):
        read_log(FIXTURES / "bad" / name, name)


def test_cli_reports_a_damaged_log_with_exit_2(built: Path) -> None:
    shutil.copy(FIXTURES / "bad" / "damaged.log", built / "build" / "logs" / "mnist-gpu-docker_4300_0.log")
    result = run_cli("status", "--no-schedd", cwd=built)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "build/logs/mnist-gpu-docker_4300_0.log:" in result.stdout and "damaged" in result.stdout
    assert "mnist-sweep: cluster 4242" in result.stdout  # the other jobs are still reported


def test_cli_status_one_job_and_not_submitted(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    result = run_cli("status", "--job", "mnist-sweep", "--no-schedd", cwd=project_dir)
    assert result.returncode == 0 and result.stdout.startswith("mnist-sweep: not submitted")
    assert run_cli("status", "--job", "nope", cwd=project_dir).returncode == 2


def test_the_schedd_overrides_the_log(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    ads = [
        {
            "ClusterId": 4242,
            "ProcId": 3,
            "JobStatus": 5,
            "HoldReason": "Cannot start container: invalid image name: x",
            "HoldReasonCode": 35,
            "HoldReasonSubCode": 0,
        }
    ]
    report = collect(
        compiled,
        spec,
        job_name="mnist-sweep",
        schedulers={**SCHEDULERS, "htcondor": HTCondor(schedd=lambda clusters: ads)},
    )
    process = report.jobs[0].cluster.processes[3]
    assert report.schedd and process.state == "held" and process.source == "schedd"
    assert any(f.key_path == "container.image" for f in report.jobs[0].findings)


def test_watch_redraws_until_done_with_a_progress_bar(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    lines: list[str] = []
    sleeps: list[float] = []
    status(
        compiled,
        spec,
        job_name="mnist-sweep",
        watch=True,
        interval=0.01,
        live=False,
        out=lines.append,
        sleep=sleeps.append,
        max_rounds=2,
    )
    assert sleeps == [2.0]  # the interval is held to its lower bound
    assert sum("[" in line and "1/4 completed" in line for line in lines) == 2
    # All four finished: the watch stops by itself.
    logs = built / "build" / "logs"
    for proc in (1, 2, 3):
        (logs / f"mnist-sweep_4242_{proc}.log").write_text(
            (logs / "mnist-sweep_4242_0.log").read_text().replace("4242.000.000", f"4242.{proc:03d}.000")
        )
    lines.clear()
    assert (
        status(compiled, spec, job_name="mnist-sweep", watch=True, live=False, out=lines.append, sleep=sleeps.append)
        == 0
    )
    assert sleeps == [2.0] and any("4/4 completed" in line for line in lines)

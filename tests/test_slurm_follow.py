"""`pixi-htc status` and `results` on Slurm jobs (#20): the record each task's script writes, sacct when
it answers, scontrol while the controller remembers, and a spec that mixes an HTCondor job (its event
log written by hand, as HTCondor writes them) with a Slurm job array. The last tests run the array on
the real single-node cluster tests/slurm_cluster.py starts: tasks succeed, one fails, one is requeued."""

from __future__ import annotations

import csv
import io
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

from pixi_htc.pipeline.compile import compile_spec
from pixi_htc.schedulers import SCHEDULERS
from pixi_htc.schedulers.slurm.accounting import tasks_of
from tests.conftest import run_cli
from tests.slurm_cluster import Cluster, missing

# A stand-in trainer: writes two epochs of metrics as the bundled trainer does, or fails, or (first run
# of the "requeue" row) waits to be requeued.
TRAINER = """\
import json, os, sys, time
mode = sys.argv[1]
if mode == "requeue" and not os.path.exists("started"):
    open("started", "w").close()
    time.sleep(300)
if mode == "fail":
    print("the fail row fails on purpose", file=sys.stderr)
    sys.exit(3)
with open("metrics.jsonl", "w") as out:
    for epoch in (1, 2):
        accuracy = 0.5 + 0.1 * epoch + (0.05 if mode == "fine" else 0.0)
        out.write(json.dumps({"epoch": epoch, "accuracy": accuracy, "test_loss": 1.0 / epoch, "seconds": 0.5}) + "\\n")
"""
SPEC = """\
schema_version: 1
name: follow-demo
environments:
  cpu: {dependencies: {python: "*"}}
container: {environment: cpu, image: ghcr.io/pixi-htc/follow-demo}
pack: {environment: cpu}
slurm: {time: "00:10:00"}
jobs:
  classic:                # HTCondor: its event log is written by hand below
    runtime: container
    command: [python3, trainer.py, "{mode}"]
    inputs: [trainer.py]
    outputs: [metrics.jsonl]
    resources: {gpus: 0}
    sweep: {mode: [ok]}
  grid:                   # Slurm: a 4-task array, one task per row
    scheduler: slurm
    runtime: host
    command: [python3, trainer.py, "{mode}"]
    inputs: [trainer.py]
    outputs: [metrics.jsonl]
    resources: {cpus: 1, gpus: 0, memory: 256MB}
    sweep:
      mode: [ok, fine, fail, requeue]
"""
# The HTCondor job's cluster 500: submitted, executed, exited 0 (the manual's text event format).
CLASSIC_LOG = """\
000 (500.000.000) 2026-06-01 10:00:00 Job submitted from host: <10.0.0.5:9618?addrs=10.0.0.5-9618>
...
001 (500.000.000) 2026-06-01 10:01:00 Job executing on host: <10.0.0.7:9618?addrs=10.0.0.7-9618>
...
005 (500.000.000) 2026-06-01 10:02:00 Job terminated.
\t(1) Normal termination (return value 0)
\t\tUsr 0 00:00:10, Sys 0 00:00:01  -  Run Remote Usage
\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage
\t\tUsr 0 00:00:10, Sys 0 00:00:01  -  Total Remote Usage
\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage
\t100  -  Run Bytes Sent By Job
\t200  -  Run Bytes Received By Job
\t100  -  Total Bytes Sent By Job
\t200  -  Total Bytes Received By Job
...
"""
MODES = ("ok", "fine", "fail", "requeue")


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_project(root: Path) -> Path:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "specs" / "project.yaml").write_text(SPEC)
    (root / "trainer.py").write_text(TRAINER)
    result = run_cli("build", "specs/project.yaml", "--out", "build", cwd=root)
    assert result.returncode == 0, result.stderr
    (root / "build" / "logs").mkdir(exist_ok=True)
    return root


def lines_of(result: subprocess.CompletedProcess[str], job: str) -> list[str]:
    """One job's block of status output: its summary line and its process lines."""
    out, block = [], False
    for line in result.stdout.splitlines():
        if line.startswith(f"{job}:"):
            block = True
        elif not line.startswith("  "):
            block = False
        if block:
            out.append(line)
    return out


def task_rows(block: list[str]) -> dict[str, list[str]]:
    """mode -> the words of its status line (id, state, values, detail...)."""
    rows = {}
    for line in block[1:]:
        words = line.split()
        mode = next((w.split("=", 1)[1] for w in words if w.startswith("mode=")), None)
        if mode is not None:
            rows[mode] = words
    return rows


def run_task(root: Path, array: str, task: int, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """The generated script as Slurm runs one array task: in the build directory, its output and error
    appended to logs/grid_<array>_<task>.out and .err (--output, --error, --open-mode=append)."""
    log = root / "build" / "logs" / f"grid_{array}_{task}"
    return run_task_into(root, array, task, Path(f"{log}.out"), Path(f"{log}.err"), env)


def run_task_into(
    root: Path, array: str, task: int, out: Path, err: Path, env: dict[str, str], job_id: int | None = None
) -> subprocess.CompletedProcess[bytes]:
    """build/slurm/grid.sbatch as Slurm runs array task `task` of job `array`, its stdout and stderr
    appended to `out` and `err` (the task's own job id is array + task unless given)."""
    build = root / "build"
    with open(out, "a") as stdout, open(err, "a") as stderr:
        return subprocess.run(
            ["bash", str(build / "slurm" / "grid.sbatch")],
            cwd=build,
            stdout=stdout,
            stderr=stderr,
            check=False,
            timeout=60,
            env={
                "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                "SLURM_SUBMIT_DIR": str(build),
                "SLURM_ARRAY_JOB_ID": array,
                "SLURM_ARRAY_TASK_ID": str(task),
                "SLURM_JOB_ID": str(int(array) + task if job_id is None else job_id),
                **env,
            },
        )


def mode_task(root: Path, mode: str) -> int:
    job = next(
        j for j in compile_spec(root / "specs" / "project.yaml", root / "build").project.jobs if j.name == "grid"
    )
    return [row[0] for row in job.sweep_rows].index(mode)


# --- without a cluster: the records the script writes, and what status makes of them ----------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def test_the_script_records_each_start_and_exit(project: Path) -> None:
    ok, fail = mode_task(project, "ok"), mode_task(project, "fail")
    assert run_task(project, "31", ok, {}).returncode == 0
    assert run_task(project, "31", fail, {}).returncode == 3
    record = (project / "build" / "logs" / f"grid_31_{fail}.state").read_text().splitlines()
    assert [line.split("\t")[0::2] for line in record] == [["start", "0"], ["exit", "3"]]
    assert all(re.fullmatch(r"[0-9]+", line.split("\t")[1]) for line in record)
    # A second run (Slurm's restart count 1) adds to the record; the fold says restarted once.
    assert run_task(project, "31", ok, {"SLURM_RESTART_COUNT": "1"}).returncode == 0
    assert [
        line.split("\t")[0::2] for line in (project / "build" / "logs" / f"grid_31_{ok}.state").read_text().splitlines()
    ] == [["start", "0"], ["exit", "0"], ["start", "1"], ["exit", "0"]]


def test_a_term_from_slurm_is_recorded_and_still_ends_the_task(project: Path) -> None:
    task = mode_task(project, "requeue")
    build = project / "build"
    process = subprocess.Popen(
        ["bash", str(build / "slurm" / "grid.sbatch")],
        cwd=build,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "SLURM_SUBMIT_DIR": str(build),
            "SLURM_ARRAY_JOB_ID": "40",
            "SLURM_ARRAY_TASK_ID": str(task),
        },
    )
    started = build / "outputs" / "grid" / f"40_{task}" / "started"
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.terminate()
    assert process.wait(timeout=30) == -15  # ended by TERM, as before the record was written
    record = (build / "logs" / f"grid_40_{task}.state").read_text().splitlines()
    # bash runs the EXIT trap on its way out too: that line ends nothing more (the fold skips it).
    assert [line.split("\t")[0::2] for line in record][:2] == [["start", "0"], ["signal", "TERM"]]
    result = run_cli("status", "--job", "grid", "--no-schedd", cwd=project)
    row = task_rows(lines_of(result, "grid"))["requeue"]
    assert row[:2] == [f"40_{task}", "failed"] and row[-3:] == ["exit", "signal", "15"], result.stdout


def test_status_and_results_from_the_records_alone(project: Path) -> None:
    """No sacct, no scontrol (a PATH without them): the records and the task directories say it all."""
    for mode in ("ok", "fine", "fail"):
        run_task(project, "52", mode_task(project, mode), {})
    (project / "build" / "logs" / "grid.slurm-jobs").write_text("51\n52\n")
    env = {"PATH": "/nonexistent"}
    result = run_cli("status", "--job", "grid", cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    block = lines_of(result, "grid")
    assert block[0] == (
        "grid: Slurm job 52, 4 process(es): 2 completed, 1 failed, 1 without a log yet; earlier Slurm jobs: 51"
    )
    rows = task_rows(block)
    assert rows["ok"][:2] == [f"52_{mode_task(project, 'ok')}", "completed"] and rows["ok"][-3:] == [
        "exit",
        "code",
        "0",
    ]
    assert rows["fail"][:2] == [f"52_{mode_task(project, 'fail')}", "failed"] and rows["fail"][-3:] == [
        "exit",
        "code",
        "3",
    ]
    assert "requeue" not in rows
    assert "(from the tasks' records only: neither sacct nor scontrol answered here)" in result.stdout
    # The failure at the key that can fix it, with the end of the task's .err.
    finding = next(line for line in result.stdout.splitlines() if "jobs.grid.command" in line)
    assert re.match(
        r"specs/project\.yaml:\d+:\d+: jobs\.grid\.command: task 52_\d \(mode=fail\) exited with code 3$", finding
    ), finding
    assert "the fail row fails on purpose" in result.stdout
    # --cluster picks the earlier submission: nothing of it was recorded.
    earlier = run_cli("status", "--job", "grid", "--cluster", "51", cwd=project, env=env)
    assert lines_of(earlier, "grid")[0] == "grid: Slurm job 51, 4 process(es): 4 without a log yet"

    results = run_cli("results", "--job", "grid", "--no-plots", cwd=project, env=env)
    assert results.returncode == 0, results.stdout + results.stderr
    assert "grid: Slurm job 52, 2 of 4 process(es) have metrics" in results.stdout
    table = (project / "build" / "outputs" / "grid_52_results.csv").read_text()
    rows_csv = {row["mode"]: row for row in csv.DictReader(io.StringIO(table))}
    assert set(rows_csv["ok"]) >= {"job", "slurm_job", "process", "mode"}
    assert (rows_csv["ok"]["slurm_job"], rows_csv["ok"]["accuracy"], rows_csv["ok"]["epochs"]) == ("52", "0.7", "2")
    assert rows_csv["fine"]["accuracy"] == "0.75" and rows_csv["fail"]["status"] == "no output yet"
    assert re.search(r"best by accuracy \(higher is better\): process 52_\d \(mode=fine\)", results.stdout)


def test_sacct_when_it_answers(project: Path, tmp_path: Path) -> None:
    """A stand-in sacct prints what sacct --parsable2 prints: a task requeued twice, one out of memory, a
    pending range. Its arguments are recorded: no shell, parsable, the job asked about."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    ok, fine, fail, requeue = (mode_task(project, mode) for mode in MODES)
    write_executable(
        bin_dir / "sacct",
        f"""#!/bin/sh
printf '%s\\n' "$*" >> {calls}
/bin/cat <<'EOF'
60_{ok}|COMPLETED|0:0
60_{fine}|OUT_OF_MEMORY|0:125
60_{requeue}|REQUEUED|0:0
60_{requeue}|REQUEUED|0:0
60_{requeue}|RUNNING|0:0
60_[{fail}]|PENDING|0:0
EOF
""",
    )
    (project / "build" / "logs" / "grid.slurm-jobs").write_text("60\n")
    result = run_cli("status", "--job", "grid", cwd=project, env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls.read_text().split() == [
        "--parsable2",
        "--noheader",
        "--allocations",
        "--duplicates",
        "--jobs=60",
        "--format=JobID,State,ExitCode",
    ]
    rows = task_rows(lines_of(result, "grid"))
    assert rows["ok"][1] == "completed" and rows["fine"][1:2] == ["failed"] and "OUT_OF_MEMORY," in rows["fine"]
    assert rows["requeue"][1] == "running" and rows["requeue"][-1] == "restarts=2" and rows["fail"][1] == "idle"
    assert "from the tasks' records only" not in result.stdout
    assert re.search(
        r"jobs\.grid\.resources\.memory is 256MB; task 60_\d \(mode=fine\) ran out of memory", result.stdout
    )
    assert re.search(
        r"jobs\.grid: task 60_\d \(mode=requeue\) was requeued 2 time\(s\) and started over", result.stdout
    )


def test_hostile_records_are_named_and_never_read(project: Path, tmp_path: Path) -> None:
    logs = project / "build" / "logs"
    (logs / "grid.slurm-jobs").write_text("70\n\x1b[2Jrm -rf\n")
    (logs / "grid_70_0.state").write_text("start\t1\t0\n\x1b]0;owned\x07exit\t2\t0\n")
    outside = tmp_path / "elsewhere.state"
    outside.write_text("start\t1\t0\nexit\t2\t0\n")
    (logs / "grid_70_1.state").symlink_to(outside)
    os.mkfifo(logs / "grid_70_2.state")
    result = run_cli("status", "--job", "grid", "--no-schedd", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "build/logs/grid.slurm-jobs:2: not a Slurm job id: '\\x1b[2Jrm -rf'" in out
    assert "build/logs/grid_70_0.state:2: not a task record line: '\\x1b]0;owned\\x07exit\\t2\\t0'" in out
    assert "build/logs/grid_70_1.state: leads through a symbolic link" in out
    assert "build/logs/grid_70_2.state: is a named pipe (FIFO), not a regular file" in out
    assert lines_of(result, "grid")[0].startswith("grid: Slurm job 70, 4 process(es): 4 without a log yet")


def test_the_array_task_ranges_slurm_prints() -> None:
    assert tasks_of("3", 4) == [3] and tasks_of("[1-3%2]", 4) == [1, 2, 3] and tasks_of("0,2-9", 4) == [0, 2, 3]
    assert tasks_of("x", 4) == [] and tasks_of("99999999999", 4) == []


def test_the_mixed_spec_follows_both_schedulers(project: Path) -> None:
    """One status and one results for an HTCondor job (its event log by hand) and a Slurm array."""
    compiled = compile_spec(project / "specs" / "project.yaml", project / "build")
    classic = next(job for job in compiled.project.jobs if job.name == "classic")
    from pixi_htc.schedulers.htcondor.jobfiles import job_files

    log = job_files(compiled, "classic").log
    assert log is not None
    (project / "build" / log.path(500, 0)).write_text(CLASSIC_LOG)
    landing = SCHEDULERS["htcondor"].outputs(compiled, classic, "metrics.jsonl", submission=500)
    assert landing is not None
    metrics = project / landing.expected(0)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text('{"epoch": 1, "accuracy": 0.9}\n')
    run_task(project, "80", mode_task(project, "ok"), {})
    result = run_cli("status", "--no-schedd", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_of(result, "classic")[0] == "classic: cluster 500, 1 process(es): 1 completed"
    assert lines_of(result, "classic")[1].split() == ["500.0", "completed", "mode=ok", "exit", "code", "0"]
    assert lines_of(result, "grid")[0] == "grid: Slurm job 80, 4 process(es): 1 completed, 3 without a log yet"
    assert result.stdout.rstrip().splitlines()[-2:] == [
        "(from the event logs only: no HTCondor schedd answered here)",
        "(from the tasks' records only: neither sacct nor scontrol answered here)",
    ]
    results = run_cli("results", "--no-plots", cwd=project)
    assert results.returncode == 0, results.stdout + results.stderr
    assert "classic: cluster 500, 1 of 1 process(es) have metrics" in results.stdout
    assert "grid: Slurm job 80, 1 of 4 process(es) have metrics" in results.stdout
    assert (project / "build" / "outputs" / "classic_500_results.csv").is_file()


# --- on the real cluster ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing()
    if reason:
        pytest.skip(f"no Slurm cluster: {reason}")
    running = Cluster(tmp_path_factory.mktemp("slurm-follow-cluster"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_an_array_on_slurm_succeeds_fails_and_requeues(cluster: Cluster, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    env = {"SLURM_CONF": cluster.env["SLURM_CONF"], "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    submitted = run_cli("submit", "--job", "grid", cwd=root, env=env)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    array = re.search(r"as Slurm job (\d+)", submitted.stdout).group(1)  # type: ignore[union-attr]
    assert (root / "build" / "logs" / "grid.slurm-jobs").read_text() == f"{array}\n"
    requeue = mode_task(root, "requeue")
    started = root / "build" / "outputs" / "grid" / f"{array}_{requeue}" / "started"
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), cluster.logs()
    # While it runs: the controller says so (sacct does not answer: this cluster keeps no accounting).
    live = run_cli("status", "--job", "grid", cwd=root, env=env)
    assert task_rows(lines_of(live, "grid"))["requeue"][1] == "running", live.stdout
    assert "records only" not in live.stdout
    cluster.client("scontrol", "requeue", f"{array}_{requeue}")
    cluster.wait_jobs([array], timeout=300)

    def check(result: subprocess.CompletedProcess[str]) -> None:
        assert result.returncode == 0, result.stdout + result.stderr
        rows = task_rows(lines_of(result, "grid"))
        for mode in ("ok", "fine"):
            assert rows[mode][:2] == [f"{array}_{mode_task(root, mode)}", "completed"], result.stdout
            assert rows[mode][-3:] == ["exit", "code", "0"]
        assert rows["fail"][1] == "failed" and rows["fail"][-3:] == ["exit", "code", "3"], result.stdout
        assert rows["requeue"][1] == "completed" and rows["requeue"][-1] == "restarts=1", result.stdout
        assert lines_of(result, "grid")[0].startswith(
            f"grid: Slurm job {array}, 4 process(es): 3 completed, 1 failed (restarted 1)"
        )
        assert re.search(r"jobs\.grid\.command: task \d+_\d \(mode=fail\) exited with code 3", result.stdout)
        assert re.search(r"jobs\.grid: task \d+_\d \(mode=requeue\) was requeued 1 time\(s\)", result.stdout)

    live = run_cli("status", "--job", "grid", cwd=root, env=env)
    check(live)
    assert "records only" not in live.stdout  # scontrol still remembers the job (MinJobAge)
    check(run_cli("status", "--job", "grid", "--no-schedd", cwd=root, env=env))  # the records alone agree
    no_slurm = run_cli("status", "--job", "grid", cwd=root, env={"PATH": "/nonexistent"})
    check(no_slurm)
    assert "(from the tasks' records only: neither sacct nor scontrol answered here)" in no_slurm.stdout

    results = run_cli("results", "--job", "grid", "--no-plots", cwd=root, env=env)
    assert results.returncode == 0, results.stdout + results.stderr
    assert f"grid: Slurm job {array}, 3 of 4 process(es) have metrics" in results.stdout
    table = {
        row["mode"]: row
        for row in csv.DictReader(io.StringIO((root / "build" / "outputs" / f"grid_{array}_results.csv").read_text()))
    }
    assert {mode: table[mode]["accuracy"] for mode in MODES} == {
        "ok": "0.7",
        "fine": "0.75",
        "fail": "",
        "requeue": "0.7",
    }
    assert table["requeue"]["epochs"] == "2" and table["fail"]["status"] == "no output yet"
    shutil.rmtree(root / "build" / "outputs" / "grid")

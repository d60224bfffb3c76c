"""Review of status and results on a run of the pipeline's DAG (#24): what a hostile status file or
DAGMan log does, and runs a careful HTCondor user makes (a rescue DAG, the DAG named by its absolute
path, a spec that names its own logs), each as DAGMan and condor_submit_dag write their files
(src/condor_dagman/dag.cpp Dag::DumpNodeStatus, src/condor_utils/dagman_utils.cpp setUpOptions)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pixi_htc.follow import results
from pixi_htc.schedulers.htcondor import dagstatus
from pixi_htc.schedulers.htcondor.follow import DagRun
from tests.conftest import run_cli
from tests.test_dag_status import RUNNING, SPEC, event, log, report_at, status_file
from tests.test_pipeline import EXAMPLE, example_project

pytest.importorskip("htcondor2")


def started(root: Path, *dagman: int) -> Path:
    """The example project after condor_submit_dag ran DAGMan as the jobs `dagman` (its own log
    keeps each DAGMan job of a run and its rescues; a forced submission starts it afresh)."""
    build = root / "build"
    (build / "logs" / "dag").mkdir(parents=True, exist_ok=True)
    (build / "htcondor" / "pipeline.dag.dagman.log").write_text(
        "".join(event("000", cluster, "09:59:00") for cluster in dagman)
    )
    return build


def node_log(build: Path, job: str, cluster: int, proc: int, state: str = "completed", code: int = 0) -> None:
    (build / "logs" / "dag" / f"{job}_{cluster}_{proc}.log").write_text(log(cluster, state, code))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return example_project(tmp_path)


@pytest.mark.parametrize("kind", ["link", "fifo", "directory"])
def test_an_unreadable_dagman_log_is_named_and_exits_2(kind: str, project: Path, tmp_path: Path) -> None:
    build = started(project, 500)
    (build / "htcondor" / "pipeline.dag.status").write_text(status_file(RUNNING))
    dagman_log = build / "htcondor" / "pipeline.dag.dagman.log"
    dagman_log.unlink()
    if kind == "link":
        elsewhere = tmp_path / "dagman.log"
        elsewhere.write_text(event("000", 500, "09:59:00"))
        os.symlink(elsewhere, dagman_log)
    elif kind == "fifo":
        os.mkfifo(dagman_log)
    else:
        dagman_log.mkdir()
    result = run_cli("status", SPEC, "--offline", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert any("unreadable:" in line and "pipeline.dag.dagman.log" in line for line in result.stdout.splitlines())


def test_a_string_dagman_escaped_from_bytes_not_utf8_is_no_crash(project: Path) -> None:
    """ClassAdUnParser writes every byte isprint() refuses as \\ooo, so a Latin-1 message of a POST
    script reaches the file as "\\351"; classad2 cannot give it back as a str."""
    build = started(project, 500)
    status = build / "htcondor" / "pipeline.dag.status"
    status.write_text(
        status_file(RUNNING).replace("Job proc (505.0.0) failed with status 1", r"POST script: r\351sultat manquant")
    )
    result = run_cli("status", SPEC, "--offline", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    failed = next(line for line in result.stdout.splitlines() if "node train_1 error" in line)
    assert r"r\351sultat manquant" in failed  # as DAGMan wrote it, escaped
    status.write_text(status_file(RUNNING).replace('Node = "train_1"', r'Node = "train_\377"'))
    result = run_cli("status", SPEC, "--offline", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    assert any("pipeline.dag.status:" in line and "unreadable:" in line for line in result.stdout.splitlines())


def test_the_dag_named_by_its_absolute_path_is_ours(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """condor_submit_dag $PWD/htcondor/pipeline.dag from build/ writes the same files (the status file
    is named from DAGMan's working directory, build/), and DagFiles says the DAG as it was given."""
    build = started(project, 500)
    node_log(build, "train", 501, 0)
    for given in (str((build / "htcondor" / "pipeline.dag").resolve()), "./htcondor/pipeline.dag"):
        (build / "htcondor" / "pipeline.dag.status").write_text(
            status_file(RUNNING).replace('"htcondor/pipeline.dag"', json.dumps(given))
        )
        _, report = report_at(project, monkeypatch)
        assert not report.unreadable, report.unreadable
        train = next(status for status in report.jobs if status.job.name == "train")
        assert [step.name for step in train.steps] == [f"train_{n}" for n in range(4)]


def test_a_rescue_dag_keeps_the_nodes_done_before_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DAGMan job 500 ran train_0 (501) and failed train_1 (502); condor_submit_dag again runs the
    rescue DAG as job 600 (its log is kept: not forced), which reruns only train_1 (601)."""
    build = started(project, 500, 600)
    node_log(build, "train", 501, 0)
    node_log(build, "train", 502, 1, code=1)
    node_log(build, "train", 601, 1, "running")
    rescue = dict(RUNNING, train_0=(5, "User defined as DONE", 0), train_1=(3, "not_idle", 0))
    (build / "htcondor" / "pipeline.dag.status").write_text(status_file(rescue))
    _, report = report_at(project, monkeypatch)
    train = next(status for status in report.jobs if status.job.name == "train")
    assert isinstance(train.submission, DagRun) and train.submission.cluster == 600
    found = {proc: (process.id, process.state) for proc, process in train.submission.processes.items()}
    assert found == {0: ("501.0", "completed"), 1: ("601.0", "running")}


def test_a_spec_that_names_its_own_logs_still_follows_the_dag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """logs.log names one file pattern for the job's .sub and its node's .sub alike: the nodes' logs
    are then no submission of the job's own."""
    (tmp_path / "specs" / "examples").mkdir(parents=True)
    own = "    retries: 2\n    logs:\n      log: build/logs/train_{cluster}_{process}.log\n"
    (tmp_path / SPEC).write_text(EXAMPLE.read_text().replace("    retries: 2\n", own, 1))
    assert run_cli("build", SPEC, "--out", "build", cwd=tmp_path).returncode == 0
    build = started(tmp_path, 500)
    for cluster, proc in ((501, 0), (505, 1), (504, 3)):
        (build / "logs" / f"train_{cluster}_{proc}.log").write_text(log(cluster, "completed"))
    (build / "htcondor" / "pipeline.dag.status").write_text(status_file(RUNNING))
    _, report = report_at(tmp_path, monkeypatch)
    train = next(status for status in report.jobs if status.job.name == "train")
    assert isinstance(train.submission, DagRun) and train.submission.cluster == 500
    assert {proc: process.id for proc, process in train.submission.processes.items()} == {
        0: "501.0",
        1: "505.0",
        3: "504.0",
    }
    assert train.steps


def test_results_take_no_output_an_older_run_left(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """outputs/<job>/<process>/ is written again by each run: a process with no node job in this run
    (waiting, or never to run) has no output of this run, whatever an older run left there."""
    build = started(project, 500)
    node_log(build, "evaluate", 506, 0)
    (build / "htcondor" / "pipeline.dag.status").write_text(status_file(RUNNING))
    for proc in (0, 1):
        folder = build / "outputs" / "evaluate" / str(proc)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "evaluation.jsonl").write_text(json.dumps({"epoch": 0, "accuracy": 0.5 + proc / 10}) + "\n")
    compiled, _ = report_at(project, monkeypatch)
    job = next(job for job in compiled.project.jobs if job.name == "evaluate")
    runs = results.gather(compiled, job, metrics_file="evaluation.jsonl", cluster=None)
    assert runs is not None
    assert runs[0].final("accuracy") == pytest.approx(0.5)
    assert runs[1].path is None and runs[1].note == "no output yet"  # evaluate_1 is futile in this run


def test_every_line_shape_dagman_writes_is_read() -> None:
    """An empty DagFiles, two DAG files, a held DAG's note, a FINAL node's ad, escapes in details."""
    text = status_file(RUNNING, note="held").replace(
        '  DagFiles = {\n    "htcondor/pipeline.dag"\n  };', "  DagFiles = {\n\n  };"
    )
    state = dagstatus.parse(text, "s")
    assert state.dag_files == () and state.note == "held"
    two = status_file(RUNNING).replace('    "htcondor/pipeline.dag"', '    "htcondor/pipeline.dag",\n    "more.dag"')
    assert dagstatus.parse(two, "s").dag_files == ("htcondor/pipeline.dag", "more.dag")
    odd = status_file(RUNNING).replace("Job proc (505.0.0) failed with status 1", r"say \"no\"\t\\ \033[2J")
    details = next(node.details for node in dagstatus.parse(odd, "s").nodes if node.name == "train_1")
    assert details == 'say "no"\\t\\ \\x1b[2J'  # the tab and the escape shown as escapes


def test_a_line_of_megabytes_is_refused_at_once() -> None:
    """One 30 MB StatusDetails took the line patterns and classad2 about ten seconds, on every
    refresh of status --watch; no line DAGMan writes is near DumpNodeStatus' longest."""
    text = status_file(RUNNING).replace("Job proc (505.0.0) failed with status 1", "a" * 30_000_000)
    with pytest.raises(dagstatus.StatusFileError, match=r"^s:\d+: the line is 30,000,0\d\d characters"):
        dagstatus.parse(text, "s")

"""pixi-htc status and results on a run of the pipeline's DAG (#24): DAGMan's node status file and
the nodes' event logs, written here in the formats HTCondor writes them (the status file as
Dag::DumpNodeStatus in src/condor_dagman/dag.cpp writes it; event logs as in tests/fixtures/status)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pixi_htc.follow import results
from pixi_htc.follow.status import collect, render
from pixi_htc.pipeline.compile import compile_spec
from pixi_htc.schedulers.htcondor import dagstatus
from pixi_htc.schedulers.htcondor.follow import DagRun
from pixi_htc.spec.loader import load_spec
from tests.conftest import run_cli
from tests.test_pipeline import example_project

pytest.importorskip("htcondor2")
SPEC = "specs/examples/pipeline.yaml"
NODES = [f"train_{n}" for n in range(4)] + [f"evaluate_{n}" for n in range(4)] + ["aggregate"]
STATES = dict(enumerate(("NOT_READY", "READY", "PRERUN", "SUBMITTED", "POSTRUN", "DONE", "ERROR", "FUTILE")))


def event(kind: str, cluster: int, when: str, *body: str) -> str:
    words = {
        "000": "Job submitted from host: <10.0.0.5:9618?addrs=10.0.0.5-9618>",
        "001": "Job executing on host: <10.0.0.7:9618?addrs=10.0.0.7-9618>",
        "005": "Job terminated.",
    }[kind]
    return "".join(
        [f"{kind} ({cluster}.000.000) 2026-12-03 {when} {words}\n", *(f"\t{line}\n" for line in body), "...\n"]
    )


def ended(cluster: int, code: int) -> str:
    return event(
        "005",
        cluster,
        "10:30:00",
        f"(1) Normal termination (return value {code})",
        "\tUsr 0 00:10:00, Sys 0 00:00:05  -  Run Remote Usage",
        "\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage",
        "\tUsr 0 00:10:00, Sys 0 00:00:05  -  Total Remote Usage",
        "\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage",
        "0  -  Run Bytes Sent By Job",
        "0  -  Run Bytes Received By Job",
        "0  -  Total Bytes Sent By Job",
        "0  -  Total Bytes Received By Job",
    )


def log(cluster: int, state: str, code: int = 0) -> str:
    """A node job's event log: submitted, then running, then (completed) ended with `code`."""
    text = event("000", cluster, "10:00:00")
    if state in ("running", "completed"):
        text += event("001", cluster, "10:01:00", f"SlotName: slot1_1@gpu{cluster}.example.edu")
    if state == "completed":
        text += ended(cluster, code)
    return text


def status_file(states: dict[str, tuple[int, str, int]], *, dag_state: int = 3, note: str = "", end: int = 1) -> str:
    """DAGMan's node status file: `states` maps a node to (NodeStatus, StatusDetails, RetryCount)."""
    lines = [
        "[",
        '  Type = "DagStatus";',
        "  DagFiles = {",
        '    "htcondor/pipeline.dag"',
        "  };",
        '  Timestamp = 1796292000; /* "Thu Dec  3 10:40:00 2026" */',
        f'  DagStatus = {dag_state}; /* "STATUS_{STATES[dag_state]} ({note})" */',
        f"  NodesTotal = {len(states)};",
        f"  NodesDone = {sum(1 for s in states.values() if s[0] == 5)};",
        "  NodesPre = 0;",
        "  NodesQueued = 0;",
        "  NodesPost = 0;",
        "  NodesReady = 0;",
        "  NodesUnready = 0;",
        f"  NodesFutile = {sum(1 for s in states.values() if s[0] == 7)};",
        f"  NodesFailed = {sum(1 for s in states.values() if s[0] == 6)};",
        "  JobProcsHeld = 0;",
        "  JobProcsIdle = 0; /* includes held */",
        "]",
    ]
    for node, (state, details, retries) in states.items():
        lines += [
            "[",
            '  Type = "NodeStatus";',
            f'  Node = "{node}";',
            f'  NodeStatus = {state}; /* "STATUS_{STATES[state]}" */',
            f'  StatusDetails = "{details}";',
            f"  RetryCount = {retries};",
            f"  JobProcsQueued = {1 if state == 3 else 0};",
            "  JobProcsHeld = 0;",
            "]",
        ]
    lines += [
        "[",
        '  Type = "StatusEnd";',
        '  EndTime = 1796292000; /* "Thu Dec  3 10:40:00 2026" */',
        f'  NextUpdate = {end and 1796292030}; /* "{"none" if not end else "Thu Dec  3 10:40:30 2026"}" */',
        "]",
    ]
    return "\n".join(lines) + "\n"


RUNNING = {
    "train_0": (5, "", 0),
    "train_1": (6, "Job proc (505.0.0) failed with status 1", 2),
    "train_2": (3, "not_idle", 0),
    "train_3": (5, "", 0),
    "evaluate_0": (5, "", 0),
    "evaluate_1": (7, "Had an ancestor node fail", 0),
    "evaluate_2": (0, "", 0),
    "evaluate_3": (3, "idle", 0),
    "aggregate": (7, "Had an ancestor node fail", 0),
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example pipeline after part of a DAG run (DAGMan's job 500), beside an older submission of
    train on its own (cluster 400) and a node of an older DAG run (450)."""
    root = example_project(tmp_path_factory.mktemp("dag"))
    build = root / "build"
    logs = build / "logs"
    (logs / "dag").mkdir(parents=True)
    (build / "htcondor" / "pipeline.dag.dagman.log").write_text(
        event("000", 500, "09:59:00") + event("001", 500, "09:59:05")
    )
    for proc in range(4):
        (logs / f"train_400_{proc}.log").write_text(log(400, "completed"))
    (logs / "dag" / "train_450_2.log").write_text(log(450, "completed", 9))
    nodes = {
        ("train", 501, 0): log(501, "completed"),
        ("train", 502, 1): log(502, "completed", 1),
        ("train", 505, 1): log(505, "completed", 1),  # its second retry, the one that counts
        ("train", 503, 2): log(503, "running"),
        ("train", 504, 3): log(504, "completed"),
        ("evaluate", 506, 0): log(506, "completed"),
        ("evaluate", 507, 3): log(507, "idle"),
    }
    for (job, cluster, proc), text in nodes.items():
        (logs / "dag" / f"{job}_{cluster}_{proc}.log").write_text(text)
    (build / "htcondor" / dagstatus_name()).write_text(status_file(RUNNING, note=""))
    output = build / "outputs" / "evaluate" / "0"
    output.mkdir(parents=True, exist_ok=True)
    output.joinpath("evaluation.jsonl").write_text(json.dumps({"epoch": 0, "accuracy": 0.97, "loss": 0.1}) + "\n")
    return root


def dagstatus_name() -> str:
    from pixi_htc.schedulers.htcondor import dag

    return dag.STATUS_FILE


def report_at(root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(root)
    compiled = compile_spec(Path(SPEC), Path("build"))
    spec = load_spec(Path(SPEC), compiled.project.spec_path)
    return compiled, collect(compiled, spec, live=False)


def test_the_dag_asks_dagman_for_its_node_status_file(ran: Path) -> None:
    dag_text = (ran / "build" / "htcondor" / "pipeline.dag").read_text()
    assert "NODE_STATUS_FILE htcondor/pipeline.dag.status 30" in dag_text.splitlines()
    node_sub = (ran / "build" / "htcondor" / "dag" / "train.sub").read_text()
    assert "log = logs/dag/train_$(Cluster)_$(PixiHtcProcess).log" in node_sub.splitlines()
    own_sub = (ran / "build" / "htcondor" / "train.sub").read_text()
    assert "log = logs/train_$(Cluster)_$(Process).log" in own_sub.splitlines()


def test_each_process_is_its_node_of_the_newest_run(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, report = report_at(ran, monkeypatch)
    train = next(status for status in report.jobs if status.job.name == "train")
    assert isinstance(train.submission, DagRun) and train.submission.cluster == 500
    found = {proc: (p.id, p.state, p.exit_code) for proc, p in train.submission.processes.items()}
    # The older run's node (450) and the job's own submission (400) are not this run's.
    assert found == {
        0: ("501.0", "completed", 0),
        1: ("505.0", "completed", 1),
        2: ("503.0", "running", None),
        3: ("504.0", "completed", 0),
    }
    steps = {step.name: step for step in train.steps}
    assert steps["train_1"].state == "error" and steps["train_1"].retries == 2
    assert set(steps["train_1"].made_futile) == {"evaluate_1", "aggregate"}
    evaluate = next(status for status in report.jobs if status.job.name == "evaluate")
    assert set(evaluate.submission.processes) == {0, 3}
    waiting = {step.name: step for step in evaluate.steps}
    assert waiting["evaluate_1"].state == "futile" and waiting["evaluate_1"].failed_upstream == ("train_1",)
    assert waiting["evaluate_2"].state == "not ready"
    assert not report.done and not report.unreadable


def test_status_says_the_dag_and_each_node(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, report = report_at(ran, monkeypatch)
    lines = list(render(report))
    head = lines[0]
    assert head.startswith("pipeline build/htcondor/pipeline.dag: running; 9 node(s): ")
    assert "1 not ready, 2 submitted, 3 done, 1 error, 2 futile" in head
    assert any(line.startswith("train: DAG run 500, 4 process(es)") for line in lines)
    failed = next(line for line in lines if line.split()[:2] == ["505.0", "completed"])
    assert "node train_1 error" in failed and "retried 2" in failed and "stops evaluate_1, aggregate" in failed
    futile = next(line for line in lines if "node evaluate_1 futile" in line)
    assert futile.split()[0] == "-" and "will not run: train_1 failed" in futile and "lr=1.0" in futile
    assert any("node aggregate futile" in line for line in lines)


def test_a_finished_dag_ends_watch(ran: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status = ran / "build" / "htcondor" / dagstatus_name()
    saved = status.read_text()
    finished = dict(RUNNING, train_2=(5, "", 0), evaluate_3=(5, "", 0), evaluate_2=(5, "", 0))
    status.write_text(status_file(finished, dag_state=6, note="failed", end=0))
    log_dir = ran / "build" / "logs" / "dag"
    saved_logs = {path: path.read_text() for path in log_dir.iterdir()}
    try:
        (log_dir / "train_503_2.log").write_text(log(503, "completed"))
        (log_dir / "evaluate_507_3.log").write_text(log(507, "completed"))
        (log_dir / "evaluate_508_2.log").write_text(log(508, "completed"))
        _, report = report_at(ran, monkeypatch)
        assert report.pipelines[0].finished and report.done
        assert next(iter(render(report))).startswith(
            "pipeline build/htcondor/pipeline.dag: finished, failed; 9 node(s)"
        )
    finally:
        status.write_text(saved)
        for path in log_dir.iterdir():
            if path not in saved_logs:
                path.unlink()
        for path, text in saved_logs.items():
            path.write_text(text)


def test_the_jobs_own_newer_submission_wins(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = ran / "build" / "logs"
    try:
        for proc in range(4):
            (logs / f"train_600_{proc}.log").write_text(log(600, "running"))
        _, report = report_at(ran, monkeypatch)
        train = next(status for status in report.jobs if status.job.name == "train")
        assert not isinstance(train.submission, DagRun) and train.submission.cluster == 600
        assert train.steps == []  # DAGMan's words are about its run, not this submission
        evaluate = next(status for status in report.jobs if status.job.name == "evaluate")
        assert isinstance(evaluate.submission, DagRun)
    finally:
        for proc in range(4):
            (logs / f"train_600_{proc}.log").unlink()


def test_results_reads_the_nodes_outputs(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, _ = report_at(ran, monkeypatch)
    job = next(job for job in compiled.project.jobs if job.name == "evaluate")
    runs = results.gather(compiled, job, metrics_file="evaluation.jsonl", cluster=None)
    assert runs is not None and [run.id for run in runs] == [f"evaluate_{n}" for n in range(4)]
    assert runs[0].path is not None and runs[0].final("accuracy") == pytest.approx(0.97)
    assert runs[0].kind == "DAG run" and runs[0].cluster == 500
    assert [run.note for run in runs[1:]] == ["no output yet"] * 3
    assert runs[1].shown == "build/outputs/evaluate/1/evaluation.jsonl"


def test_no_status_file_yet_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = example_project(tmp_path)
    (root / "build" / "htcondor" / "pipeline.dag.dagman.log").write_text(event("000", 700, "09:00:00"))
    _, report = report_at(root, monkeypatch)
    assert report.pipelines[0].summary.startswith("not submitted yet (no build/htcondor/pipeline.dag.status")
    train = next(status for status in report.jobs if status.job.name == "train")
    assert isinstance(train.submission, DagRun) and train.submission.processes == {}
    line = next(line for line in render(report) if line.startswith("train:"))
    assert line == "train: DAG run 700, 4 process(es): 4 without a log yet"


HOSTILE = {
    "link": None,
    "cut": status_file(RUNNING).rsplit("[", 1)[0],
    "expression": status_file(RUNNING).replace("  RetryCount = 2;", "  RetryCount = 1 + 1;"),
    "outside": "hello\n" + status_file(RUNNING),
    "other-dag": status_file(RUNNING).replace('"htcondor/pipeline.dag"', '"/home/eve/other.dag"'),
    "state": status_file(RUNNING).replace("  NodeStatus = 6;", "  NodeStatus = 99;"),
    "twice": status_file(dict(RUNNING)).replace('"evaluate_0"', '"train_0"'),
    "binary": status_file(RUNNING).replace("not_idle", "n\xe9t"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_status_file_is_named_and_not_followed(
    case: str, ran: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = ran / "build" / "htcondor" / dagstatus_name()
    saved = path.read_text()
    try:
        path.unlink()
        text = HOSTILE[case]
        if text is None:
            secret = tmp_path / "secret"
            secret.write_text(status_file(RUNNING))
            os.symlink(secret, path)
        else:
            path.write_bytes(text.encode("utf-8"))
        result = run_cli("status", SPEC, "--offline", cwd=ran)
        assert result.returncode == 2, result.stdout + result.stderr
        unreadable = [line for line in result.stdout.splitlines() if "unreadable:" in line and "pipeline.dag" in line]
        assert unreadable, result.stdout
        assert "node train_1" not in result.stdout  # nothing of the file is shown as DAGMan's word
        if case in ("cut", "expression", "outside", "state", "twice"):
            assert any(":" in line.split("pipeline.dag.status", 1)[1][:8] for line in unreadable)  # names the line
    finally:
        path.unlink()
        path.write_text(saved)


def test_the_reader_refuses_a_file_over_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.dag.status"
    with path.open("wb") as handle:
        handle.truncate(dagstatus.STATUS_LIMIT + 1)
    with pytest.raises(dagstatus.StatusFileError, match="over the"):
        dagstatus.read_status(path, "pipeline.dag.status", within=tmp_path)

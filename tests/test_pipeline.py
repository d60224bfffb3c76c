"""Pipelines (#24): the spec's edges, the DAGMan file HTCondor's own reader parses, and the order Slurm
runs the same spec in (tests/test_pipeline_slurm.py runs it on a real cluster)."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, shellcheck

EXAMPLE = REPO / "specs" / "examples" / "pipeline.yaml"
HEAD = """\
schema_version: 1
name: demo
environments:
  cpu: {dependencies: {python: "*"}}
container: {environment: cpu}
jobs:
"""
JOB = "    runtime: container\n    resources: {gpus: 0}\n"


def example_project(tmp_path: Path, scheduler: str = "htcondor") -> Path:
    (tmp_path / "specs" / "examples").mkdir(parents=True)
    text = EXAMPLE.read_text()
    if scheduler != "htcondor":
        text = re.sub(r"^scheduler: htcondor.*$", f"scheduler: {scheduler}", text, flags=re.M)
    (tmp_path / "specs" / "examples" / "pipeline.yaml").write_text(text)
    result = run_cli("build", "specs/examples/pipeline.yaml", "--out", "build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def stand_in_dagman(tmp_path: Path) -> dict[str, str]:
    """htcondor2.Submit.from_dag only needs a condor_dagman on PATH to name in the job it describes."""
    bin_dir = tmp_path / "dagman-bin"
    bin_dir.mkdir()
    dagman = bin_dir / "condor_dagman"
    dagman.write_text("#!/bin/sh\nexit 1\n")
    dagman.chmod(dagman.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


def from_dag(path: Path, tmp_path: Path) -> str:
    """HTCondor's DAG reader on the file (in a copy: it writes <dag>.condor.sub beside it); raises with
    file:line on a line it rejects."""
    import os

    import htcondor2

    copy_dir = tmp_path / f"parsed-{len(list(tmp_path.glob('parsed-*')))}"
    copy_dir.mkdir()
    shutil.copy(path, copy_dir / path.name)
    previous, saved = Path.cwd(), os.environ["PATH"]
    os.environ["PATH"] = stand_in_dagman(copy_dir)["PATH"]
    os.chdir(copy_dir)
    try:
        return str(htcondor2.Submit.from_dag(path.name))
    finally:
        os.chdir(previous)
        os.environ["PATH"] = saved


def read_dag(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]], set[tuple[str, str]], dict[str, str]]:
    """Nodes (name -> submit file), VARS, edges (parent, child) and other commands, read the way DAGMan
    splits a line: words at blanks, VARS values in double quotes."""
    nodes: dict[str, str] = {}
    variables: dict[str, dict[str, str]] = {}
    edges: set[tuple[str, str]] = set()
    other: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        command, _, rest = line.partition(" ")
        if command in ("JOB", "FINAL"):
            name, submit = rest.split()
            assert name not in nodes
            nodes[name] = submit
        elif command == "VARS":
            name, _, pairs = rest.partition(" ")
            found = re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="([^"\\]*)"', pairs)
            assert " ".join(f'{k}="{v}"' for k, v in found) == pairs, line
            variables[name] = dict(found)
        elif command == "PARENT":
            parents, children = rest.split(" CHILD ")
            edges |= {(p, c) for p in parents.split() for c in children.split()}
        else:
            other[f"{command} {rest.split()[0]}"] = rest
    return nodes, variables, edges, other


# --- the example, on HTCondor -----------------------------------------------------------------------


def test_the_example_dag_parses_and_holds_every_process_and_edge(tmp_path: Path) -> None:
    import htcondor2

    root = example_project(tmp_path)
    dag = root / "build" / "htcondor" / "pipeline.dag"
    described = from_dag(dag, tmp_path)
    assert "condor_dagman" in described and "-Dag pipeline.dag" in described
    nodes, variables, edges, other = read_dag(dag.read_text())
    assert sorted(nodes) == ["aggregate", *(f"evaluate_{i}" for i in range(4)), *(f"train_{i}" for i in range(4))]
    assert edges == {(f"train_{i}", f"evaluate_{i}") for i in range(4)} | {
        (f"evaluate_{i}", "aggregate") for i in range(4)
    }
    rows = [("64", "0.5"), ("64", "1.0"), ("128", "0.5"), ("128", "1.0")]  # batch_size, lr: the queue table's order
    for job in ("train", "evaluate"):
        for i, (batch, lr) in enumerate(rows):
            assert variables[f"{job}_{i}"] == {"PixiHtcProcess": str(i), "PixiHtcSweep0": batch, "PixiHtcSweep1": lr}
    assert [other[f"RETRY train_{i}"] for i in range(4)] == [f"train_{i} 2" for i in range(4)]
    assert other["MAXJOBS train"] == "train 2" and "RETRY evaluate_0" not in other
    queue_table = (root / "build" / "htcondor" / "train.sub").read_text()
    for name, submit in nodes.items():
        text = (root / "build" / submit).read_text()
        parsed = htcondor2.Submit(text)
        assert text.rstrip().endswith("queue 1"), name
        assert parsed["arguments"] == '"$(Cluster) $(PixiHtcProcess)' + (
            ' $(PixiHtcSweep0) $(PixiHtcSweep1)"' if "_" in name else '"'
        )
    evaluate = htcondor2.Submit((root / "build" / "htcondor" / "dag" / "evaluate.sub").read_text())
    assert evaluate["transfer_input_files"].split(", ") == [
        "MNIST_data.tar.gz",
        "src",
        "outputs/train/$(PixiHtcProcess)/mnist_cnn.pt",
        "outputs/train/$(PixiHtcProcess)/metrics.jsonl",
    ]
    train = htcondor2.Submit((root / "build" / "htcondor" / "dag" / "train.sub").read_text())
    assert train["transfer_output_remaps"] == (
        '"mnist_cnn.pt = outputs/train/$(PixiHtcProcess)/mnist_cnn.pt; '
        'metrics.jsonl = outputs/train/$(PixiHtcProcess)/metrics.jsonl"'
    )
    aggregate = htcondor2.Submit((root / "build" / "htcondor" / "dag" / "aggregate.sub").read_text())
    assert aggregate["transfer_input_files"].split(", ")[-1] == "outputs/evaluate"
    # The standalone .sub files stay as they were: a sweep's queue table.
    assert "queue PixiHtcSweep0, PixiHtcSweep1 from (" in queue_table


def test_the_dag_reader_rejects_a_broken_line_with_its_file_and_line(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    dag = root / "build" / "htcondor" / "pipeline.dag"
    broken = tmp_path / "broken.dag"
    broken.write_text(dag.read_text().replace("MAXJOBS train 2", "MAXJOBS train 2\nTHROTTLE train 2"))
    line = broken.read_text().splitlines().index("THROTTLE train 2") + 1
    with pytest.raises(Exception, match=rf"broken\.dag:{line} 'THROTTLE' is not a valid DAG command"):
        from_dag(broken, tmp_path)


def test_a_spec_without_pipeline_keys_writes_no_dag() -> None:
    assert not list((REPO / "build" / "htcondor").glob("*.dag"))
    assert not (REPO / "build" / "htcondor" / "dag").exists()


def test_same_spec_same_bytes(tmp_path: Path) -> None:
    first = example_project(tmp_path / "a")
    second = example_project(tmp_path / "b")

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "build").rglob("*")) if p.is_file()}

    assert tree(first) == tree(second)


def test_submit_dry_run_names_the_dag_and_the_slurm_order(tmp_path: Path) -> None:
    root = example_project(tmp_path / "h")
    result = run_cli("submit", "specs/examples/pipeline.yaml", "--out", "build", "--dry-run", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "build/htcondor/pipeline.dag: 9 node(s)" in result.stdout
    root = example_project(tmp_path / "s", "slurm")
    result = run_cli(
        "submit", "specs/examples/pipeline.yaml", "--out", "build", "--dry-run", cwd=root, env={"PATH": "/usr/bin:/bin"}
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("sbatch ")]
    assert lines == [
        "sbatch --parsable slurm/train.sbatch",
        "sbatch --parsable --dependency=aftercorr:<train> --kill-on-invalid-dep=yes "
        "--export=ALL,PIXI_HTC_AFTER_TRAIN=<train> slurm/evaluate.sbatch",
        "sbatch --parsable --dependency=afterok:<evaluate> --kill-on-invalid-dep=yes "
        "--export=ALL,PIXI_HTC_AFTER_EVALUATE=<evaluate> slurm/aggregate.sbatch",
    ], result.stdout


def test_slurm_scripts_of_the_pipeline_pass_bash_n_and_shellcheck(tmp_path: Path) -> None:
    root = example_project(tmp_path, "slurm")
    scripts = sorted((root / "build" / "slurm").glob("*.sbatch"))
    assert [s.name for s in scripts] == ["aggregate.sbatch", "evaluate.sbatch", "train.sbatch"]
    for script in scripts:
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
        result = shellcheck(script)
        assert result.returncode == 0, result.stdout
    assert "#SBATCH --array=0-3%2" in (root / "build" / "slurm" / "train.sbatch").read_text()
    assert (root / "build" / "slurm" / "evaluate.array.tsv").read_text() == (
        root / "build" / "slurm" / "train.array.tsv"
    ).read_text()


# --- the rules ---------------------------------------------------------------------------------------


def errors_of(tmp_path: Path, jobs: str, head: str = HEAD) -> list[str]:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "project.yaml").write_text(head + jobs)
    result = run_cli("build", "specs/project.yaml", "--out", "build", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert not (tmp_path / "build").exists()
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def one(command: str = "[echo, hi]", extra: str = "") -> str:
    return JOB + f"    command: {command}\n" + extra


def test_an_edge_to_an_unknown_job_is_located_with_a_did_you_mean(tmp_path: Path) -> None:
    found = errors_of(tmp_path, "  train:\n" + one() + "  evaluate:\n" + one(extra="    after: [trian]\n"))
    assert len(found) == 1 and found[0].startswith("specs/project.yaml:15:"), found
    assert "'trian' is not a job of this spec; did you mean 'train'?" in found[0]


def test_a_cycle_is_located_and_named(tmp_path: Path) -> None:
    found = errors_of(
        tmp_path,
        "  a:\n"
        + one(extra="    after: [c]\n")
        + "  b:\n"
        + one(extra="    after: [a]\n")
        + "  c:\n"
        + one(extra="    after: [b]\n"),
    )
    assert len(found) == 1, found
    # The run order (a before b before c), from the edge that closes it: b's after.
    assert "the jobs run in a cycle (b -> c -> a -> b)" in found[0] and found[0].startswith("specs/project.yaml:16:13:")


def test_a_job_after_itself_is_a_cycle(tmp_path: Path) -> None:
    found = errors_of(tmp_path, "  a:\n" + one(extra="    after: [a]\n"))
    assert found and "cycle (a -> a)" in found[0]


def test_an_edge_between_schedulers_is_located(tmp_path: Path) -> None:
    found = errors_of(tmp_path, "  a:\n" + one() + "  b:\n" + one(extra="    scheduler: slurm\n    after: [a]\n"))
    assert any(":16:" in line and "'a' runs on htcondor and this job on slurm" in line for line in found), found


@pytest.mark.parametrize(
    ("jobs", "line", "message"),
    [
        ("  a:\n" + one() + "  b:\n" + one(extra="    for_each: a\n"), 15, "'a' has no sweep"),
        (
            "  a:\n"
            + one("[echo, '{x}']", "    sweep: {x: [1, 2]}\n")
            + "  b:\n"
            + one(extra="    for_each: a\n    sweep: {y: [1]}\n"),
            17,
            "remove sweep here",
        ),
        ("  a:\n" + one(extra="    max_running: 2\n"), 11, "max_running limits a sweep's processes"),
        ("  a:\n" + one(extra="    always: true\n"), 11, "name them in after"),
        (
            "  a:\n"
            + one()
            + "  b:\n"
            + one(extra="    after: [a]\n    always: true\n")
            + "  c:\n"
            + one(extra="    after: [b]\n"),
            21,
            "nothing can run after it",
        ),
        (
            "  a:\n" + one() + "  b:\n" + one(extra="    after: [a]\n    always: true\n    retries: 1\n"),
            17,
            "DAGMan does not retry",
        ),
        (
            "  a:\n"
            + one(extra="    outputs: [m.pt]\n    output_remaps: {m.pt: results/m.pt}\n")
            + "  b:\n"
            + one(extra="    after: [a]\n"),
            12,
            "remove output_remaps",
        ),
        (
            "  a:\n"
            + one("[echo, '{x}']", "    sweep: {x: [1, 2]}\n    outputs: [m.pt]\n")
            + "  b:\n"
            + one(extra="    for_each: a\n    inputs: [data/m.pt]\n"),
            18,
            "'m.pt' arrives from 'a'",
        ),
    ],
)
def test_pipeline_rules_are_located_errors(tmp_path: Path, jobs: str, line: int, message: str) -> None:
    found = errors_of(tmp_path, jobs)
    assert any(f":{line}:" in error and message in error for error in found), found


def test_a_for_each_job_takes_the_sweep_values_of_its_process(tmp_path: Path) -> None:
    from tests.conftest import load_project

    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "project.yaml"
    spec.write_text(
        HEAD
        + "  a:\n"
        + one("[echo, '{x}']", "    sweep: {x: [p, q]}\n")
        + "  b:\n"
        + one("[echo, '{x}', '{process}']", "    for_each: a\n")
    )
    project = load_project(spec, tmp_path)
    b = next(job for job in project.jobs if job.name == "b")
    assert b.sweep == (("x", ("p", "q")),) and b.upstream == ("a",)


# --- values placed in paths, in inline sweeps and list lines -----------------------------------------


@pytest.mark.parametrize("value", ["..", ".", "a/../b", "/etc", "a//b", "a/"])
@pytest.mark.parametrize(
    "where",
    [
        "inputs: ['in/{v}.txt']",
        "outputs: ['{v}']",
        "logs: {output: 'logs/{v}.out'}",
        "outputs: [m.pt]\n    output_remaps: {m.pt: 'results/{v}/m.pt'}",
    ],
)
def test_a_sweep_value_placed_in_a_path_may_not_leave_it(tmp_path: Path, value: str, where: str) -> None:
    found = errors_of(tmp_path, "  a:\n" + one("[echo, '{v}']", f"    sweep: {{v: ['{value}', ok]}}\n    {where}\n"))
    assert any("would lead out of it" in line or "is not valid" in line for line in found), found


@pytest.mark.parametrize("value", ["..", ".", "a/../b", "/etc", "a//b"])
@pytest.mark.parametrize("where", ["inputs: ['in/{v}.txt']", "outputs: ['{v}']"])
def test_a_list_value_placed_in_a_path_may_not_leave_it(tmp_path: Path, value: str, where: str) -> None:
    (tmp_path / "lists.txt").write_text(f"ok\n{value}\n")
    found = errors_of(
        tmp_path, "  a:\n" + one("[echo, '{v}']", f"    sweep_from: {{file: lists.txt, variables: [v]}}\n    {where}\n")
    )
    assert any(line.startswith("lists.txt:2:1:") and "would lead out of it" in line for line in found), found

"""`pixi-htc results` on hostile files (issue #19): metrics files come back from execute machines
nobody here controls, and build/outputs can hold anything a pull request or a colleague put there.
Every metrics file is read bounded, as data; nothing is written through a symbolic link."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from pixi_htc.follow.metrics import LINE_LIMIT, METRICS_LIMIT, MetricsError, read_file
from pixi_htc.follow.results import Run, best, cell, csv_text
from pixi_htc.schedulers.htcondor.follow import found
from pixi_htc.schedulers.htcondor.jobfiles import Pattern
from tests.conftest import CHILD_PYTHONPATH, load_project, run_cli

CLUSTER = 7
CSV = f"build/outputs/mnist-sweep_{CLUSTER}_results.csv"
PLOTS = ("mnist-sweep_curves.png", "mnist-sweep_accuracy_by_lr.png", "mnist-sweep_accuracy_by_batch_size.png")


def metrics_path(root: Path, proc: int, cluster: int = CLUSTER) -> Path:
    return root / "build" / "outputs" / f"mnist-sweep_{cluster}_{proc}_metrics.jsonl"


def record(epoch: int, accuracy: float = 0.5, **more: object) -> str:
    return json.dumps(
        {
            "epoch": epoch,
            "train_loss": 0.4,
            "test_loss": 0.3,
            "accuracy": accuracy,
            "seconds": 2.0,
            "samples_per_second": 100.0,
            "loader": "tensor",
            **more,
        }
    )


def land(root: Path, proc: int, lines: list[str] | str | bytes) -> Path:
    path = metrics_path(root, proc)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text(lines if isinstance(lines, str) else "".join(line + "\n" for line in lines))
    return path


@pytest.fixture
def built(project_dir: Path) -> Path:
    assert run_cli("build", cwd=project_dir).returncode == 0
    return project_dir


def no_crash(result: subprocess.CompletedProcess[str]) -> None:
    out = result.stdout + result.stderr
    assert result.returncode != 70 and "internal error" not in out and "Traceback" not in out, out


def rows(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((root / CSV).read_text())))


def bounded_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """run_cli with a time limit: a read that blocks (a FIFO) fails the test instead of hanging it."""
    return subprocess.run(
        [sys.executable, "-m", "pixi_htc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        check=False,
        timeout=timeout,
    )


def sweep_runs(root: Path, records: list[list[dict[str, float]]]) -> list[Run]:
    job = next(j for j in load_project(root / "specs" / "project.yaml", root).jobs if j.name == "mnist-sweep")
    return [
        Run(job=job, cluster=CLUSTER, proc=proc, path=None, shown=f"m{proc}", records=r)
        for proc, r in enumerate(records)
    ]


# 1. Writes through links.


def test_a_linked_csv_is_not_written_through(built: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    victim = tmp_path_factory.mktemp("victim") / "precious.txt"
    victim.write_text("precious\n")
    land(built, 0, [record(1)])
    (built / CSV).symlink_to(victim)
    result = run_cli("results", "--no-plots", cwd=built)
    no_crash(result)
    assert result.returncode == 2
    assert f"{CSV}: not written: {CSV} is a symbolic link; pixi-htc never writes through one" in result.stderr
    assert victim.read_text() == "precious\n" and (built / CSV).is_symlink()
    assert "best by accuracy" in result.stdout  # the table still came


def test_a_linked_outputs_directory_is_neither_read_nor_written(
    built: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / f"mnist-sweep_{CLUSTER}_0_metrics.jsonl").write_text(record(1) + "\n")
    (built / "build" / "outputs").symlink_to(elsewhere, target_is_directory=True)
    result = run_cli("results", cwd=built)
    no_crash(result)
    assert result.returncode == 2
    assert "leads through a symbolic link" in result.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == [f"mnist-sweep_{CLUSTER}_0_metrics.jsonl"]


def test_a_linked_plots_directory_or_plot_is_not_written_through(
    built: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    land(built, 0, [record(1)])
    plots = built / "build" / "outputs" / "plots"
    plots.symlink_to(elsewhere, target_is_directory=True)
    result = run_cli("results", cwd=built)
    no_crash(result)
    assert result.returncode == 2 and list(elsewhere.iterdir()) == []
    assert (
        "build/outputs/plots: not written: build/outputs/plots is a symbolic link; pixi-htc never writes "
        "through one (replace it with a real directory)"
    ) in result.stderr
    assert rows(built)[0]["accuracy"] == "0.5"  # the CSV is still written

    pytest.importorskip("matplotlib")
    plots.unlink()
    plots.mkdir()
    victim = elsewhere / "precious.png"
    victim.write_bytes(b"precious")
    (plots / PLOTS[0]).symlink_to(victim)
    result = run_cli("results", cwd=built)
    no_crash(result)
    assert result.returncode == 2 and victim.read_bytes() == b"precious" and (plots / PLOTS[0]).is_symlink()
    assert (
        f"build/outputs/plots/{PLOTS[0]}: not written: build/outputs/plots/{PLOTS[0]} is a symbolic link"
        in result.stderr
    )
    for name in PLOTS[1:]:  # the others are written
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_outside_the_project_are_allowed_but_not_through_a_link(
    built: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("matplotlib")
    land(built, 0, [record(1)])
    outside = tmp_path_factory.mktemp("outside")
    result = run_cli("results", "--plots", str(outside / "new" / "plots"), cwd=built)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (outside / "new" / "plots").iterdir()) == sorted(PLOTS)

    target = tmp_path_factory.mktemp("target")
    (outside / "linked").symlink_to(target, target_is_directory=True)
    result = run_cli("results", "--plots", str(outside / "linked"), cwd=built)
    no_crash(result)
    assert result.returncode == 2 and "is a symbolic link" in result.stderr and list(target.iterdir()) == []

    # A link in a directory above the one named is the user's own choice.
    result = run_cli("results", "--plots", str(outside / "linked" / "below"), cwd=built)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (target / "below").iterdir()) == sorted(PLOTS)


def test_the_csv_is_replaced_not_written_in_place(built: Path, tmp_path: Path) -> None:
    land(built, 0, [record(1, accuracy=0.25)])
    assert run_cli("results", "--no-plots", cwd=built).returncode == 0
    old = tmp_path / "hard-link-to-the-old-csv"
    os.link(built / CSV, old)
    before = old.read_bytes()
    land(built, 0, [record(1, accuracy=0.75)])
    assert run_cli("results", "--no-plots", cwd=built).returncode == 0
    assert old.read_bytes() == before and rows(built)[0]["accuracy"] == "0.75"
    assert sorted(p.name for p in (built / "build" / "outputs").iterdir() if p.name.endswith(".tmp")) == []


def test_a_directory_where_the_csv_goes_is_reported(built: Path) -> None:
    land(built, 0, [record(1)])
    (built / CSV).mkdir()
    result = run_cli("results", "--no-plots", cwd=built)
    no_crash(result)
    assert result.returncode == 2 and f"{CSV}: not written: cannot write it:" in result.stderr


# 2. Values and lines that must not crash.

HOSTILE_VALUES = [
    '"abc"',
    "null",
    "[1, 2]",
    '{"a": {"b": 1}}',
    "true",
    "false",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "9" * 5000,
    str(10**400),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("key", ["seconds", "accuracy", "samples_per_second"])
def test_a_value_that_is_not_a_finite_number_is_missing_and_reported(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(f'{{"epoch": 1, "accuracy": 0.5, "seconds": 2.0, "samples_per_second": 10.0, "{key}": {value}}}\n')
    metrics = read_file(path, "m")
    assert len(metrics.records) == 1 and key not in metrics.records[0]
    assert len(metrics.problems) == 1 and metrics.problems[0].startswith(f"m:1: {key} is ")


UNREADABLE_LINES = {
    "deep array": "[" * 20_000 + "]" * 20_000,  # under the line limit: json.loads raises RecursionError
    "deep object": '{"epoch": 1, "a": ' + '{"b": ' * 20_000 + "1" + "}" * 20_001,
    "100,000 deep": "[" * 100_000 + "]" * 100_000,
    "array": "[1, 2]",
    "number": "5",
    "string": '"epoch"',
    "null": "null",
    "no epoch": '{"accuracy": 0.5}',
    "epoch a string": '{"epoch": "1"}',
    "epoch a boolean": '{"epoch": true}',
    "epoch a float": '{"epoch": 1.0}',
    "epoch huge": '{"epoch": ' + "9" * 5000 + "}",
    "epoch negative": '{"epoch": -1}',
    "not JSON": "not json \x1b[31m",
    "NaN line": "NaN",
}


@pytest.mark.parametrize("line", UNREADABLE_LINES.values(), ids=UNREADABLE_LINES.keys())
def test_an_unreadable_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(record(1) + "\n" + line + "\n")
    with pytest.raises(MetricsError, match=r"^m:2: ") as raised:
        read_file(path, "m")
    assert "\x1b" not in str(raised.value)


def test_hostile_lines_through_the_cli_never_crash(built: Path) -> None:
    land(
        built,
        0,
        [
            record(1),
            '{"epoch": 2, "accuracy": 0.6, "seconds": "abc", "test_loss": null, '
            '"train_loss": [1], "samples_per_second": {"a": {"b": 1}}}',
        ],
    )
    land(built, 1, [record(1), "[" * 20_000 + "]" * 20_000])
    land(
        built,
        2,
        [
            record(1, accuracy=math.inf),
            '{"epoch": 2, "accuracy": "x", "test_loss": NaN, "seconds": 1e999, "train_loss": ' + "9" * 5000 + "}",
        ],
    )
    land(built, 3, ["[1, 2]"])
    result = run_cli("results", cwd=built)
    no_crash(result)
    assert result.returncode == 2  # two files have an unreadable line
    out = result.stdout
    assert "mnist-sweep: cluster 7, 2 of 4 process(es) have metrics" in out
    assert f"build/outputs/mnist-sweep_{CLUSTER}_1_metrics.jsonl:2: not a JSON line (nested too deeply)" in out
    assert f"build/outputs/mnist-sweep_{CLUSTER}_3_metrics.jsonl:1: each line must be a JSON object" in out
    assert f"build/outputs/mnist-sweep_{CLUSTER}_0_metrics.jsonl:2: seconds is a string ('abc'), not a number" in out
    assert f"build/outputs/mnist-sweep_{CLUSTER}_2_metrics.jsonl:1: accuracy is inf, not a finite number" in out
    assert "best by accuracy (higher is better): process 7.0 " in out  # not the infinite one
    table = rows(built)
    assert [r["status"] for r in table] == [
        "ok, some values missing",
        "unreadable",
        "ok, some values missing",
        "unreadable",
    ]
    assert table[0]["accuracy"] == "0.6" and table[0]["seconds"] == "" and table[0]["test_loss"] == ""
    assert table[2]["accuracy"] == "" and table[2]["test_loss"] == "" and table[2]["seconds"] == ""


def test_a_value_problem_alone_keeps_exit_status_0(built: Path) -> None:
    land(built, 0, [record(1, test_loss=math.nan)])  # a diverged run writes NaN losses
    result = run_cli("results", "--no-plots", cwd=built)
    assert result.returncode == 0, result.stderr
    assert "test_loss is nan, not a finite number: left out (shown as missing)" in result.stdout


# 3. Bounded reads of whatever lies where a metrics file should be.


def test_a_link_fifo_directory_or_huge_file_is_a_note_per_run(built: Path) -> None:
    outputs = built / "build" / "outputs"
    outputs.mkdir(parents=True)
    metrics_path(built, 0).symlink_to("/dev/zero")
    os.mkfifo(metrics_path(built, 1))
    metrics_path(built, 2).mkdir()
    with open(metrics_path(built, 3), "wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: 3 GiB that take no disk
    metrics_path(built, 3, cluster=6).write_text(record(1) + "\n")  # an older cluster
    result = bounded_cli("results", "--no-plots", cwd=built, timeout=60)
    no_crash(result)
    assert result.returncode == 2
    out = result.stdout
    assert "mnist-sweep: cluster 7, 0 of 4 process(es) have metrics" in out
    name = f"build/outputs/mnist-sweep_{CLUSTER}"
    assert (
        f"unreadable: {name}_0_metrics.jsonl: is a symbolic link" in out
        or f"unreadable: {name}_0_metrics.jsonl: leads through a symbolic link" in out
    )
    assert f"unreadable: {name}_1_metrics.jsonl: is a named pipe (FIFO), not a regular file" in out
    assert f"unreadable: {name}_2_metrics.jsonl: is a directory, not a regular file" in out
    assert f"unreadable: {name}_3_metrics.jsonl: is over {METRICS_LIMIT // 1024**2} MiB" in out


def test_a_huge_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    with open(path, "wb") as handle:
        handle.truncate(3 * 1024**3)
    tracemalloc.start()
    try:
        with pytest.raises(MetricsError, match="is over"):
            read_file(path, "m")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * METRICS_LIMIT


def test_a_long_line_and_many_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(record(1) + "\n" + '{"epoch": 2, "x": "' + "a" * LINE_LIMIT + '"}\n')
    with pytest.raises(MetricsError, match=r"^m:2: the line is over 64 KiB"):
        read_file(path, "m")
    path.write_bytes(b"\n" * (METRICS_LIMIT - 200) + record(1).encode() + b"\n")
    assert len(read_file(path, "m").records) == 1
    path.write_bytes(b"\xff\xfe\n")
    with pytest.raises(MetricsError, match=r"^m:1: not UTF-8 text"):
        read_file(path, "m")


def test_lines_after_blank_ones_are_numbered_as_an_editor_numbers_them(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n \t\r\n" + record(1).encode() + b"\n\n\n{not json\n")
    with pytest.raises(MetricsError, match=r"^m:6: "):
        read_file(path, "m")
    path.write_bytes(b"\n\n" + record(1).encode() + b"\n\n" + record(2).encode())
    read = read_file(path, "m")
    assert [r["epoch"] for r in read.records] == [1] and "still being written" in read.note


def test_a_link_leading_out_of_the_project_is_refused(built: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    secret = tmp_path_factory.mktemp("secret") / "metrics.jsonl"
    secret.write_text(record(1, accuracy=0.123456) + "\n")
    metrics_path(built, 0).parent.mkdir(parents=True)
    metrics_path(built, 0).symlink_to(secret)
    land(built, 1, [record(1)])
    result = run_cli("results", "--no-plots", cwd=built)
    no_crash(result)
    assert result.returncode == 2 and "0.1235" not in result.stdout
    assert f"build/outputs/mnist-sweep_{CLUSTER}_0_metrics.jsonl: " in result.stdout
    assert rows(built)[0]["status"] == "unreadable" and rows(built)[1]["status"] == "ok"


def test_only_names_with_ascii_numbers_are_found(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for name in ("m_7_0.jsonl", "m_\u0664\u0662_0.jsonl", f"m_{'9' * 40}_0.jsonl", "m_7_1.jsonl"):
        (outputs / name).write_text("")
    os.mkfifo(outputs / "m_7_2.jsonl")
    hits = found(Pattern("outputs/m_$(Cluster)_$(Process).jsonl"), tmp_path)
    assert [(c, p, path.name) for c, p, path in hits] == [
        (7, 0, "m_7_0.jsonl"),
        (7, 1, "m_7_1.jsonl"),
        (7, 2, "m_7_2.jsonl"),
    ]


# 4. Escapes, CSV formulas, non-finite and missing values.


def test_escape_sequences_never_reach_the_terminal(built: Path) -> None:
    land(built, 0, [json.dumps({"epoch": 1, "accuracy": "\x1b]0;pwned\x07", "\x1b[2Jkey\u2028": 1.0, "\ud800": 2.0})])
    land(built, 1, ["not json \x1b[31m red"])
    for args in (("--no-plots",), ("--no-plots", "--metric", "nope\x1b[1m")):
        result = run_cli("results", *args, cwd=built)
        no_crash(result)
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr
        assert "\u2028" not in result.stdout + result.stderr
    assert "\\x1b[2Jkey\\u2028" in result.stderr and "\\ud800" in result.stderr  # "it has: ..."
    result = run_cli("results", "--no-plots", cwd=built)
    assert "'\\x1b]0;pwned\\x07'" in result.stdout and "not json \\x1b[31m red" in result.stdout


def test_csv_cells_are_never_formulas(project_dir: Path) -> None:
    spec = project_dir / "specs" / "project.yaml"
    # A sweep value from the spec (or from a colleague's sweep list) may start like a formula.
    spec.write_text(
        spec.read_text()
        .replace("lr: [0.5, 1.0]", 'lr: ["=2+5", -0.5]')
        .replace("batch_size: [64, 128]", 'batch_size: ["@SUM", "+1"]')
    )
    runs = sweep_runs(project_dir, [[{"epoch": 1, "accuracy": -0.25, "test_loss": 1e-7}]] * 4)
    table = list(csv.DictReader(io.StringIO(csv_text(runs))))
    assert [r["lr"] for r in table] == ["'=2+5", "-0.5"] * 2
    assert [r["batch_size"] for r in table] == ["'@SUM"] * 2 + ["'+1"] * 2
    assert table[0]["accuracy"] == "-0.25" and table[0]["test_loss"] == "1e-07"
    for value, expected in (
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=1", "'\r=1"),
        ("-2", "-2"),
        ("-1.5e-3", "-1.5e-3"),
        ("a=1", "a=1"),
    ):
        assert cell(value) == expected


def test_non_finite_is_never_best(project_dir: Path) -> None:
    runs = sweep_runs(
        project_dir,
        [[{"epoch": 1, "accuracy": 0.5, "test_loss": 1.0}], [{"epoch": 1, "accuracy": 0.7, "test_loss": 2.0}], [], []],
    )
    runs[2].records = [{"epoch": 1, "accuracy": math.inf, "test_loss": -math.inf}]  # as a caller might build them
    runs[3].records = [{"epoch": 1, "accuracy": math.nan, "test_loss": math.nan}]
    assert best(runs, "accuracy", higher=True) is runs[1]
    assert best(runs, "test_loss", higher=False) is runs[0]


def test_infinity_in_a_file_is_missing_not_best(built: Path) -> None:
    land(built, 0, [record(1, accuracy=0.5)])
    land(built, 1, ['{"epoch": 1, "accuracy": Infinity, "test_loss": -Infinity}'])
    land(built, 2, ['{"epoch": 1, "accuracy": NaN, "test_loss": NaN}'])
    for metric, order in (("accuracy", "higher"), ("test_loss", "lower")):
        result = run_cli("results", "--no-plots", "--metric", metric, cwd=built)
        assert result.returncode == 0, result.stderr
        assert f"best by {metric} ({order} is better): process 7.0 " in result.stdout
    assert [r["accuracy"] for r in rows(built)] == ["0.5", "", "", ""]


def test_a_run_without_seconds_shows_missing_not_zero(built: Path) -> None:
    land(built, 0, ['{"epoch": 1, "accuracy": 0.5}', '{"epoch": 2, "accuracy": 0.6}'])
    land(built, 1, [record(1), '{"epoch": 2, "accuracy": 0.6, "samples_per_second": 50.0}'])  # epoch 2 untimed
    result = run_cli("results", "--no-plots", cwd=built)
    assert result.returncode == 0, result.stderr
    cells = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.startswith("  7.")}
    # process, batch_size, lr, epochs, accuracy, test_loss, time_s, samples/s (and the winner's " *")
    assert cells["7.0"][3:8] == ["2", "0.6000", "-", "-", "-"]
    assert cells["7.1"][3:8] == ["2", "0.6000", "-", "-", "100"]  # the rate of the timed epoch; the time unknown
    table = rows(built)
    assert table[0]["seconds"] == "" and table[0]["samples_per_second"] == ""
    assert table[1]["seconds"] == "" and table[1]["samples_per_second"] == "100"
    result = run_cli("results", "--no-plots", "--metric", "seconds", cwd=built)
    assert "best by seconds" not in result.stdout  # no run has a time: none is best (not the 0 s one)


def test_extreme_values_and_a_path_in_the_metric_do_not_break_the_plots(built: Path) -> None:
    pytest.importorskip("matplotlib")
    land(built, 0, [record(1, accuracy=1e308, **{"../../escape": 1e308}), record(2, accuracy=-1.7e308)])
    land(built, 1, [record(1, accuracy=5e-324, **{"../../escape": -1e308}), record(10**9, accuracy=0.5)])
    land(built, 2, [record(1, **{"../../escape": 0.5})])
    result = run_cli("results", "--metric", "../../escape", cwd=built)
    no_crash(result)
    assert result.returncode == 0, result.stderr
    plots = built / "build" / "outputs" / "plots"
    names = sorted(p.name for p in plots.iterdir())
    assert names == sorted(
        ["mnist-sweep_curves.png", "mnist-sweep_.._.._escape_by_lr.png", "mnist-sweep_.._.._escape_by_batch_size.png"]
    )
    assert all((plots / name).read_bytes()[:4] == b"\x89PNG" for name in names)
    assert not (built / "escape_by_lr.png").exists() and not (built / "build" / "escape_by_lr.png").exists()


# 4. Issue #19's last holes: formulas after blanks, links swapped in after the check, hidden text.


@pytest.mark.parametrize(
    "value", [" =1+2", "  +A1", "\t@SUM(A1)", " \t-1+2", '\u00a0=HYPERLINK("x")', "\u3000@A1", "\n=1", " -5"]
)
def test_a_formula_after_leading_whitespace_is_neutralised(value: str) -> None:
    assert cell(value) == "'" + value


@pytest.mark.parametrize("value", [" 5", "a =1", "-0.5", "-1e-3", "x-1", ""])
def test_what_no_spreadsheet_reads_as_a_formula_is_left_as_it_is(value: str) -> None:
    assert cell(value) == value


def test_a_link_swapped_in_after_the_check_is_refused_not_followed(
    built: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path check passes, then a link takes the place of a directory (or of the file) before
    the write: the write itself opens each directory without following a link."""
    from pixi_htc.pipeline import safe_write

    monkeypatch.setattr(safe_write, "link_on_the_way", lambda *args, **kwargs: "")  # as if checked before the swap
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    outputs = built / "build" / "outputs"
    outputs.symlink_to(elsewhere, target_is_directory=True)
    why = safe_write.write_safely(built, outputs / "table.csv", b"job\n")
    assert (
        why == "build/outputs is a symbolic link; pixi-htc never writes through one (replace it with a real directory)"
    )
    assert list(elsewhere.iterdir()) == []

    outputs.unlink()
    outputs.mkdir()
    victim = elsewhere / "precious.csv"
    victim.write_text("precious\n")
    (outputs / "table.csv").symlink_to(victim)
    why = safe_write.write_safely(built, outputs / "table.csv", b"job\n")
    assert why.startswith("build/outputs/table.csv is a symbolic link")
    assert victim.read_text() == "precious\n" and (outputs / "table.csv").is_symlink()

    plots = outside = tmp_path_factory.mktemp("outside")
    (outside / "plots").symlink_to(elsewhere, target_is_directory=True)
    why = safe_write.write_safely(built, plots / "plots" / "a.png", b"png")
    assert why.endswith(
        "plots is a symbolic link; pixi-htc never writes through one (replace it with a real directory)"
    )
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.csv"]
    assert sorted(p.name for p in outputs.iterdir()) == ["table.csv"]  # no temporary file left


def test_a_write_makes_missing_directories_and_leaves_no_temporary_file(built: Path) -> None:
    from pixi_htc.pipeline.safe_write import write_safely

    target = built / "build" / "outputs" / "new" / "deeper" / "table.csv"
    assert write_safely(built, target, b"a,b\n") == ""
    assert target.read_bytes() == b"a,b\n" and (target.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\u200b", "\ufeff"])
def test_metric_names_with_bidirectional_or_invisible_characters_are_escaped(built: Path, hidden: str) -> None:
    land(built, 0, [record(1, **{f"loss{hidden}ycarucca": 0.5})])
    result = run_cli("results", "--no-plots", "--metric", "nope", cwd=built)
    no_crash(result)
    assert hidden not in result.stdout + result.stderr
    assert f"loss\\u{ord(hidden):04x}ycarucca" in result.stderr  # in "it has: ..."
    result = run_cli("results", "--no-plots", "--metric", f"loss{hidden}ycarucca", cwd=built)
    no_crash(result)
    assert result.returncode == 0 and hidden not in result.stdout + result.stderr
    assert f"best by loss\\u{ord(hidden):04x}ycarucca (lower is better)" in result.stdout

"""pixi-htc status on files nobody here controls (issue #19): event logs and .err files come back
from execute machines, build/ arrives in pull requests. Each test attacks one surface and checks
what status does: no hang, no crash (exit 70), bounded memory, nothing raw on the terminal."""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from pixi_htc.core.errors import UsageError
from pixi_htc.follow.status import WATCH_INTERVAL, collect, render, status
from pixi_htc.pipeline import compile as pipeline
from pixi_htc.schedulers import SCHEDULERS
from pixi_htc.schedulers.htcondor import HTCondor
from pixi_htc.schedulers.htcondor.diagnose import ERR_TAIL_BYTES, err_tail
from pixi_htc.schedulers.htcondor.follow import log_files
from pixi_htc.schedulers.htcondor.jobfiles import Pattern
from pixi_htc.schedulers.htcondor.joblog import LOG_LIMIT, LogError, read_log
from pixi_htc.spec.loader import load_spec
from tests.conftest import CHILD_PYTHONPATH, REPO, run_cli

htcondor2 = pytest.importorskip("htcondor2")
FIXTURES = Path(__file__).parent / "fixtures" / "status"
LOGS = FIXTURES / "logs"
# Anything but a newline that a terminal acts on or that splits a line: C0, DEL, C1, U+2028/2029.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
SECONDS = 60  # far more than any case here takes; a hang fails instead of blocking the run
GIB = 1024**3


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """tests.conftest.run_cli (python -m pixi_htc), with a timeout: a regression that blocks on a
    FIFO or reads /dev/zero must fail this test, not hang the suite."""
    return subprocess.run(
        [sys.executable, "-m", "pixi_htc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        check=False,
        timeout=SECONDS,
    )


def status_cli(root: Path) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = cli("status", "--no-schedd", cwd=root)
    assert time.monotonic() - started < SECONDS
    assert result.returncode in (0, 2), result.stderr  # 70 would be a crash
    assert "Traceback" not in result.stderr  # (stdout shows the .err fixture's own Python traceback)
    assert not RAW_CONTROL.search(result.stdout), [
        line for line in result.stdout.split("\n") if RAW_CONTROL.search(line)
    ]
    return result


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-template")
    (root / "specs").mkdir()
    shutil.copy(REPO / "specs" / "project.yaml", root / "specs" / "project.yaml")
    assert run_cli("build", cwd=root).returncode == 0
    return root


@pytest.fixture
def built(template: Path, tmp_path: Path) -> Path:
    """A built project with the fixture logs in build/logs (a fresh copy per test)."""
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    shutil.copytree(LOGS, root / "build" / "logs")
    return root


def compiled_at(root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(root)
    compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
    return compiled, load_spec(Path("specs/project.yaml"), compiled.project.spec_path)


SUBMITTED = "Job submitted from host: <10.0.0.5:9618>"


def event(kind: str, proc_id: str, head: str, *body: str) -> str:
    return f"{kind} ({proc_id}) 2026-05-28 09:00:00 {head}\n" + "".join(f"\t{line}\n" for line in body) + "...\n"


def held_log(proc_id: str, reason: str, code: str = "Code 26 Subcode 0") -> str:
    return (
        event("000", proc_id, SUBMITTED)
        + event("001", proc_id, "Job executing on host: <10.0.0.7:9618>")
        + event("012", proc_id, "Job was held.", reason, code)
    )


# 1. --interval ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "NaN"])
def test_a_non_finite_interval_is_a_usage_error(value: str, built: Path) -> None:
    result = cli("status", "--no-schedd", "--watch", f"--interval={value}", cwd=built)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--interval" in result.stderr and "2 to 300" in result.stderr


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_status_refuses_a_non_finite_interval_before_sleeping(
    value: float, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    sleeps: list[float] = []
    with pytest.raises(UsageError, match="--interval"):
        status(
            compiled,
            spec,
            job_name="mnist-sweep",
            watch=True,
            interval=value,
            live=False,
            out=lambda line: None,
            sleep=sleeps.append,
            max_rounds=2,
        )
    assert sleeps == []


@pytest.mark.parametrize(
    "value, held", [(-5.0, WATCH_INTERVAL[0]), (0.0, WATCH_INTERVAL[0]), (1e9, WATCH_INTERVAL[1]), (30.0, 30.0)]
)
def test_a_finite_interval_is_still_held_to_its_bounds(
    value: float, held: float, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    sleeps: list[float] = []
    status(
        compiled,
        spec,
        job_name="mnist-sweep",
        watch=True,
        interval=value,
        live=False,
        out=lambda line: None,
        sleep=sleeps.append,
        max_rounds=2,
    )
    assert sleeps == [held]


# 2. Bounded reads of regular files only --------------------------------------------------------

ERR = "mnist-gpu-docker_4300_0.err"  # the fixture process that exited 1: status shows its .err


def _err_note(result: subprocess.CompletedProcess[str]) -> list[str]:
    lines = result.stdout.split("\n")
    start = next(i for i, line in enumerate(lines) if "jobs.mnist-gpu-docker.command" in line)
    return [line.strip() for line in itertools.takewhile(lambda line: line.startswith("    "), lines[start + 1 :])]


def _make_err(kind: str, path: Path, outside: Path) -> None:
    path.unlink()
    if kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "link-out-of-the-project":
        (outside / "secret.txt").write_text("the secret\n")
        path.symlink_to(outside / "secret.txt")
    elif kind == "link-inside-the-project":
        path.symlink_to(path.parent / "mnist-sweep_4242_0.log")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, why",
    [
        ("link-to-dev-zero", "leads through a symbolic link"),
        ("link-out-of-the-project", "leads through a symbolic link"),
        ("link-inside-the-project", "leads through a symbolic link"),
        ("fifo", "is a named pipe (FIFO), not a regular file"),
        ("directory", "is a directory, not a regular file"),
    ],
)
def test_an_err_that_is_no_regular_file_is_a_one_line_note(kind: str, why: str, built: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _make_err(kind, built / "build" / "logs" / ERR, outside)
    result = status_cli(built)
    assert _err_note(result) == [f"({ERR} {why}; not read)"]
    assert "the secret" not in result.stdout
    assert "mnist-sweep: cluster 4242" in result.stdout  # the rest of the report is there


def test_a_sparse_err_of_gigabytes_is_read_only_at_its_end(built: Path) -> None:
    err = built / "build" / "logs" / ERR
    with err.open("r+b") as file:
        file.truncate(4 * GIB)
        file.seek(0, os.SEEK_END)
        file.write(b"first\nTraceback (most recent call last):\nRuntimeError: CUDA out of memory\n")
    tracemalloc.start()
    try:
        tail = err_tail(err, within=built)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * ERR_TAIL_BYTES
    assert tail[0] == f"last lines of {ERR} (of its last {ERR_TAIL_BYTES // 1024} KiB):"
    assert tail[-2:] == ("  Traceback (most recent call last):", "  RuntimeError: CUDA out of memory")
    assert _err_note(status_cli(built))[-1] == "RuntimeError: CUDA out of memory"


def test_an_err_outside_the_project_is_not_read(built: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.err"
    outside.write_text("the secret\n")
    assert err_tail(outside, within=built) == ("(elsewhere.err is outside the project; not read)",)
    assert err_tail(built / "build" / "logs" / "nope.err", within=built) == (
        "(nope.err is not here: it comes back when the job ends)",
    )


LOG = "mnist-gpu-docker_4300_0.log"


def _make_log(kind: str, path: Path, outside: Path) -> None:
    path.unlink()
    if kind == "link-to-a-log-outside":
        shutil.copy(LOGS / LOG, outside / LOG)
        path.symlink_to(outside / LOG)
    elif kind == "link-to-a-log-inside":
        shutil.copy(LOGS / LOG, path.parent / "elsewhere.txt")
        path.symlink_to(path.parent / "elsewhere.txt")
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, why",
    [
        ("link-to-a-log-outside", "leads through a symbolic link"),
        ("link-to-a-log-inside", "leads through a symbolic link"),
        ("link-to-dev-zero", "leads through a symbolic link"),
        ("fifo", "is a named pipe (FIFO), not a regular file"),
        ("directory", "is a directory, not a regular file"),
    ],
)
def test_a_log_that_is_no_regular_file_is_named_and_not_read(kind: str, why: str, built: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _make_log(kind, built / "build" / "logs" / LOG, outside)
    result = status_cli(built)
    assert result.returncode == 2
    assert (
        f"  unreadable: build/logs/{LOG}: {why}; HTCondor writes event logs as regular files, so it is not read"
    ) in result.stdout.split("\n")
    assert result.stdout.startswith("mnist-gpu-docker: not submitted")  # nothing was read from it
    assert "mnist-sweep: cluster 4242" in result.stdout


def test_a_linked_logs_folder_is_not_listed(built: Path, tmp_path: Path) -> None:
    shutil.move(built / "build" / "logs", tmp_path / "logs")
    (built / "build" / "logs").symlink_to(tmp_path / "logs")
    result = status_cli(built)
    assert result.returncode == 2
    assert "  unreadable: build/logs: leads through a symbolic link; no event log is read there" in result.stdout.split(
        "\n"
    )
    assert "cluster 4242" not in result.stdout


def test_a_sparse_log_of_gigabytes_is_refused_on_its_size(built: Path) -> None:
    log = built / "build" / "logs" / "mnist-sweep_4242_3.log"
    with log.open("r+b") as file:
        file.truncate(4 * GIB)
    tracemalloc.start()
    try:
        with pytest.raises(LogError, match=r"^build/logs/mnist-sweep_4242_3\.log: the log is 4 GiB, over the 64 MiB"):
            read_log(log, "build/logs/mnist-sweep_4242_3.log", within=built)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    result = status_cli(built)
    assert result.returncode == 2 and "unreadable: build/logs/mnist-sweep_4242_3.log: the log is 4 GiB" in result.stdout


def test_a_log_that_grows_past_the_limit_while_read_says_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pixi_htc.core import foreign
    from pixi_htc.schedulers.htcondor import joblog

    log = tmp_path / "x.log"
    log.write_bytes((LOGS / LOG).read_bytes())
    monkeypatch.setattr(joblog, "LOG_LIMIT", log.stat().st_size + 10)
    real, calls = foreign.link_inside, []

    def growing(path: Path, within: Path | None) -> None:  # the file grows between the size check and the read
        calls.append(path)
        if len(calls) == 2:
            with log.open("ab") as file:
                file.write(b"\n" * 100)
        real(path, within)

    monkeypatch.setattr(foreign, "link_inside", growing)
    lines = (LOGS / LOG).read_bytes().count(b"\n") + 11
    with pytest.raises(LogError, match=rf"^x\.log:{lines}: the log is .*, over the .* pixi-htc reads"):
        read_log(log, "x.log", within=tmp_path)


def test_the_log_limit_is_the_documented_one() -> None:
    from pixi_htc.schedulers.htcondor import joblog

    assert LOG_LIMIT == 64 * 1024 * 1024 and "64 MiB" in (joblog.__doc__ or "")


# 3. Terminal safety -------------------------------------------------------------------------------

FORGED = "\x1b[2J\x1b]0;owned\x07 \x1b[31mred\u2028/fake:1:1: error: forged\x85\r/fake:2:1: error"


def test_foreign_text_from_logs_and_err_comes_out_escaped(built: Path) -> None:
    logs = built / "build" / "logs"
    (logs / "mnist-sweep_4242_2.log").write_text(held_log("4242.002.000", f"Job has gone over {FORGED}"))
    (logs / "mnist-sweep_4242_3.log").write_text(
        event("000", "4242.003.000", SUBMITTED)
        + event("009", "4242.003.000", "Job was aborted.", f"via condor_rm {FORGED}")
    )
    (logs / ERR).write_text(f"ordinary\n{FORGED.replace(chr(13), '')}\n 50%\r100%\r\n")
    result = status_cli(built)
    lines = result.stdout.split("\n")
    assert not any(line.startswith("/fake:") for line in lines)
    escaped = r"\x1b[2J\x1b]0;owned\x07 \x1b[31mred\u2028/fake:1:1: error: forged\x85\r/fake:2:1: error"
    held = next(line for line in lines if line.split()[:2] == ["4242.2", "held"])
    removed = next(line for line in lines if line.split()[:2] == ["4242.3", "removed"])
    assert escaped in held and escaped in removed
    assert f"    HTCondor: Job has gone over {escaped} (HoldReasonCode 26)" in lines
    # The .err's lines: split at "\n" only; of a carriage-returned line, what the terminal would show.
    assert lines[lines.index("    last lines of mnist-gpu-docker_4300_0.err:") + 1 :][:3] == [
        "      ordinary",
        f"      {escaped.replace(chr(92) + 'r', '')}",
        "      100%",
    ]


def test_foreign_text_from_the_schedd_comes_out_escaped(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    ads = [
        {
            "ClusterId": 4242,
            "ProcId": 3,
            "JobStatus": 5,
            "HoldReason": "\x1b[2J\n/fake:1:1: error: forged",
            "HoldReasonCode": "\x1b[2J",
            "HoldReasonSubCode": 10**400,
            "MemoryUsage": "1e999",
        }
    ]
    out: list[str] = []
    assert (
        status(
            compiled,
            spec,
            job_name="mnist-sweep",
            schedulers={**SCHEDULERS, "htcondor": HTCondor(schedd=lambda clusters: ads)},
            out=out.append,
        )
        == 0
    )
    assert not [line for line in out if RAW_CONTROL.search(line) or "\n" in line]
    assert not any(line.startswith("/fake") for line in out)
    assert any(line.split()[:2] == ["4242.3", "held"] and r"\x1b[2J\n/fake:1:1: error: forged" in line for line in out)


def test_a_long_foreign_value_is_cut(built: Path) -> None:
    (built / "build" / "logs" / "mnist-sweep_4242_2.log").write_text(held_log("4242.002.000", "x" * 100_000))
    lines = status_cli(built).stdout.split("\n")
    held = next(line for line in lines if line.split()[:2] == ["4242.2", "held"])
    assert len(held) < 400 and "more characters)" in held
    assert all(len(line) < 1400 for line in lines)


def test_a_not_a_log_message_escapes_what_the_file_starts_with(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"\x1b[2J\xff\xfe/fake:1:1: error\n")
    with pytest.raises(LogError) as raised:
        read_log(log, "build/logs/\x1b[2Jx.log", within=tmp_path)
    assert not RAW_CONTROL.search(str(raised.value))
    assert str(raised.value).startswith(r"build/logs/\x1b[2Jx.log:1: not an HTCondor job event log")


def test_file_names_the_glob_finds_come_out_escaped(tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "logs").mkdir(parents=True)
    name = "x_7_0_\x1b[2J\u2028evil.log"
    (build / "logs" / name).symlink_to("/dev/zero")
    os.mkfifo(build / "logs" / "x_7_1_\r.log")
    (build / "logs" / "x_٧_2_digits.log").write_text("")  # not ASCII digits: not a process of ours
    found, refused = log_files(Pattern("logs/x_$(Cluster)_$(Process)_$(tag).log"), build, tmp_path)
    assert found == [] and len(refused) == 2
    assert not any(RAW_CONTROL.search(message) for message in refused)
    assert refused[0].startswith(r"build/logs/x_7_0_\x1b[2J\u2028evil.log: leads through a symbolic link")
    assert refused[1].startswith(r"build/logs/x_7_1_\r.log: is a named pipe (FIFO)")


# 4. Damaged logs ----------------------------------------------------------------------------------


def _many_events(proc_id: str) -> str:
    group = event("001", proc_id, "Job executing on host: <10.0.0.7:9618>") + event(
        "004",
        proc_id,
        "Job was evicted.",
        "(0) Job was not checkpointed.",
        "\tUsr 0 00:20:00, Sys 0 00:00:04  -  Run Remote Usage",
        "\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage",
        "0  -  Run Bytes Sent By Job",
        "33500000  -  Run Bytes Received By Job",
    )
    return event("000", proc_id, SUBMITTED) + group * 50_000


def _giant_field(proc_id: str) -> str:
    return held_log(proc_id, "disk over " * 2_000_000 + "limit", "Code 34 Subcode 104")


def _huge_numbers(proc_id: str) -> str:
    return (
        event("000", proc_id, SUBMITTED)
        + event("006", proc_id, "Image size of job updated: 1", "9" * 400 + "  -  MemoryUsage of job (MB)")
        + event(
            "012", proc_id, "Job was held.", f"Peak usage: {'9' * 400} megabytes. memory limit", "Code 34 Subcode 102"
        )
    )


CASES: dict[str, Callable[[str], bytes]] = {
    "100k-events": lambda p: _many_events(p).encode(),
    "giant-field": lambda p: _giant_field(p).encode(),
    "huge-numbers": lambda p: _huge_numbers(p).encode(),
    "binary-garbage": lambda p: os.urandom(1 << 20),
    "garbage-after-a-header": lambda p: event("000", p, SUBMITTED).encode() + os.urandom(1 << 20),
    "nul-bytes": lambda p: held_log(p, "a\x00b\x00" * 1000).encode(),
    "nested-headers": lambda p: event(
        "000", p, SUBMITTED, *[f"000 ({p}) 2026-05-28 09:00:00 {SUBMITTED}"] * 10_000
    ).encode(),
    "headers-only": lambda p: f"000 ({p}) 2026-05-28 09:00:00 {SUBMITTED}\n".encode() * 10_000,
    "separators-only": lambda p: b"...\n" * 100_000,
    "crlf": lambda p: held_log(p, "memory usage exceeded request_memory").replace("\n", "\r\n").encode(),
    "other-ids": lambda p: "".join(
        event("000", f"{c}.{q:03d}.000", SUBMITTED) for c in (1, 99999999999999999999) for q in range(2000)
    ).encode(),
    "empty": lambda p: b"",
    "not-utf8": lambda p: held_log(p, "caf\xe9").encode("latin-1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_or_odd_log_is_no_crash(case: str, built: Path) -> None:
    (built / "build" / "logs" / "mnist-sweep_4242_3.log").write_bytes(CASES[case]("4242.003.000"))
    result = status_cli(built)
    assert "mnist-sweep: cluster 4242" in result.stdout and "mnist-gpu-docker: cluster 4300" in result.stdout
    assert result.returncode == 0 or "  unreadable: build/logs/mnist-sweep_4242_3.log:" in result.stdout


def test_odd_logs_in_process(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same logs through collect and render: what each leaves is a state, not a traceback."""
    compiled, spec = compiled_at(built, monkeypatch)
    log = built / "build" / "logs" / "mnist-sweep_4242_3.log"
    log.write_bytes(CASES["huge-numbers"]("4242.003.000"))
    report = collect(compiled, spec, job_name="mnist-sweep", live=False)
    process = report.jobs[0].cluster.processes[3]
    assert process.state == "held" and process.id == "4242.3"
    memory = next(
        f for f in report.jobs[0].findings if f.key_path.endswith("resources.memory") and "4242.3" in f.message
    )
    assert "used more than that" in memory.message  # 10**400 MB is no size: no advice made of it
    log.write_bytes(CASES["100k-events"]("4242.003.000"))
    started = time.monotonic()
    report = collect(compiled, spec, job_name="mnist-sweep", live=False)
    assert time.monotonic() - started < 30
    assert not report.unreadable, report.unreadable
    process = report.jobs[0].cluster.processes[3]
    assert (process.state, process.evictions, process.executions) == ("idle", 50_000, 50_000)
    assert any("evicted 50000" in line for line in render(report))
    # A log whose events name another cluster (or one HTCondor cannot hold) still is the file's process.
    log.write_bytes(CASES["other-ids"]("4242.003.000"))
    process = collect(compiled, spec, job_name="mnist-sweep", live=False).jobs[0].cluster.processes[3]
    assert process.id == "4242.3"
    # One field that is not UTF-8 (a file name quoted from an execute machine) spoils no log.
    log.write_bytes(CASES["not-utf8"]("4242.003.000"))
    process = collect(compiled, spec, job_name="mnist-sweep", live=False).jobs[0].cluster.processes[3]
    assert process.state == "held" and process.held is not None and process.held.reason == "caf\ufffd"


# 5. How many logs ---------------------------------------------------------------------------------


def test_logs_past_the_jobs_processes_are_named_not_read(built: Path) -> None:
    """mnist-sweep has 4 processes; a build/ with 150 more logs of its cluster reads 100 of them
    beyond the 4 and names the rest in one line."""
    from pixi_htc.schedulers.htcondor.clusters import EXTRA_LOGS

    logs = built / "build" / "logs"
    for proc in range(4, 154):
        (logs / f"mnist-sweep_4242_{proc}.log").write_text(held_log(f"4242.{proc:03d}.000", "Disk quota exceeded"))
    result = status_cli(built)
    assert result.returncode == 2
    last = 4 + EXTRA_LOGS
    assert (
        f"  unreadable: build/logs/mnist-sweep_4242_{last}.log and {153 - last:,} more (processes 4242.{last} "
        f"to 4242.153): not read: the job has 4 process(es), and pixi-htc reads at most {EXTRA_LOGS} logs "
        "beyond them (are they this job's?)"
    ) in result.stdout.split("\n")
    assert f"  4242.{last - 1} " in result.stdout and f"  4242.{last} " not in result.stdout


def test_the_logs_of_one_job_are_read_up_to_a_total_size(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pixi_htc.schedulers.htcondor import clusters, joblog

    sizes = sorted((p.stat().st_size, p.name) for p in (built / "build" / "logs").glob("mnist-sweep_4242_*.log"))
    budget = sum(size for size, name in sizes if not name.endswith(("_2.log", "_3.log")))
    monkeypatch.setattr(clusters, "JOB_LOG_BYTES", budget)
    compiled, spec = compiled_at(built, monkeypatch)
    report = collect(compiled, spec, job_name="mnist-sweep", live=False)
    cluster = report.jobs[0].cluster
    assert cluster is not None and sorted(cluster.processes) == [0, 1]
    assert cluster.unreadable == (
        (
            f"build/logs/mnist-sweep_4242_2.log and 1 more (processes 4242.2 to 4242.3): not read: with it the job's "
            f"logs would hold over {joblog.size_text(budget)}, the most pixi-htc reads for one job"
        ),
    )


def test_names_that_are_no_logs_are_listed_twenty_then_counted(tmp_path: Path) -> None:
    from pixi_htc.schedulers.htcondor.follow import MAX_REFUSED

    build = tmp_path / "build"
    (build / "logs").mkdir(parents=True)
    for proc in range(50):
        os.mkfifo(build / "logs" / f"x_7_{proc:02d}.log")
    found, refused = log_files(Pattern("logs/x_$(Cluster)_$(Process).log"), build, tmp_path)
    assert found == [] and len(refused) == MAX_REFUSED
    assert refused[0].startswith("build/logs/x_7_00.log: is a named pipe (FIFO)")
    assert refused[-1] == (
        "build/logs: 31 more names that are not event logs HTCondor wrote, as the ones above; not read"
    )


def test_a_listing_of_too_many_names_stops_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pixi_htc.schedulers.htcondor import follow as status_module

    monkeypatch.setattr(status_module, "MAX_LISTED", 5)
    build = tmp_path / "build"
    (build / "logs").mkdir(parents=True)
    for proc in range(8):
        (build / "logs" / f"x_7_{proc}.log").write_text("")
    found, refused = log_files(Pattern("logs/x_$(Cluster)_$(Process).log"), build, tmp_path)
    assert len(found) == 5
    assert refused == [
        (
            "build/logs: over 5 names match logs/x_*_*.log; only 5 of them are looked at (move old "
            "submissions' logs away)"
        )
    ]


@pytest.mark.parametrize("hidden", ["\u202e", "\u2067", "\u200b", "\ufeff"])
def test_a_hold_reason_with_bidirectional_controls_is_shown_escaped(built: Path, hidden: str) -> None:
    log = built / "build" / "logs" / "mnist-sweep_4242_1.log"
    log.write_text(held_log("4242.001.000", f"Disk quota {hidden}dedeecxe"))
    result = status_cli(built)
    assert hidden not in result.stdout
    assert f"\\u{ord(hidden):04x}dedeecxe" in result.stdout

"""Probes: one small attack per hole issue #19 names, each against the real command line, each
asserting the hole is closed. The attacker controls a file pixi-htc reads (a submit file, a
manifest, build/, an event log, a .err, a metrics file) and nothing else.

The regression tests (test_init_hostile.py, test_status_hostile.py, test_results_hostile.py) and
the fuzz (test_fuzz_files.py) go deeper; these are the short list a reviewer reruns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import CHILD_PYTHONPATH, DEFAULT_SPEC, MINIMAL_SPEC

SECONDS = 90  # every probe answers well within this; a hang fails the probe instead of blocking
SUB = "executable = run.sh\nrequest_cpus = 1\nrequest_memory = 2GB\n"
SWEEP_LOG = "build/logs/mnist-sweep_7_{}.log"
METRICS = "build/outputs/mnist-sweep_7_{}_metrics.jsonl"


def cli(*args: str, cwd: Path, timeout: float = SECONDS) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pixi_htc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        check=False,
        timeout=timeout,
    )
    out = result.stdout + result.stderr
    assert result.returncode != 70 and "Traceback" not in out and "internal error" not in out, out[-2000:]
    return result


def spec_of(root: Path) -> dict[str, Any]:
    return YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())


@pytest.fixture(scope="module")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probe-template")
    (root / "specs").mkdir()
    (root / "specs" / "project.yaml").write_bytes(DEFAULT_SPEC.read_bytes())
    assert cli("build", cwd=root, timeout=300).returncode == 0
    return root


@pytest.fixture
def built(built_template: Path, tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "project"
    shutil.copytree(built_template, root, symlinks=True)
    return root


def event_log(proc: int, *events: str) -> str:
    return "".join(
        f"{code} (007.{proc:03d}.000) 2026-05-28 09:00:00 {text}\n...\n"
        for code, text in (e.split(" ", 1) for e in events)
    )


def metrics(root: Path, proc: int, *lines: str) -> None:
    path = root / METRICS.format(proc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


# --- High 1: nothing a submit file says is executed or included -------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "include command : touch {canary}",
        "include : touch {canary} |",
        "include command into out.sub : touch {canary}",
        "include ifexist : /etc/passwd",
        "if true\ninclude command : touch {canary}\nendif",
        "inc\\\nlude : touch {canary} |",
    ],
)
def test_probe_init_never_runs_an_include(tmp_path: Path, line: str) -> None:
    canary = tmp_path.parent / f"{tmp_path.name}-PWNED"
    (tmp_path / "job.sub").write_text(SUB + line.format(canary=canary) + "\nqueue\n")
    result = cli("init", "--from", "job.sub", cwd=tmp_path)
    # The include's own line: under `if true` (decided as condor_submit decides it) one line down.
    at = SUB.count("\n") + 1 + line.startswith("if true\n")
    assert result.returncode == 2 and f"job.sub:{at}: " in result.stderr
    assert not canary.exists() and not (tmp_path / "specs").exists() and not (tmp_path / "out.sub").exists()


def test_probe_status_results_and_submit_never_run_an_edited_sub(built: Path) -> None:
    canary = built.parent / "PWNED-edited-sub"
    for sub in (built / "build" / "htcondor").glob("*.sub"):
        sub.write_text(f"include command : touch {canary}\n{sub.read_text()}")
    for command in (["status", "--no-schedd"], ["results", "--no-plots"], ["submit", "--dry-run"]):
        cli(*command, cwd=built)
        assert not canary.exists(), command


# --- High 2: foreign text never becomes spec text -------------------------------------------------------


@pytest.mark.parametrize("breaker", ["\n", "\r", "\u2028", "\u0085"])
def test_probe_a_line_break_in_a_toml_key_stays_in_its_comment(tmp_path: Path, breaker: str) -> None:
    key = json.dumps(f"x{breaker}ci: {{pixi_htc: 'https://evil.example/x.whl'}}")
    (tmp_path / "pixi.toml").write_text(
        f'[workspace]\nname = "demo"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n{key} = 1\n'
    )
    result = cli("init", "--from", "pixi.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ci" not in spec_of(tmp_path) and "evil.example" not in json.dumps(spec_of(tmp_path))


# --- High 3: no command writes through a link -----------------------------------------------------------


def test_probe_results_never_writes_its_csv_through_a_link(built: Path, tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("precious\n")
    metrics(built, 0, '{"epoch": 1, "accuracy": 0.5}')
    (built / "build" / "outputs" / "mnist-sweep_7_results.csv").symlink_to(victim)
    assert cli("results", "--no-plots", cwd=built).returncode == 2
    assert victim.read_text() == "precious\n"


def test_probe_results_never_writes_a_plot_through_a_linked_directory(built: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    metrics(built, 0, '{"epoch": 1, "accuracy": 0.5}')
    (built / "build" / "outputs" / "plots").symlink_to(tmp_path, target_is_directory=True)
    assert cli("results", cwd=built).returncode == 2
    assert not list(tmp_path.glob("*.png"))


def test_probe_init_never_writes_through_a_linked_specs(tmp_path: Path) -> None:
    elsewhere, project = tmp_path / "elsewhere", tmp_path / "project"
    elsewhere.mkdir()
    project.mkdir()
    (project / "specs").symlink_to(elsewhere)
    (project / "job.sub").write_text(SUB + "queue\n")
    assert cli("init", "--from", "job.sub", cwd=project).returncode == 2
    assert list(elsewhere.iterdir()) == []


# --- Medium 4: no crash, a located answer ---------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    ["request_cpus = $(n)\nqueue n in (1 2)", "request_gpus = 1.5\nqueue", "max_retries = $(r)\nqueue r in (1 2)"],
)
def test_probe_submit_values_that_are_not_integers(tmp_path: Path, lines: str) -> None:
    (tmp_path / "job.sub").write_text(f"executable = run.sh\n{lines}\n")
    result = cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode in (0, 2) and "job.sub:2: " in result.stderr


@pytest.mark.parametrize(
    "body, where",
    [
        ("[tasks]\ntrain = 5\n", "pixi.toml:6:"),
        ('[feature]\ngpu = "x"\n', "pixi.toml:6:"),
        ("[tasks]\ntrain = " + "[" * 50_000 + "]" * 50_000 + "\n", "pixi.toml:6:"),
    ],
)
def test_probe_manifests_of_the_wrong_type_or_50000_deep(tmp_path: Path, body: str, where: str) -> None:
    (tmp_path / "pixi.toml").write_text(
        '[workspace]\nname = "demo"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n' + body
    )
    result = cli("init", "--from", "pixi.toml", cwd=tmp_path)
    assert result.returncode == 2 and where in result.stderr, result.stderr
    assert not (tmp_path / "specs").exists()


@pytest.mark.parametrize(
    "value", ['"abc"', "null", "[1, 2]", "[" * 100_000 + "]" * 100_000], ids=["string", "null", "list", "100k-deep"]
)
def test_probe_metrics_lines_that_would_crash_results(built: Path, value: str) -> None:
    metrics(built, 0, '{"epoch": 1, "accuracy": 0.5, "seconds": 2.0}', f'{{"epoch": 2, "seconds": {value}}}')
    result = cli("results", "--no-plots", cwd=built)
    assert result.returncode in (0, 2) and f"{METRICS.format(0)}:2: " in result.stdout


def test_probe_status_interval_nan(built: Path) -> None:
    result = cli("status", "--no-schedd", "--watch", "--interval", "nan", cwd=built)
    assert result.returncode == 2 and "--interval nan" in result.stderr


# --- Medium 5: bounded work and memory ------------------------------------------------------------------


def test_probe_a_small_submit_file_whose_macros_explode(tmp_path: Path) -> None:
    lines = ["m0 = xxxxxxxxxxxxxxxx", *(f"m{i} = $(m{i - 1})$(m{i - 1})$(m{i - 1})" for i in range(1, 30))]
    (tmp_path / "job.sub").write_text("executable = run.sh\n" + "\n".join(lines) + "\narguments = $(m29)\nqueue\n")
    assert len((tmp_path / "job.sub").read_bytes()) < 1024
    started = time.monotonic()
    cli("init", "--from", "job.sub", cwd=tmp_path)
    assert time.monotonic() - started < 30


def test_probe_an_inline_queue_table_whose_product_is_huge(tmp_path: Path) -> None:
    rows = "\n".join(" ".join(f"v{r}_{c}" for c in range(8)) for r in range(3000))
    (tmp_path / "job.sub").write_text(SUB + f"queue {', '.join(f'x{c}' for c in range(8))} from (\n{rows}\n)\n")
    started = time.monotonic()
    cli("init", "--from", "job.sub", cwd=tmp_path)
    assert time.monotonic() - started < 30


def test_probe_a_submit_file_that_makes_a_huge_spec(tmp_path: Path) -> None:
    """A 3 MB transfer_input_files list once made init spend a minute writing a 375,000-entry spec."""
    (tmp_path / "job.sub").write_text(
        SUB + "transfer_input_files = " + ", ".join(f"f{i}" for i in range(375_000)) + "\nqueue\n"
    )
    started = time.monotonic()
    result = cli("init", "--from", "job.sub", cwd=tmp_path)
    assert time.monotonic() - started < 30 and result.returncode == 2 and "job.sub:4: " in result.stderr


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_probe_an_err_that_never_ends(built: Path, kind: str) -> None:
    (built / "build" / "logs").mkdir(exist_ok=True)
    (built / SWEEP_LOG.format(0)).write_text(
        event_log(
            0,
            "000 Job submitted from host: <10.0.0.5:9618>",
            "012 Job was held.\n\tError from slot: oops\n\tCode 34 Subcode 0",
        )
    )
    err = built / "build" / "logs" / "mnist-sweep_7_0.err"
    err.symlink_to("/dev/zero") if kind == "dev-zero" else os.mkfifo(err)
    started = time.monotonic()
    cli("status", "--no-schedd", cwd=built)
    assert time.monotonic() - started < 30


def test_probe_an_event_log_and_a_metrics_file_of_gigabytes(built: Path) -> None:
    (built / "build" / "logs").mkdir(exist_ok=True)
    for path in (built / SWEEP_LOG.format(0), built / METRICS.format(0)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.truncate(8 << 30)  # sparse: no disk used
    started = time.monotonic()
    assert cli("status", "--no-schedd", cwd=built).returncode == 2
    assert cli("results", "--no-plots", cwd=built).returncode == 2
    assert time.monotonic() - started < 30


def test_probe_a_build_logs_of_many_logs(built: Path) -> None:
    logs = built / "build" / "logs"
    logs.mkdir(exist_ok=True)
    for proc in range(400):
        (logs / f"mnist-sweep_7_{proc}.log").write_text(event_log(proc, "000 Job submitted from host: <10.0.0.5:9618>"))
    result = cli("status", "--no-schedd", cwd=built)
    assert "more (processes 7.104 to 7.399): not read" in result.stdout


def test_probe_one_list_shared_by_many_jobs(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "seeds.txt").write_text("".join(f"{i}\n" for i in range(100_000)))
    jobs = "".join(
        f"  j{n}:\n    runtime: container\n    command: [python, train.py, '{{seed}}']\n"
        f"    sweep_from: {{file: lists/seeds.txt, variables: [seed]}}\n"
        for n in range(50)
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC.split("jobs:\n")[0] + "jobs:\n" + jobs)
    started = time.monotonic()
    cli("validate", cwd=tmp_path)
    assert time.monotonic() - started < 30


def test_probe_explain_on_a_big_spec(tmp_path: Path) -> None:
    jobs = "".join(
        f"  job{n}:\n    runtime: container\n    command: [python, train.py, --n, '{n}']\n"
        f"    resources: {{cpus: 1, memory: 2GB, disk: 2GB}}\n"
        for n in range(300)
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC + jobs)
    assert len((tmp_path / "specs" / "project.yaml").read_bytes()) > 30_000
    started = time.monotonic()
    cli("explain", "build/htcondor/job299.sub:5", cwd=tmp_path)
    assert time.monotonic() - started < 60


def test_probe_a_build_that_would_write_gigabytes(tmp_path: Path) -> None:
    jobs = "".join(
        f"  j{n}:\n    runtime: container\n    command: [python, train.py, '{{a}}', '{{b}}']\n"
        f"    sweep: {{a: [{', '.join(map(str, range(100)))}], b: [{', '.join(map(str, range(1000)))}]}}\n"
        for n in range(200)
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC.split("jobs:\n")[0] + "jobs:\n" + jobs)
    result = cli("build", cwd=tmp_path)
    assert result.returncode == 2 and "specs/project.yaml:" in result.stderr
    assert not (tmp_path / "build").exists()


# --- Medium 6: races ------------------------------------------------------------------------------------


def test_probe_a_list_changed_after_its_check_queues_only_checked_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    htcondor2 = pytest.importorskip("htcondor2")
    from pixi_htc import cli as main_module

    (tmp_path / "lists").mkdir()
    listed = tmp_path / "lists" / "lr.txt"
    listed.write_text("0.1\n0.2\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(
        MINIMAL_SPEC.replace(
            "command: [python, train.py]",
            "command: [python, train.py, '{lr}']\n    sweep_from: {file: lists/lr.txt, variables: [lr]}",
        )
    )
    monkeypatch.chdir(tmp_path)
    assert main_module.main(["build"]) == 0
    queued: list[dict[str, str]] = []

    class Result:
        def num_procs(self) -> int:
            return len(queued)

        def cluster(self) -> int:
            return 7

    class Schedd:
        def submit(self, description: object, itemdata: Any = None, count: int = 0) -> Result:
            listed.write_text("0.1\n$(id)\n0.3\n")  # the list changes between the check and the queue
            queued.extend(itemdata)
            return Result()

    monkeypatch.setattr(htcondor2, "Schedd", Schedd)
    assert main_module.main(["submit"]) == 0
    assert [list(row.values()) for row in queued] == [["0.1"], ["0.2"]]


def test_probe_two_builds_at_once(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_bytes(DEFAULT_SPEC.read_bytes())
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cli("build", cwd=tmp_path, timeout=300))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert cli("check", cwd=tmp_path).returncode == 0


# --- Medium 7: landing places ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    [
        "    logs: {log: specs/project.yaml}\n",
        "    outputs: [m.pt]\n    output_remaps: {m.pt: build/htcondor/train.sub}\n",
    ],
)
def test_probe_a_job_that_would_overwrite_what_pixi_htc_owns(tmp_path: Path, keys: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC + keys)
    result = cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "specs/project.yaml:1" in result.stderr


@pytest.mark.parametrize("value", ["'0'", "'00:00'", "'0-0'"])
def test_probe_slurm_time_zero(tmp_path: Path, value: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(
        MINIMAL_SPEC.replace("    runtime: container\n", "    runtime: container\n    scheduler: slurm\n")
        + f"    slurm: {{time: {value}}}\n"
    )
    result = cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "jobs.train.slurm.time" in result.stderr


# --- Low 8 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", ["\x1b[2J", "\x9b31m", "\u202e", "\u2066", "\u200b"])
def test_probe_terminal_escapes_and_hidden_text_in_metric_names(built: Path, hidden: str) -> None:
    metrics(built, 0, json.dumps({"epoch": 1, "accuracy": 0.5, f"x{hidden}y": 1.0}))
    result = cli("results", "--no-plots", "--metric", "nope", cwd=built)
    assert hidden not in result.stdout + result.stderr and "x\\" in result.stderr


def test_probe_terminal_escapes_in_a_hold_reason(built: Path) -> None:
    (built / "build" / "logs").mkdir(exist_ok=True)
    (built / SWEEP_LOG.format(0)).write_text(
        event_log(
            0,
            "000 Job submitted from host: <10.0.0.5:9618>",
            "012 Job was held.\n\t\x1b]0;pwned\x07\u202eoops\n\tCode 34 Subcode 0",
        )
    )
    result = cli("status", "--no-schedd", cwd=built)
    assert not any(c in result.stdout for c in ("\x1b", "\x07", "\u202e"))


def test_probe_csv_formula_cells(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    spec = (
        DEFAULT_SPEC.read_text()
        .replace("lr: [0.5, 1.0]", 'lr: ["=1+2", "@A1"]')
        .replace("batch_size: [64, 128]", 'batch_size: ["+A1", "-2+3"]')
    )
    (tmp_path / "specs" / "project.yaml").write_text(spec)
    assert cli("build", cwd=tmp_path, timeout=300).returncode == 0
    metrics(tmp_path, 0, '{"epoch": 1, "accuracy": 0.5}')
    assert cli("results", "--no-plots", cwd=tmp_path).returncode == 0
    import csv

    table = list(csv.reader((tmp_path / "build" / "outputs" / "mnist-sweep_7_results.csv").open()))
    assert all(cell.lstrip()[:1] not in ("=", "+", "@") and not cell.startswith("-2") for row in table for cell in row)


def test_probe_infinity_is_not_best_and_missing_seconds_are_missing(built: Path) -> None:
    metrics(built, 0, '{"epoch": 1, "accuracy": 0.5, "seconds": 2.0}')
    metrics(built, 1, '{"epoch": 1, "accuracy": Infinity}')
    metrics(built, 2, '{"epoch": 1, "accuracy": 0.4}')
    result = cli("results", "--no-plots", cwd=built)
    assert "best by accuracy (higher is better): process 7.0 " in result.stdout
    row = next(line.split() for line in result.stdout.splitlines() if line.strip().startswith("7.2"))
    assert row[6] == "-"  # process, batch_size, lr, epochs, accuracy, test_loss, time_s: missing, not 0


def test_probe_init_from_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "job.sub")
    assert cli("init", "--from", "job.sub", cwd=tmp_path, timeout=30).returncode == 2


def test_probe_an_error_that_would_echo_4_mib(tmp_path: Path) -> None:
    (tmp_path / "job.sub").write_text(SUB + "request_gpus = " + "9" * ((4 << 20) - 200) + "x\nqueue\n")
    result = cli("init", "--from", "job.sub", cwd=tmp_path)
    assert max(len(line) for line in (result.stdout + result.stderr).split("\n")) < 4000

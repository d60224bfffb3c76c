"""Submit-file forms real shared-filesystem projects use (real22b's measurement, the classes it left):
getenv, a queue variable in a log's directory, a whole row in one variable expanded into old-syntax
arguments, `if defined` on a macro of the file, quoted fields in a queue table, a queue list named by
a macro set at submit time. Each moved in, built, and the generated .sub read back with HTCondor's
parser (and, where it changes what runs, the job's words checked)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import htcondor2
import pytest
from ruamel.yaml import YAML

from tests.conftest import run_cli
from tests.test_keys22 import moved_in, spec, submit

BASE = "executable = /usr/bin/env\ntransfer_executable = false\nrequest_memory = 1GB\nrequest_disk = 1GB\n"


def job_of(root: Path) -> dict:
    document = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())
    return next(iter(document["jobs"].values()))


@pytest.mark.parametrize(
    ("written", "carried", "in_sub"),
    [
        ("getenv = true", True, "true"),
        ("getenv = TRUE", True, "true"),
        ("getenv = 1", True, "true"),
        ("get_env = MODEL_CACHE, USER", ["MODEL_CACHE", "USER"], "MODEL_CACHE, USER"),
        ("getenv = CONDA_*; PATH !HOME", ["CONDA_*", "PATH", "!HOME"], "CONDA_*, PATH, !HOME"),
        ("getenv = *cuda*", ["*cuda*"], "*cuda*"),
    ],
)
def test_getenv_is_carried_and_written(tmp_path: Path, written: str, carried: object, in_sub: str) -> None:
    root, stderr = moved_in(tmp_path, BASE + f"arguments = python3 run.py\n{written}\nqueue\n", files=("run.py",))
    assert "not carried" not in stderr, stderr
    assert job_of(root)["getenv"] == carried
    assert submit(root)["getenv"] == in_sub


def test_getenv_false_says_nothing(tmp_path: Path) -> None:
    root, stderr = moved_in(tmp_path, BASE + "arguments = python3 run.py\ngetenv = False\nqueue\n", files=("run.py",))
    assert "not carried" not in stderr and "getenv" not in job_of(root)
    assert "getenv" not in submit(root)


def test_a_getenv_member_the_spec_cannot_hold_is_listed_with_its_line(tmp_path: Path) -> None:
    text = BASE + "arguments = python3 run.py\ngetenv = A*B*C, PATH\nqueue\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: getenv = A*B*C, PATH" in stderr, stderr
    assert "getenv" not in job_of(root)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[PATH, 'A B']", "jobs.j.getenv"),
        ("['$(HOME)']", "jobs.j.getenv"),
        ("[]", "jobs.j.getenv"),
        ("'yes'", "jobs.j.getenv"),
    ],
)
def test_the_schema_refuses_getenv_values_htcondor_would_misread(tmp_path: Path, value: str, expected: str) -> None:
    checked = spec(tmp_path, f"    runtime: host\n    command: [python3, run.py]\n    getenv: {value}\n")
    assert checked.returncode == 2 and expected in checked.stderr, checked.stderr


def test_getenv_on_a_slurm_job_is_an_error_at_its_line(tmp_path: Path) -> None:
    checked = spec(
        tmp_path, "    scheduler: slurm\n    runtime: host\n    command: [python3, run.py]\n    getenv: true\n"
    )
    assert checked.returncode == 2
    assert "project.yaml:9:5: error: jobs.j.getenv: 'getenv' is for HTCondor jobs" in checked.stderr, checked.stderr
    assert "--export=ALL" in checked.stderr


def test_a_getenv_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    checked = spec(tmp_path, "    runtime: host\n    command: [python3, run.py]\n    get_env: true\n")
    assert checked.returncode == 2 and "getenv" in checked.stderr, checked.stderr


def test_the_default_spec_builds_without_getenv(tmp_path: Path) -> None:
    checked = spec(tmp_path, "    runtime: host\n    command: [python3, run.py]\n")
    assert checked.returncode == 0, checked.stderr
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "getenv" not in (tmp_path / "build" / "htcondor" / "j.sub").read_text()


LOG_DIRS = (
    "executable = /usr/bin/env\ntransfer_executable = false\narguments = python3 run.py --encoder $(encoder)\n"
    "log = runs/$(encoder)/train.log\noutput = runs/$(encoder)/train.out\nerror = runs/$(encoder)/train.err\n"
    "request_memory = 1GB\nrequest_disk = 1GB\nqueue encoder from (\n  distil\n  roberta\n)\n"
)


def test_a_queue_variable_in_a_log_directory_is_made_before_condor_submit(tmp_path: Path) -> None:
    """HTCondor makes no directory for a log: submit.sh makes one a row, then condor_submit runs."""
    root, stderr = moved_in(tmp_path, LOG_DIRS, files=("run.py",))
    assert "not carried" not in stderr, stderr
    assert job_of(root)["logs"] == {
        "log": "runs/{encoder}/train.log",
        "output": "runs/{encoder}/train.out",
        "error": "runs/{encoder}/train.err",
    }
    sub = submit(root)
    assert sub["log"] == "runs/$(PixiHtcSweep0)/train.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "condor_submit").write_text('#!/bin/sh\nls -d "$PWD/../runs/"* > "$RECORD"\n')
    (bin_dir / "condor_submit").chmod(0o755)
    record = tmp_path / "made"
    ran = subprocess.run(
        ["bash", str(root / "build" / "htcondor" / "submit.sh"), "job"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(record)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    made = sorted(Path(line).name for line in record.read_text().split())
    assert made == ["distil", "roberta"]
    assert not (root / "runs" / "$(PixiHtcSweep0)").exists()


def test_process_in_a_log_directory_is_refused_at_its_line(tmp_path: Path) -> None:
    checked = spec(
        tmp_path, "    runtime: host\n    command: [python3, run.py]\n    logs: {log: 'runs/{process}/a.log'}\n"
    )
    assert checked.returncode == 2
    assert "jobs.j.logs.log: {process} or {cluster} names a directory" in checked.stderr, checked.stderr


def test_a_log_directory_named_by_an_absent_list_is_refused(tmp_path: Path) -> None:
    job = (
        "    runtime: host\n    command: [python3, run.py, '{m}']\n    sweep_from: {file: models.txt, variables: [m]}\n"
        "    logs: {log: 'runs/{m}/a.log'}\n"
    )
    checked = spec(tmp_path, job)
    assert checked.returncode == 2 and "'models.txt' does not exist" in checked.stderr, checked.stderr
    (tmp_path / "models.txt").write_text("a\nb\n")
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert "directories=(../runs/a ../runs/b logs)" in (tmp_path / "build" / "htcondor" / "submit.sh").read_text()


def test_a_whole_row_in_one_variable_becomes_a_variable_a_word(tmp_path: Path) -> None:
    """`arguments = --fast $(PARAMS)` (the old syntax) with PARAMS a whole line of grid.txt:
    condor_submit splits the expanded arguments at blanks, so the job gets each word of the line."""
    text = BASE + "arguments = python3 run.py --fast $(PARAMS)\nqueue PARAMS from grid.txt\n"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "grid.txt").write_text("64 2 0.001\n128 4 0.0005\n")
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr, stderr
    job = job_of(root)
    assert job["sweep_from"] == {"file": "grid.txt", "variables": ["params1", "params2", "params3"]}
    assert job["command"][-4:] == ["--fast", "{params1}", "{params2}", "{params3}"]
    sub = submit(root)
    assert sub["arguments"].endswith('$(PixiHtcSweep0) $(PixiHtcSweep1) $(PixiHtcSweep2)"')


def test_a_whole_row_list_absent_at_init_is_listed_and_builds(tmp_path: Path) -> None:
    text = BASE + "arguments = python3 run.py $(PARAMS)\nqueue PARAMS from grid.txt\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: queue params from grid.txt" in stderr and "as one word" in stderr, stderr
    assert job_of(root)["command"][-1] == "{params}"


def test_a_row_variable_used_elsewhere_stays_whole(tmp_path: Path) -> None:
    text = BASE + "arguments = python3 run.py $(name)\noutput = out_$(name).txt\nqueue name from names.txt\n"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "names.txt").write_text("alpha\nbeta\n")
    root, _ = moved_in(tmp_path, text, files=("run.py",))
    assert job_of(root)["sweep_from"]["variables"] == ["name"]


QUEUE_ROWS = (
    "  first, pca, \"--fold $(fold) --reduce $(reducer) --layers 2,3 --tag 'a b'\"\n"
    '  second, pca, x y\n  "third, fourth", fifth\n'
)


def test_queue_rows_are_read_as_htcondor_reads_them(tmp_path: Path) -> None:
    """Quotes are nothing special in a queue table: fields split at commas or blanks, the last name
    takes the rest of the row, quotes and commas included (htcondor2's itemdata, compared)."""
    from pixi_htc.init.submit_queue import _row

    text = f"executable = /bin/true\nqueue fold, reducer, arguments from (\n{QUEUE_ROWS})\n"
    theirs = [tuple(dict(item).values()) for item in htcondor2.Submit(text).itemdata()]
    assert [_row(line, 3) for line in QUEUE_ROWS.splitlines()] == theirs


def test_a_queue_table_that_sets_arguments_gives_the_command_its_words(tmp_path: Path) -> None:
    text = BASE + (
        "queue fold, reducer, arguments from (\n"
        '  first, pca, "python3 run.py --index 1 --fold $(fold) --reduce $(reducer) --layers 2,3"\n'
        '  second, pca, "python3 run.py --index 2 --fold $(fold) --reduce $(reducer) --layers 2,3"\n)\n'
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr, stderr
    job = job_of(root)
    # A word every row gives alike stays in the command; the one that differs is a variable.
    assert job["command"] == [
        *("/usr/bin/env", "python3", "run.py", "--index", "{arg4}"),
        *("--fold", "{fold}", "--reduce", "{reducer}", "--layers", "2,3"),
    ]
    assert job["sweep_from"]["variables"] == ["fold", "reducer", "arg4"]
    assert (root / job["sweep_from"]["file"]).read_text() == "first, pca, 1\nsecond, pca, 2\n"


def test_queue_rows_whose_arguments_differ_in_length_are_listed(tmp_path: Path) -> None:
    text = BASE + "queue fold, arguments from (\n  a, python3 run.py 1\n  b, python3 run.py 1 2\n)\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:5: queue fold, arguments from" in stderr and "number of words" in stderr, stderr
    assert "sweep" not in job_of(root) and "sweep_from" not in job_of(root)


DECIDED = """A = 1
E =
if defined A
  R = then
else
  R = else
endif
if defined E
  S = then
elif ! defined A
  S = elif
  error : only in a branch not taken
else
  if true
    S = else
  endif
endif
if 0
  error : never
elif defined a
  T = elif
endif
queue
"""


def test_conditionals_on_the_files_own_macros_are_decided_as_htcondor_decides_them() -> None:
    from pixi_htc.init.submit_file import parse_submit

    ours = parse_submit(DECIDED.replace("  error : only in a branch not taken\n", ""), "job.sub")
    theirs = htcondor2.Submit(DECIDED.replace("  error : only in a branch not taken\n", ""))
    for name in ("r", "s", "t"):
        assert ours.commands[name].text == theirs[name.upper()], name
    assert [ours.commands[n].text for n in ("r", "s", "t")] == ["then", "else", "elif"]
    assert parse_submit(DECIDED, "job.sub").commands["s"].text == "else"  # `error` in a branch not taken


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("A = 1\nif version >= 9.0\n  X = 1\nendif\nqueue\n", 2, "depends on how or where"),
        ("if $(A)\n  X = 1\nendif\nqueue\n", 1, "depends on how or where"),
        ("X = 1\nelse\nqueue\n", 2, "`else` without an `if`"),
        ("A = 1\nif defined A\n  error : stop here\nendif\nqueue\n", 3, "an `error`/`warning` statement"),
    ],
)
def test_a_conditional_init_cannot_decide_is_refused_with_its_line(text: str, line: int, why: str) -> None:
    from pixi_htc.core.errors import UsageError
    from pixi_htc.init.submit_file import parse_submit

    with pytest.raises(UsageError) as refused:
        parse_submit(text, "job.sub")
    assert f"job.sub:{line}:" in str(refused.value) and why in str(refused.value), str(refused.value)


def test_an_unclosed_if_is_refused() -> None:
    from pixi_htc.core.errors import UsageError
    from pixi_htc.init.submit_file import parse_submit

    with pytest.raises(UsageError, match="never closed by `endif`"):
        parse_submit("A = 1\nif defined A\n  X = 1\nqueue\n", "job.sub")


def test_an_empty_macro_from_the_branch_taken_is_no_argument(tmp_path: Path) -> None:
    """`CPU =` in the branch taken: the new-syntax arguments lose the word (condor_submit expands
    before it splits), the else branch's --cpu never reaches the job."""
    text = BASE + (
        'arguments = "python3 run.py -c base.conf $(CPU) --seed 3"\nrequest_gpus = 1\n'
        "if defined request_gpus\n  CPU =\nelse\n  CPU = --cpu\nendif\nqueue\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr, stderr
    assert job_of(root)["command"] == ["/usr/bin/env", "python3", "run.py", "-c", "base.conf", "--seed", "3"]


def test_a_queue_list_named_at_submit_time_is_listed_and_the_spec_builds(tmp_path: Path) -> None:
    text = BASE + "arguments = python3 run.py $(sample)\nqueue sample from $(samples)\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: queue sample from $(samples) (the list is named by a macro" in stderr, stderr
    assert "sweep_from" not in job_of(root)


def test_a_queue_list_named_by_the_files_own_macro_is_that_file(tmp_path: Path) -> None:
    text = BASE + "LIST = names.txt\narguments = python3 run.py $(name)\nqueue name from $(LIST)\n"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "names.txt").write_text("alpha\nbeta\n")
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "not carried" not in stderr, stderr
    assert job_of(root)["sweep_from"] == {"file": "names.txt", "variables": ["name"]}


@pytest.mark.parametrize(("written", "carried"), [("False", "NO"), ("never", "NO"), ("auto", "IF_NEEDED")])
def test_should_transfer_files_other_names(tmp_path: Path, written: str, carried: str) -> None:
    text = BASE + f"arguments = python3 run.py\nshould_transfer_files = {written}\nqueue\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "should_transfer_files" not in stderr, stderr
    assert job_of(root)["should_transfer_files"] == carried
    assert submit(root)["should_transfer_files"] == carried


def test_a_conditional_on_a_macro_the_file_never_sets_takes_the_branch_a_plain_condor_submit_takes(
    tmp_path: Path,
) -> None:
    """`if defined GPU` with GPU given only as `condor_submit GPU=1`: a plain condor_submit takes the
    else branch; init does, and lists the line (the spec builds)."""
    text = BASE + (
        "if defined GPU\n  request_gpus = 1\n  MODE = --cuda\n"
        "else\n  MODE = --cpu\nendif\nif !defined SEED\n  SEED = 7\nendif\n"
        "arguments = python3 run.py $(MODE) --seed $(SEED)\nqueue\n"
    )
    oracle = htcondor2.Submit(text)
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:5: `if defined GPU`: the file does not set it above" in stderr, stderr
    assert "job.sub:11: `if !defined SEED`" in stderr, stderr
    assert oracle.expand("arguments") == "python3 run.py --cpu --seed 7"  # condor_submit's own reading
    assert job_of(root)["command"] == ["/usr/bin/env", "python3", "run.py", "--cpu", "--seed", "7"]
    assert "gpus" not in job_of(root).get("resources", {}) or job_of(root)["resources"]["gpus"] == 0


@pytest.mark.parametrize(("name", "taken"), [("Process", "then"), ("ClusterId", "then"), ("request_memory", "then")])
def test_a_conditional_on_a_name_condor_submit_defines_for_every_job_takes_its_branch(
    name: str, taken: str, tmp_path: Path
) -> None:
    text = (
        BASE
        + f"if defined {name}\n  MODE = then\nelse\n  MODE = else\nendif\narguments = python3 run.py $(MODE)\nqueue\n"
    )
    assert htcondor2.Submit(text).expand("arguments").endswith(taken)  # condor_submit's own reading
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert job_of(root)["command"][-1] == taken, stderr
    assert "does not set it above" not in stderr


@pytest.mark.parametrize("name", ["IsLinux", "OpSys", "Arch"])
def test_a_conditional_on_the_submitting_machine_s_configuration_is_refused_with_its_line(name: str) -> None:
    from pixi_htc.core.errors import UsageError
    from pixi_htc.init.submit_file import parse_submit

    with pytest.raises(UsageError, match="job.sub:1:"):
        parse_submit(f"if defined {name}\n  X = 1\nendif\nqueue\n", "job.sub")

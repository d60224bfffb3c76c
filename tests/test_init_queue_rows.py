"""A queue table row whose values, as HTCondor reads them, a sweep cannot hold (a quote kept as a
character, a last variable given the rest of the row, a missing value): init lists it at its line and
leaves it out, and the spec it writes builds. HTCondor's own reading (htcondor2.Submit.itemdata) of
the submit file is the oracle for the rows that are carried."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import htcondor2
import pytest
from ruamel.yaml import YAML

from tests.test_keys22 import moved_in, submit

HEAD = "executable = /usr/bin/env\ntransfer_executable = false\nrequest_memory = 1GB\nrequest_disk = 1GB\n"
ARGUMENTS = "arguments = python3 run.py --lr $(lr) --tag $(tag)\n"


def carried_rows(root: Path) -> list[dict[str, str]]:
    """The processes the built .sub queues, as HTCondor expands them: each one's lr and tag."""
    sub = submit(root)
    with contextlib.chdir(root / "build"):  # where pixi-htc submit runs condor_submit, whose paths start there
        items = list(sub.itemdata())
    return [
        {"lr": item["PixiHtcSweep0"], "tag": item["PixiHtcSweep1"]} if "PixiHtcSweep1" in item else item
        for item in items
    ]


def test_rows_htcondor_reads_with_quotes_are_listed_at_their_lines_and_the_rest_carried(tmp_path: Path) -> None:
    table = "queue lr, tag from (\n  0.1, \"first run\"\n  0.01, second\n  0.2, 'third'\n  0.3\n  0.5, fifth\n)\n"
    text = HEAD + ARGUMENTS + table
    oracle = list(htcondor2.Submit(text).itemdata())
    assert oracle[0] == {"lr": "0.1", "tag": '"first run"'}  # the last variable keeps the rest, quotes and all
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    lines = [line for line in stderr.splitlines() if "queue table is left out" in line]
    assert [line.split(": ")[1] for line in lines] == ["job.sub:7", "job.sub:9", "job.sub:10"], stderr
    assert "tag is 'third'" in lines[1] and "gives tag no value" in lines[2], stderr
    assert "the rest of the row" in lines[0], stderr
    kept = [dict(item) for item in oracle if item["tag"] in {"second", "fifth"}]
    assert sorted(carried_rows(root), key=lambda r: r["lr"]) == kept


def test_a_table_no_row_of_which_can_be_carried_leaves_a_job_queued_once_that_builds(tmp_path: Path) -> None:
    text = HEAD + ARGUMENTS + "queue lr, tag from (\n  0.1, 'a'\n  0.2, \"b\"\n)\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: queue lr, tag from: no row of its table can be carried" in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert "sweep" not in job and "sweep_from" not in job
    assert submit(root).itemdata() is None  # a bare queue: one process


@pytest.mark.parametrize("row", ["0.1 second", "0.1,second", "  0.1 ,  second  "])
def test_separators_condor_submit_accepts_still_carry_the_row(tmp_path: Path, row: str) -> None:
    root, stderr = moved_in(tmp_path, HEAD + ARGUMENTS + f"queue lr, tag from (\n{row}\n)\n", files=("run.py",))
    assert "left out" not in stderr, stderr
    assert carried_rows(root) == [{"lr": "0.1", "tag": "second"}]


def test_the_user_s_list_is_named_as_it_is_when_every_row_is_carried_and_copied_without_the_others(
    tmp_path: Path,
) -> None:
    text = HEAD + ARGUMENTS + "queue lr, tag from params.txt\n"
    root = tmp_path / "repo"  # moved_in makes its .git
    root.mkdir()
    (root / "params.txt").write_text("0.1 first\n0.2, second\n")
    moved, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert moved == root and "left out" not in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert job["sweep_from"]["file"] == "params.txt"

    other = tmp_path / "other"
    (other / "repo").mkdir(parents=True)
    (other / "repo" / "params.txt").write_text('0.1 first\n0.2 "two words"\n#0.4 commented\n0.5 fifth\n')
    with contextlib.chdir(other / "repo"):
        oracle = list(htcondor2.Submit(text).itemdata())
    assert len(oracle) == 4 and oracle[2] == {"lr": "#0.4", "tag": "commented"}  # HTCondor queues all four
    root, stderr = moved_in(other, text, files=("run.py",))
    lines = [line.split(": ")[1] for line in stderr.splitlines() if "row of the list is left out" in line]
    assert lines == ["params.txt:2", "params.txt:3"], stderr
    assert "its other rows are in specs/job.queue.txt, which sweep_from names" in stderr
    assert (root / "params.txt").read_text().count("\n") == 4  # the user's list as it was
    assert carried_rows(root) == [dict(item) for item in oracle if item["tag"] in {"first", "fifth"}]


def test_items_from_standard_input_are_listed_not_made_a_file_named_dash(tmp_path: Path) -> None:
    """`queue arg1 from -`: condor_submit reads the items from its standard input at submit time."""
    text = HEAD + "arguments = python3 run.py $(arg1)\nqueue arg1 from -\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: queue arg1 from - (the items come from condor_submit's standard input" in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert "sweep_from" not in job and "sweep" not in job


def test_a_log_a_queue_variable_s_absolute_values_would_place_off_the_project_goes_to_pixi_htc_s_own(
    tmp_path: Path,
) -> None:
    """`output = $(run_dir)/output.txt` with run_dir an absolute directory of the author's: the logs
    are listed and left to pixi-htc's own place; the variable still reaches the command; it builds."""
    text = HEAD + (
        "arguments = python3 run.py --data $(run_dir)\noutput = $(run_dir)/output.txt\nlog = $(run_dir)/log.txt\n"
        "queue run_dir from (\n  /nfs/lab/alice/run1\n  /nfs/lab/alice/run2\n)\n"
    )
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: output = {run_dir}/output.txt (run_dir holds a path of the submitting machine" in stderr
    assert "job.sub:7: log = {run_dir}/log.txt" in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert "logs" not in job and job["command"][-2:] == ["--data", "{run_dir}"]
    sub = submit(root)
    assert sub["output"].startswith("build/logs/") and sub["log"].startswith("build/logs/")  # from initialdir


def test_blocks_of_arguments_each_queued_once_are_one_sweep(tmp_path: Path) -> None:
    """`arguments = 900` `queue` `arguments = 1500` `queue`...: HTCondor queues one process per block;
    when only the arguments differ, that is one sweep over them, in the file's order."""
    blocks = "".join(f"arguments = python3 run.py --steps {n} --seed 1\nqueue\n" for n in (900, 1500, 1800))
    text = HEAD + blocks
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "queue statement" not in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert job["sweep"] == {"arg4": ["900", "1500", "1800"]}  # the one word that differs
    assert job["command"] == ["/usr/bin/env", "python3", "run.py", "--steps", "{arg4}", "--seed", "1"]
    assert [item["PixiHtcSweep0"] for item in submit(root).itemdata()] == ["900", "1500", "1800"]


def test_blocks_that_differ_in_more_than_their_arguments_are_listed_as_before(tmp_path: Path) -> None:
    text = (
        HEAD
        + "arguments = python3 run.py 1\noutput = a.out\nqueue\narguments = python3 run.py 2\noutput = b.out\nqueue\n"
    )
    _, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:10: a second queue statement" in stderr, stderr


def test_review28_a_one_variable_list_with_a_blank_in_a_line_is_read_as_htcondor_reads_it(tmp_path: Path) -> None:
    """One variable takes the whole line (re.split's maxsplit=0 split it everywhere and crashed init)."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "list.txt").write_text("a\nb c\n")
    text = HEAD + "arguments = python3 run.py --name $(x)\nqueue x from list.txt\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "list.txt:2: x is b c as HTCondor reads it" in stderr, stderr
    assert carried_rows(root) == [{"PixiHtcSweep0": "a"}]


def test_review28_commands_after_the_last_queue_are_no_job_s(tmp_path: Path) -> None:
    text = HEAD + "arguments = python3 run.py\nqueue\nexecutable = /bin/rm\narguments = -rf /\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:7: executable = /bin/rm (after the last queue statement" in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert job["command"] == ["/usr/bin/env", "python3", "run.py"]
    assert "rm" not in (root / "build" / "htcondor" / "job.sh").read_text()


def test_review28_an_author_path_through_a_link_out_of_the_project_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "jobs").mkdir(parents=True)
    (root / "etc").symlink_to("/etc")
    (root / "jobs" / "run.sh").write_text("echo hi\n")
    text = (
        "executable = /bin/bash\narguments = /home/alice/proj/jobs/run.sh /home/alice/proj/etc/passwd\n"
        "transfer_input_files = /home/alice/proj/etc/passwd\nqueue\n"
    )
    (root / ".git").mkdir()
    (root / "jobs" / "job.sub").write_text(text)
    from tests.conftest import run_cli

    init = run_cli("init", "--from", "job.sub", cwd=root / "jobs")
    assert init.returncode == 0, init.stderr
    assert "reached through a symbolic link" in init.stderr, init.stderr
    spec = (root / "specs" / "project.yaml").read_text()
    assert "etc/passwd\n" not in spec.replace("/home/alice/proj/etc/passwd", "")
    assert run_cli("build", cwd=root).returncode == 0
    assert "passwd" not in (root / "build" / "htcondor" / "job.sub").read_text().replace("/home/alice/proj/etc/", "")


def test_review28_a_table_init_writes_for_a_file_in_a_subdirectory_is_named_where_it_is(tmp_path: Path) -> None:
    text = HEAD + "arguments = python3 run.py $(a) $(b)\nqueue a, b from (\n  1, x\n  2, y\n  2, x\n)\n"
    root, _ = moved_in(tmp_path, text, where="jobs", files=("run.py",))
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert (root / job["sweep_from"]["file"]).is_file(), job["sweep_from"]
    assert len(carried_rows(root)) == 3


def test_review28_blocks_sharing_one_output_name_stay_one_job_and_build(tmp_path: Path) -> None:
    text = HEAD + "output = run.out\narguments = python3 run.py 1\nqueue\narguments = python3 run.py 2\nqueue\n"
    _, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "a second queue statement" in stderr, stderr


def test_review28_one_output_name_for_every_process_goes_to_pixi_htc_s_own(tmp_path: Path) -> None:
    """`queue 3` with `output = out.txt`: the processes would overwrite each other's; listed, and the
    spec (which refuses the name) builds with pixi-htc's per-process logs."""
    text = HEAD + "arguments = python3 run.py\noutput = out.txt\nerror = err.txt\nlog = job.log\nqueue 3\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: output = out.txt (one name for every process" in stderr, stderr
    assert "job.sub:7: error = err.txt" in stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert job["count"] == 3 and job["logs"] == {"log": "job.log"}
    assert "$(Process)" in submit(root)["output"]


def test_review28_an_executable_name_a_spec_cannot_hold_is_listed_and_the_spec_builds(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "my job's.sh").write_text("#!/bin/sh\necho hi\n")
    root, stderr = moved_in(tmp_path, "executable = my job's.sh\narguments = a\x00b c\nqueue\n")
    assert "job.sub:1: executable my job's.sh (a spec names files by paths" in stderr, stderr
    assert "job.sub:2: arguments: a word holds a control character" in stderr, stderr


def test_review28_a_slurm_script_name_a_spec_cannot_hold_is_refused_and_nothing_written(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / ".git").mkdir()
    (tmp_path / "my job's.sh").write_text("#!/bin/bash\n#SBATCH --time=10\npython t.py\n")
    result = run_cli("init", "--from", "my job's.sh", cwd=tmp_path)
    assert result.returncode == 2 and "rename the script" in result.stderr, result.stderr
    assert not (tmp_path / "specs").exists()


@pytest.mark.parametrize("kind", ["link", "fifo", "no-row"])
def test_review28_a_list_init_cannot_carry_leaves_a_job_queued_once_that_builds(tmp_path: Path, kind: str) -> None:
    """A list reached through a link, a FIFO, or one with no row a sweep can hold: listed, the queue's
    variable left without a value (as condor_submit leaves an unset macro), and the spec builds."""
    root = tmp_path / "repo"
    root.mkdir()
    if kind == "link":
        (root / "list.txt").symlink_to("/etc/hostname")
    elif kind == "fifo":
        os.mkfifo(root / "list.txt")
    else:
        (root / "list.txt").write_text('"a b"\n"c"\n')
    text = HEAD + "arguments = python3 run.py --tag $(tag)\nqueue tag from list.txt\n"
    root, stderr = moved_in(tmp_path, text, files=("run.py",))
    assert "job.sub:6: queue" in stderr and "$(tag) (no such macro here" in stderr, stderr
    job = next(iter(YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"].values()))
    assert "sweep_from" not in job and job["command"] == ["/usr/bin/env", "python3", "run.py", "--tag"]

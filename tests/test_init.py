"""`pixi-htc init` (issue #11): a first spec from nothing, from a pixi manifest or from a submit file.
What it writes builds; a pixi workspace comes back as pixi reads it; a .sub's commands come back as
HTCondor reads them; what cannot be carried is said; nothing is overwritten."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import htcondor2
import pytest

from tests.conftest import run_cli, run_job_script

PIXI_TOML = """\
[workspace]
name = "seg-models"
authors = ["Ada Lovelace <ada@example.org>"]
channels = ["conda-forge", "nvidia"]
platforms = [
  "linux-64",
  "osx-arm64",
  { name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" },
]
requires-pixi = ">=0.77"

[dependencies]
python = "3.12.*"
numpy = ">=1.26"

[pypi-dependencies]
seg-models = { path = ".", editable = true }

[activation.env]
WANDB_MODE = "offline"

[tasks]
lint = "ruff check ."
ci = { depends-on = ["lint", "test"] }

[feature.cuda]
platforms = ["linux-64-cuda-12", "osx-arm64"]

[feature.cuda.target.linux-64.dependencies]
pytorch-gpu = ">=2.5"

[feature.cuda.tasks]
train = { cmd = "python -m seg.train", env = { PYTHONUNBUFFERED = "1" } }

[feature.test.dependencies]
pytest = "*"

[feature.test.tasks]
test = "pytest"

[environments]
cuda = { features = ["cuda"], solve-group = "main" }
test = { features = ["test", "cuda"], solve-group = "main" }
"""

SUBMIT = """\
universe = container
container_image = docker://nvcr.io/nvidia/pytorch:24.01-py3
executable = run.sh
arguments = "--epochs 3"
transfer_input_files = run.sh, data.tar.gz
transfer_output_files = model.pt
request_cpus = 4
request_gpus = 1
request_memory = 16GB
request_disk = 40GB
gpus_minimum_capability = 8.0
requirements = (GPUs_DriverVersion >= 12.2) && (Machine != "bad.example.org")
+WantGPULab = true
+GPUJobLength = "long"
+ProjectName = "Lab"
environment = "OMP_NUM_THREADS=4"
max_retries = 3
log = job.log
notification = Always
priority = 5
queue
"""


def _init(tmp_path: Path, name: str, text: str) -> tuple[Path, str]:
    (tmp_path / name).write_text(text)
    result = run_cli("init", "--from", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    return tmp_path, result.stderr


def test_init_from_nothing_writes_a_spec_that_builds(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "specs" / "project.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=project.schema.json\n")
    assert (tmp_path / "specs" / "project.schema.json").is_file()
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert run_cli("check", cwd=tmp_path).returncode == 0


def test_a_manifest_toml_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pixi.toml").write_text('[workspace]\nname = "x\n')
    result = run_cli("init", "--from", "pixi.toml", cwd=tmp_path)
    assert result.returncode == 2 and "pixi.toml: not TOML" in result.stderr and "line 2" in result.stderr
    assert not (tmp_path / "specs").exists()


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text("mine\n")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2 and "never overwrites" in result.stderr
    assert (tmp_path / "specs" / "project.yaml").read_text() == "mine\n"
    assert not (tmp_path / "specs" / "project.schema.json").exists()


def _run_from_the_root(manifest: dict[str, Any]) -> dict[str, Any]:
    """The original's tasks as the generated manifest in build/ writes them: run from the project
    root (cwd = ".."), where pixi ran them beside the original manifest."""
    tables = [manifest.get("tasks", {})] + [f.get("tasks", {}) for f in manifest.get("feature", {}).values()]
    for tasks in tables:
        for name, task in tasks.items():
            if isinstance(task, str):
                tasks[name] = {"cmd": task, "cwd": ".."}
            elif "cmd" in task and "cwd" not in task:
                task["cwd"] = ".."
    return manifest


def _without_pixi_htcs_own(manifest: dict[str, Any]) -> dict[str, Any]:
    """The generated manifest less what pixi-htc adds by design: the pixi-pack feature and environment,
    and the pixi floor its platform entries need (`requires-pixi = ">=0.71"`, where the spec sets none)."""
    manifest["feature"].pop("pack")
    manifest["environments"].pop("pack")
    if manifest["workspace"].get("requires-pixi") == ">=0.71":
        manifest["workspace"].pop("requires-pixi")
    return manifest


def test_a_pixi_workspace_round_trips(tmp_path: Path) -> None:
    root, _ = _init(tmp_path, "pixi.toml", PIXI_TOML)
    original = _run_from_the_root(tomllib.loads(PIXI_TOML))
    generated = _without_pixi_htcs_own(tomllib.loads((root / "build" / "pixi.toml").read_text()))
    # Paths are the project root's; build/pixi.toml sits one level down.
    original["pypi-dependencies"]["seg-models"]["path"] = ".."
    assert generated == original


def test_a_pre_071_workspace_comes_back_in_the_form_pixi_migrates_it_to(tmp_path: Path) -> None:
    """[system-requirements] is deprecated (pixi 0.71): what comes back is pixi's documented equivalent."""
    old = (
        PIXI_TOML.replace('  { name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" },\n', "")
        .replace(
            '[feature.cuda]\nplatforms = ["linux-64-cuda-12", "osx-arm64"]\n',
            '[feature.cuda.system-requirements]\ncuda = "12"\n',
        )
        .replace(
            "[dependencies]",
            '[system-requirements]\nlibc = { family = "glibc", version = "2.17" }\nmacos = "14.0"\n\n[dependencies]',
        )
    )
    assert "system-requirements" in tomllib.loads(old)
    root, _ = _init(tmp_path, "pixi.toml", old)
    generated = tomllib.loads((root / "build" / "pixi.toml").read_text())
    assert "system-requirements" not in generated and "system-requirements" not in generated["feature"]["cuda"]
    assert generated["workspace"]["platforms"] == [
        {"name": "linux-64", "platform": "linux-64", "glibc": "2.17"},
        {"name": "osx-arm64", "platform": "osx-arm64", "macos": "14.0"},
        {"name": "linux-64-cuda-12", "platform": "linux-64", "cuda": "12", "glibc": "2.17"},
    ]
    assert generated["feature"]["cuda"]["platforms"] == ["linux-64-cuda-12", "osx-arm64"]


def test_a_submit_file_comes_back_as_htcondor_reads_it(tmp_path: Path) -> None:
    root, stderr = _init(tmp_path, "train.sub", SUBMIT)
    original = htcondor2.Submit(SUBMIT)
    generated = htcondor2.Submit((root / "build" / "htcondor" / "train.sub").read_text())
    same = [
        "universe",
        "container_image",
        "transfer_output_files",
        "request_cpus",
        "request_gpus",
        "request_memory",
        "request_disk",
        "gpus_minimum_capability",
        "MY.WantGPULab",
        "MY.GPUJobLength",
        "MY.ProjectName",
        "max_retries",
        "notification",
    ]
    assert {k: generated.get(k) for k in same} == {k: original.get(k) for k in same}
    # The file's own machine clauses, as it wrote them (gpu.driver would be gpus_minimum_runtime).
    assert generated["requirements"] == original["requirements"]
    assert "gpus_minimum_runtime" not in generated
    # Paths are the project root's; the .sub is submitted from build/.
    assert generated["transfer_input_files"] == "../run.sh, ../data.tar.gz"
    assert generated["environment"] == '"OMP_NUM_THREADS=4"'
    assert "not carried over: train.sub:20: priority = 5" in stderr and "notification" not in stderr
    spec = (root / "specs" / "project.yaml").read_text()
    assert "#   train.sub:20: priority = 5" in spec


def test_a_pyproject_tool_pixi_table_moves_in_too(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "seg"\n\n' + re.sub(r"(?m)^\[", "[tool.pixi.", PIXI_TOML)
    root, _ = _init(tmp_path, "pyproject.toml", pyproject)
    generated = _without_pixi_htcs_own(tomllib.loads((root / "build" / "pixi.toml").read_text()))
    assert generated["workspace"]["name"] == "seg-models"
    assert generated["feature"]["cuda"]["target"]["linux-64"]["dependencies"] == {"pytorch-gpu": ">=2.5"}


# An OSPool-style job over a list of videos: the queue's variables, HTCondor's own macros, the
# executable HTCondor transfers itself, arguments and environment in the new syntax, the user's log names.
SWEEP_SUB = """\
universe = container
container_image = docker://ghcr.io/talmolab/sleap:1.3.3
executable = track.sh
arguments = "videos/$(video).mp4 --label '$(label) x' --seed $(Process) --run $(run_name)"
run_name = trial-7
transfer_input_files = videos/$(video).mp4, models
transfer_output_files = $(video).slp
log = logs/track.log
output = logs/track_$(Cluster)_$(Process).out
error = logs/track_$(Process).err
request_gpus = 1
environment = "A=1 B='x y'"
should_transfer_files = YES
when_to_transfer_output = ON_EXIT
want_ospool = true
queue video, label from videos.txt
"""
SWEEP_ROWS = [("mouse1", "left"), ("mouse2", "right")]


def test_a_queue_from_a_list_moves_in_and_runs_what_the_original_ran(tmp_path: Path) -> None:
    (tmp_path / "videos.txt").write_text("mouse1, left\nmouse2 right\n")
    (tmp_path / "track.sh").write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    (tmp_path / "track.sh").chmod(0o755)
    root, stderr = _init(tmp_path, "track.sub", SWEEP_SUB)
    assert "not carried over" not in stderr
    original = htcondor2.Submit(SWEEP_SUB)
    # The job is track-job: its generated track.sh would land in the sandbox over the user's track.sh.
    generated = htcondor2.Submit((root / "build" / "htcondor" / "track-job.sub").read_text())
    from pixi_htc.schedulers.htcondor.submit import working_directory

    with working_directory(root):
        assert [(row["video"], row["label"]) for row in original.itemdata()] == SWEEP_ROWS
    with working_directory(root / "build"):
        assert [(row["PixiHtcSweep0"], row["PixiHtcSweep1"]) for row in generated.itemdata()] == SWEEP_ROWS
    # The same files, named from the build directory the generated .sub is submitted from.
    assert generated["transfer_input_files"] == "../videos/$(PixiHtcSweep0).mp4, ../models, ../track.sh"
    # Each process's output lands where HTCondor returned it: beside the .sub (here the project root).
    assert generated["transfer_output_files"] == "$(PixiHtcSweep0).slp"
    assert generated["transfer_output_remaps"] == '"$(PixiHtcSweep0).slp = ../$(PixiHtcSweep0).slp"'
    assert [generated[key] for key in ("log", "output", "error")] == [
        "../logs/track.log",
        "../logs/track_$(Cluster)_$(Process).out",
        "../logs/track_$(Process).err",
    ]
    assert generated["environment"] == original["environment"]
    assert generated["want_ospool"] == "true" and generated["container_image"] == original["container_image"]
    # What the original's executable received, process by process, the generated job gives it.
    for process, (video, label) in enumerate(SWEEP_ROWS):
        (tmp_path / "sandbox").mkdir(exist_ok=True)  # HTCondor puts each input there under its base name
        (tmp_path / "sandbox" / f"{video}.mp4").write_bytes(b"")
        received = run_job_script(
            root, "track-job", "track.sh", ["9", str(process), video, label], tmp_path / "sandbox"
        )
        assert received[-7:] == [
            f"videos/{video}.mp4",
            "--label",
            f"{label} x",
            "--seed",
            str(process),
            "--run",
            "trial-7",
        ]


def _queued(tmp_path: Path, queue: str) -> tuple[dict[str, Any], str]:
    text = SWEEP_SUB.replace("queue video, label from videos.txt", queue).replace("$(label)", "$(video)")
    (tmp_path / "track.sub").write_text(text)
    result = run_cli("init", "--from", "track.sub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((tmp_path / "specs" / "project.yaml").read_text())["jobs"]["track-job"], result.stderr


def test_a_queue_in_list_is_a_sweep(tmp_path: Path) -> None:
    job, stderr = _queued(tmp_path, "queue video in (mouse1 mouse2, mouse3)")
    assert job["sweep"] == {"video": ["mouse1", "mouse2", "mouse3"]} and "not carried over" not in stderr
    assert run_cli("build", cwd=tmp_path).returncode == 0


def test_an_inline_table_of_every_combination_is_a_sweep(tmp_path: Path) -> None:
    job, _ = _queued(tmp_path, "queue video, label from (\n  a, x\n  a, y\n  b, x\n  b, y\n)")
    assert job["sweep"] == {"video": ["a", "b"], "label": ["x", "y"]}


def test_an_inline_table_of_other_rows_becomes_a_list_beside_the_spec(tmp_path: Path) -> None:
    job, stderr = _queued(tmp_path, "queue video, label from (\n  a, x\n  b, y\n)")
    assert job["sweep_from"] == {"file": "specs/track.queue.txt", "variables": ["video", "label"]}
    assert (tmp_path / "specs" / "track.queue.txt").read_text() == "a, x\nb, y\n" and "not carried" not in stderr
    assert run_cli("build", cwd=tmp_path).returncode == 0


def test_a_queue_a_sweep_cannot_say_is_reported(tmp_path: Path) -> None:
    job, stderr = _queued(tmp_path, "queue 3 video in (a b)")
    assert job["sweep"] == {"video": ["a", "b"]} and job["count"] == 3 and "not carried" not in stderr
    (tmp_path / "2").mkdir()
    job, stderr = _queued(tmp_path / "2", "queue video matching dirs *.mp4")
    assert "not carried over: track.sub:16: queue ... matching dirs *.mp4 matches nothing here" in stderr


# The OSPool's older TensorFlow GPU example: a vanilla job Apptainer runs from CVMFS (+SingularityImage),
# GPU floors in require_gpus, the driver as gpus_minimum_runtime, renamed outputs, policies.
CVMFS_SUB = """\
universe = vanilla
+SingularityImage = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/tensorflow-gpu:2.3"
executable = run.sh
arguments = $(Process)
transfer_output_files = out
transfer_output_remaps = "out = results/out_$(Process)"
log = job.log
request_cpus = 1
request_gpus = 1
request_memory = 4GB
request_disk = 4GB
require_gpus = (Capability >= 7.5) && (GlobalMemoryMb >= 16000)
gpus_minimum_runtime = 12
periodic_hold = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > 3600)
periodic_remove = NumJobStarts > 5
+JobDurationCategory = "Medium"
queue 1
"""


def test_an_image_on_cvmfs_moves_in_as_the_container_universe_reads_it(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("echo hi > out\n")
    root, stderr = _init(tmp_path, "tf.sub", CVMFS_SUB)
    assert "not carried over" not in stderr
    original = htcondor2.Submit(CVMFS_SUB)
    generated = htcondor2.Submit((root / "build" / "htcondor" / "tf.sub").read_text())
    # The same image, in the form HTCondor documents for it now, never transferred.
    assert generated["container_image"] == original["MY.SingularityImage"].strip('"')
    assert generated["transfer_container"] == "false"
    same = [
        "request_cpus",
        "request_gpus",
        "request_memory",
        "request_disk",
        "periodic_hold",
        "periodic_remove",
        "MY.JobDurationCategory",
    ]
    assert {k: generated[k] for k in same} == {k: original[k] for k in same}
    # require_gpus and gpus_minimum_runtime say what these say.
    assert (generated["gpus_minimum_capability"], generated["gpus_minimum_memory"]) == ("7.5", "16000MB")
    assert generated["gpus_minimum_runtime"] == "12.0" and "requirements" not in generated
    # The renamed output lands in the same file: results/ of the project root, seen from build/.
    assert original["transfer_output_remaps"] == '"out = results/out_$(Process)"'
    assert generated["transfer_output_remaps"] == '"out = ../results/out_$(Process)"'
    assert generated["log"] == "../job.log" and generated["transfer_input_files"] == "../run.sh"
    assert generated["arguments"] == '"$(Cluster) $(Process)"'
    # run.sh has no #! line and mode 644 in git: it runs through sh, whatever its mode in the sandbox.
    assert (root / "build" / "htcondor" / "tf.sh").read_text().rstrip().endswith('exec sh run.sh "${process}"')


# pixi's documented shapes of composed environments: a default environment made of several features
# (with a solve group), an environment named after no feature, and features never solved alone.
COMPOSED_TOML = """\
[workspace]
name = "ml"
channels = ["conda-forge"]
platforms = ["linux-64", "osx-arm64", { name = "linux-64-cuda-12", platform = "linux-64", cuda = "12" }]

[dependencies]
python = "3.12.*"

[feature.cuda]
platforms = ["linux-64-cuda-12"]

[feature.cuda.dependencies]
pytorch-gpu = "*"

[feature.test.dependencies]
pytest = "*"

[feature.lint.dependencies]
ruff = "*"

[feature.lint.tasks]
lint = "ruff check"

[environments]
default = { features = ["cuda", "test"], solve-group = "main" }
all = ["cuda", "test", "lint"]
lint = { features = ["lint"], no-default-feature = true }
"""


def test_composed_environments_round_trip(tmp_path: Path) -> None:
    from tests.test_pixi import pixi_schema_errors

    root, stderr = _init(tmp_path, "pixi.toml", COMPOSED_TOML)
    assert "not carried over" not in stderr
    generated = _without_pixi_htcs_own(tomllib.loads((root / "build" / "pixi.toml").read_text()))
    assert generated == _run_from_the_root(tomllib.loads(COMPOSED_TOML))
    assert pixi_schema_errors(generated) == []
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())
    assert spec["environments"]["test"]["feature_only"] is True and "feature_only" not in spec["environments"]["lint"]
    # The image installs an environment pixi has, and the default one solves with cuda's __cuda.
    assert spec["container"]["environment"] == "default"


# Sizes as condor_submit reads them (issue #22, real submit files: `request_memory = 2 GB`).
@pytest.mark.parametrize(
    ("written", "unit", "spec"),
    [
        ("2 GB", "MB", "2GB"),
        ("500 MB", "KB", "500MB"),
        ("4g", "MB", "4GB"),
        ("16Gb", "MB", "16GB"),
        ("2048", "MB", "2048MB"),
        ("100000", "KB", "100000KB"),
        ("1.5 GB", "MB", "1536MB"),
        ("0.25T", "MB", "256GB"),
        ("0", "MB", None),
        ("2 GiB", "MB", None),
        ("0.3MB", "MB", None),
        ("$(mem)", "MB", None),
        ("lots", "MB", None),
    ],
)
def test_a_size_is_read_as_condor_submit_reads_it(written: str, unit: str, spec: str | None) -> None:
    from pixi_htc.init.submit_resources import size_of

    assert size_of(written, unit) == spec


def test_sizes_with_blanks_move_in_and_one_that_is_no_size_is_reported(tmp_path: Path) -> None:
    text = "executable = /bin/true\nrequest_memory = 2 GB\nrequest_disk = 1.5 GB\nrequest_gpus = 1\n"
    text += "gpus_minimum_memory = 8 G\nqueue\n"
    (tmp_path / "sizes.sub").write_text(text)
    root, stderr = _init(tmp_path, "sizes.sub", text)
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"]["sizes"]
    assert job["resources"]["memory"] == "2GB" and job["resources"]["disk"] == "1536MB"
    assert job["gpu"]["min_memory"] == "8GB" and "not carried" not in stderr
    generated = htcondor2.Submit((root / "build" / "htcondor" / "sizes.sub").read_text())
    assert generated["request_memory"] == "2GB" and generated["request_disk"] == "1536MB"
    (tmp_path / "2").mkdir()
    root, stderr = _init(tmp_path / "2", "lots.sub", text.replace("2 GB", "lots"))
    assert "not carried over: lots.sub:2: request_memory = lots (not a size the spec can hold" in stderr


def _rows(root: Path, submit: str, directory: Path) -> list[dict[str, str]]:
    """The processes HTCondor's own parser queues for a submit file (our own test text)."""
    from pixi_htc.schedulers.htcondor.submit import working_directory

    with working_directory(directory):
        return [dict(row) for row in htcondor2.Submit(submit).itemdata()]


ROWS = (("-4", "4", "1"), ("-2", "2", "0.5"))


def test_queue_variables_separated_by_blanks_are_the_same_variables(tmp_path: Path) -> None:
    """`queue lo hi from f` is `queue lo, hi from f` (condor_submit takes commas or blanks)."""
    for queue, variables in (("lo hi", ["lo", "hi"]), ("lo hi, step", ["lo", "hi", "step"])):
        here = tmp_path / str(len(variables))
        here.mkdir()
        (here / "bounds.txt").write_text("".join(" ".join(row[: len(variables)]) + "\n" for row in ROWS))
        text = f"executable = /bin/echo\narguments = $(lo) $(hi)\nlog = x.log\nqueue {queue} from bounds.txt\n"
        root, stderr = _init(here, "grid.sub", text)
        from ruamel.yaml import YAML

        job = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"]["grid"]
        assert job["sweep_from"] == {"file": "bounds.txt", "variables": variables} and "not carried" not in stderr
        assert job["command"] == ["/bin/echo", "{lo}", "{hi}"]
        original = _rows(root, text, root)
        generated = _rows(root, (root / "build" / "htcondor" / "grid.sub").read_text(), root / "build")
        assert [list(row.values()) for row in generated] == [list(row.values()) for row in original]


QUEUE_ARGUMENTS = """\
executable = fit.sh
arguments = --ignored
log = fit.log
queue arguments from values.txt
"""


def test_queue_arguments_from_a_file_gives_each_process_its_line_as_arguments(tmp_path: Path) -> None:
    """`queue arguments from FILE`: each line is a process's arguments (the submit command of that
    name). The generated job gives the executable the same words, line by line, as HTCondor would."""
    (tmp_path / "values.txt").write_text("-9 9 0.5\n-8 8 0.25\n")
    (tmp_path / "fit.sh").write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    root, stderr = _init(tmp_path, "fit.sub", QUEUE_ARGUMENTS)
    assert "not carried" not in stderr and "does not build" not in stderr
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"]["fit-job"]
    assert job["sweep_from"] == {"file": "values.txt", "variables": ["arg1", "arg2", "arg3"]}
    assert job["command"] == ["/bin/bash", "fit.sh", "{arg1}", "{arg2}", "{arg3}"]
    original = _rows(root, QUEUE_ARGUMENTS, root)
    generated = _rows(root, (root / "build" / "htcondor" / "fit-job.sub").read_text(), root / "build")
    assert len(generated) == len(original) == 2
    for process, (mine, theirs) in enumerate(zip(generated, original, strict=True)):
        received = run_job_script(root, "fit-job", "fit.sh", ["7", str(process), *mine.values()], tmp_path / "box")
        assert received[-3:] == theirs["arguments"].split()


def test_queue_arguments_inline_and_uneven(tmp_path: Path) -> None:
    (tmp_path / "fit.sh").write_text("echo\n")
    inline = QUEUE_ARGUMENTS.replace("values.txt", "(\n  -1 1\n  -2 2\n)")
    root, stderr = _init(tmp_path, "fit.sub", inline)
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((root / "specs" / "project.yaml").read_text())["jobs"]["fit-job"]
    assert job["sweep_from"] == {"file": "specs/fit.queue.txt", "variables": ["arg1", "arg2"]}
    assert (root / "specs" / "fit.queue.txt").read_text() == "-1 1\n-2 2\n" and "not carried" not in stderr
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "fit.sh").write_text("echo\n")
    (tmp_path / "2" / "values.txt").write_text("-9 9\n-8 8 0.25\n")
    _, stderr = _init(tmp_path / "2", "fit.sub", QUEUE_ARGUMENTS)
    assert "not carried over: fit.sub:4: queue arguments from ...: its lines differ in their number of words" in stderr

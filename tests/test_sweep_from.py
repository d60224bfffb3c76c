"""sweep_from (issue #11): a job queued once per line of a list file of the user's, as HTCondor's
`queue a, b from <file>` does. htcondor2 reads the generated queue statement and the list as
condor_submit would; the generated .sh runs each row for real; every bad line is located in the list."""

from __future__ import annotations

import os
from pathlib import Path

import htcondor2
import pytest

from pixi_htc.pipeline import compile as pipeline
from pixi_htc.schedulers.htcondor.submit import working_directory
from tests.conftest import run_cli, run_job_script

SPEC = """\
schema_version: 1
name: tracks
source: [track.sh]
jobs:
  track:
    runtime: container
    image: docker://ghcr.io/talmolab/sleap:1.3.3
    command: [./track.sh, "videos/{video}.mp4", --label, "{label}", --seed, "{process}"]
    inputs: ["videos/{video}.mp4"]
    outputs: ["{video}.slp", summary.json]
    logs: {output: "logs/track_{process}.out", error: "logs/track_{process}.err"}
    resources: {gpus: 0}
    sweep_from: {file: lists/videos.txt, variables: [video, label]}
"""
# Commas, blanks, a tab, a carriage return: HTCondor separates values by any of them.
LIST = "mouse1, left\nmouse2  right\r\nmouse3\tleft\ncage4/mouse5,right\n"
ROWS = [("mouse1", "left"), ("mouse2", "right"), ("mouse3", "left"), ("cage4/mouse5", "right")]
# The same job on Slurm (which writes its logs where its own options say).
SLURM_SPEC = "\n".join(
    line for line in SPEC.replace("  track:\n", "  track:\n    scheduler: slurm\n").split("\n") if "logs:" not in line
)


def project_root(tmp_path: Path, spec: str = SPEC, listing: str | None = LIST) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(spec)
    (tmp_path / "track.sh").write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    (tmp_path / "track.sh").chmod(0o755)
    if listing is not None:
        (tmp_path / "lists").mkdir()
        (tmp_path / "lists" / "videos.txt").write_text(listing, newline="")
    return tmp_path


def built(tmp_path: Path, **kwargs: str | None) -> Path:
    root = project_root(tmp_path, **kwargs)  # type: ignore[arg-type]
    result = run_cli("build", cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def test_htcondor_queues_one_process_per_line_of_the_list(tmp_path: Path) -> None:
    root = built(tmp_path)
    sub = htcondor2.Submit((root / "build" / "htcondor" / "track.sub").read_text())
    # The list stays the user's file: HTCondor reads it at submit, from the build directory.
    assert sub.getQArgs() == "PixiHtcSweep0, PixiHtcSweep1 from ../lists/videos.txt"
    with working_directory(root / "build"):
        rows = [(row["PixiHtcSweep0"], row["PixiHtcSweep1"]) for row in sub.itemdata()]
    assert rows == ROWS
    assert sub["arguments"] == '"$(Cluster) $(Process) $(PixiHtcSweep0) $(PixiHtcSweep1)"'
    assert sub["transfer_input_files"] == "../videos/$(PixiHtcSweep0).mp4, ../track.sh"
    # The name the user chose per process comes back as it is; the one every process shares is kept apart.
    assert sub["transfer_output_remaps"] == '"summary.json = outputs/track_$(Cluster)_$(Process)_summary.json"'
    assert sub["output"] == "../logs/track_$(Process).out"


def test_each_row_runs_the_command_with_its_values(tmp_path: Path) -> None:
    """The generated .sh, given what HTCondor passes for each row, runs the user's command with them."""
    root = built(tmp_path)
    for process, (video, label) in enumerate(ROWS):
        # HTCondor writes ../videos/$(PixiHtcSweep0).mp4 in the sandbox under its base name.
        (tmp_path / "sandbox").mkdir(exist_ok=True)
        (tmp_path / "sandbox" / f"{video.rsplit('/', 1)[-1]}.mp4").write_text(video)
        received = run_job_script(root, "track", "track.sh", ["7", str(process), video, label], tmp_path / "sandbox")
        assert received[-5:] == [f"videos/{video}.mp4", "--label", label, "--seed", str(process)]
        assert (tmp_path / "sandbox" / "videos" / f"{video}.mp4").read_text() == video


def test_submit_dry_run_lists_the_rows(tmp_path: Path) -> None:
    root = built(tmp_path)
    result = run_cli("submit", "--dry-run", cwd=root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" arguments=")[0] for line in lines] == [
        f"track.{n}: video={video} label={label}" for n, (video, label) in enumerate(ROWS)
    ]


def test_the_model_carries_the_rows_for_status_and_results(tmp_path: Path) -> None:
    root = built(tmp_path)
    project = pipeline.compile_spec(root / "specs" / "project.yaml", root / "build").project
    job = project.jobs[0]
    assert job.sweep_variables == ("video", "label") and job.sweep_rows == ROWS
    assert job.sweep_values("label") == ("left", "right")


def test_every_bad_line_is_located_in_the_list_and_nothing_is_written(tmp_path: Path) -> None:
    listing = "mouse1, left\n\n# a comment\nmouse2 right extra\nmouse3\n../secret left\nmou$e left\n/etc left\n"
    root = project_root(tmp_path, listing=listing)
    result = run_cli("build", cwd=root)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    prefix = "lists/videos.txt:{}: error: jobs.track.sweep_from: "
    expected = [
        (prefix.format("2:1") + "a blank line"),
        (prefix.format("3:1") + "HTCondor reads a '#' line as values"),
        (prefix.format("4:8") + "3 values for 2 variable(s) (video, label); HTCondor would give label 'right extra'"),
        (prefix.format("5:1") + "1 value(s) for 2 variables (video, label)"),
        (prefix.format("6:1") + "video '../secret' is placed in a file path, and would lead out of it"),
        (prefix.format("7:1") + "video 'mou$e' is not valid"),
        (prefix.format("8:1") + "video '/etc' is placed in a file path"),
    ]
    assert len(lines) == len(expected) + 1, result.stderr
    for line, start in zip(lines, expected):
        assert line.startswith(start), (line, start)
    assert "7 error(s); nothing was written." in lines[-1]
    assert not (root / "build").exists()


def test_a_list_that_is_absent_is_read_when_htcondor_submits_but_slurm_needs_it(tmp_path: Path) -> None:
    root = built(tmp_path, listing=None)  # written just before submitting, as OSPool users do
    assert "from ../lists/videos.txt" in (root / "build" / "htcondor" / "track.sub").read_text()
    slurm = tmp_path / "slurm"
    slurm.mkdir()
    root = project_root(slurm, spec=SLURM_SPEC, listing=None)
    result = run_cli("build", cwd=root)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "specs/project.yaml:13:24: error: jobs.track.sweep_from.file: 'lists/videos.txt' "
        "does not exist; a Slurm job array is sized from its lines"
    )


def test_a_slurm_array_has_a_task_per_line(tmp_path: Path) -> None:
    root = built(tmp_path, spec=SLURM_SPEC)
    table = (root / "build" / "slurm" / "track.array.tsv").read_text().splitlines()
    assert table == ["task\tvideo\tlabel", *(f"{n}\t{v}\t{label}" for n, (v, label) in enumerate(ROWS))]
    assert "#SBATCH --array=0-3\n" in (root / "build" / "slurm" / "track.sbatch").read_text()
    # A new line in the list is drift: the array no longer matches it.
    with (root / "lists" / "videos.txt").open("a") as listing:
        listing.write("mouse6 left\n")
    assert run_cli("check", cwd=root).returncode == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda root: os.symlink("/etc/hostname", root / "lists" / "videos.txt"),
            "is a symbolic link or leads outside",
        ),
        (lambda root: (root / "lists" / "videos.txt").mkdir(), "not a regular file"),
        (lambda root: (root / "lists" / "videos.txt").write_bytes(b"caf\xe9 left\n"), "is not UTF-8 text (byte 4)"),
        (lambda root: (root / "lists" / "videos.txt").write_text(""), "the list is empty"),
    ],
    ids=["symlink", "directory", "not-utf8", "empty"],
)
def test_a_list_that_cannot_be_read_is_a_clear_error(tmp_path: Path, make, message: str) -> None:
    root = project_root(tmp_path, listing=None)
    (root / "lists").mkdir()
    make(root)
    result = run_cli("build", cwd=root)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (root / "build").exists()


def test_a_job_takes_its_rows_from_one_place(tmp_path: Path) -> None:
    root = project_root(tmp_path, spec=SPEC.replace("    sweep_from:", "    sweep: {seed: [1, 2]}\n    sweep_from:"))
    result = run_cli("build", cwd=root)
    assert result.returncode == 2
    assert "jobs.track.sweep_from: a job takes its rows from sweep or from sweep_from, not both" in result.stderr


def test_an_inline_sweep_value_cannot_lead_out_of_a_path_either(tmp_path: Path) -> None:
    spec = SPEC.replace(
        "    sweep_from: {file: lists/videos.txt, variables: [video, label]}\n",
        "    sweep: {video: [ok, ../../etc/passwd], label: [/etc/shadow]}\n",
    )
    result = run_cli("build", cwd=project_root(tmp_path, spec=spec))
    assert result.returncode == 2
    assert "jobs.track.sweep.video[1]: '../../etc/passwd' is placed in a file path ({video})" in result.stderr
    # {label} reaches only the command line, where any value is a literal argument.
    assert "/etc/shadow" not in result.stderr


def test_a_sweep_value_cannot_lead_out_of_an_output_remap(tmp_path: Path) -> None:
    """output_remaps places values in a path too: HTCondor would write the output there."""
    spec = SPEC.replace(
        "    sweep_from:", '    output_remaps: {summary.json: "results/{label}_{process}.json"}\n    sweep_from:'
    )
    result = run_cli("build", cwd=project_root(tmp_path, spec=spec, listing="mouse1 ../up\n"))
    assert result.returncode == 2
    assert "lists/videos.txt:1:8: error: jobs.track.sweep_from: label '../up' is placed in a file path" in result.stderr

"""Bring your own jobs (issue #11): shapes of real HTCondor GPU submit files, written as specs, come
back as HTCondor reads the originals. htcondor2.Submit judges every .sub; each case lists the submit
commands the original sets and their values."""

from __future__ import annotations

import subprocess
from pathlib import Path

import htcondor2
import pytest

from pixi_htc.core.errors import SpecError
from tests.test_htcondor import files, project

HEAD = "schema_version: 1\nname: demo\nenvironments:\n  gpu: {cuda: '12'}\n"

# CHTC's GPU guide, with NGC's PyTorch image: no pixi environment in the image, a driver floor of
# its own, a capability floor, variables for the payload, streamed output, retries, an extra clause.
NGC_PYTORCH = (
    HEAD
    + """\
site: chtc
source: [train.py]
jobs:
  ngc:
    runtime: container
    image: docker://nvcr.io/nvidia/pytorch:24.01-py3
    command: [python, train.py, --epochs, 3]
    outputs: [model.pt]
    resources: {cpus: 4, gpus: 1, memory: 16GB, disk: 40GB}
    gpu: {driver: "12.2", min_capability: 8.0, min_memory: 20GB}
    chtc: {job_length: medium}
    env: {OMP_NUM_THREADS: "4", WANDB_MODE: offline, GREETING: "it's a \\"test\\""}
    stream_output: true
    max_retries: 3
    requirements: ['(Machine != "gpu-bad.example.org")']
    batch_name: ngc-pytorch
"""
)
NGC_PYTORCH_SUB = {
    "universe": "container",
    "container_image": "docker://nvcr.io/nvidia/pytorch:24.01-py3",
    "transfer_input_files": "../train.py",
    "transfer_output_files": "model.pt",
    "request_cpus": "4",
    "request_gpus": "1",
    "request_memory": "16GB",
    "request_disk": "40GB",
    "gpus_minimum_capability": "8.0",
    "gpus_minimum_memory": "20GB",
    # gpu.driver is HTCondor's gpus_minimum_runtime (each GPU's MaxSupportedVersion), not a clause.
    "gpus_minimum_runtime": "12.2",
    "requirements": '((Machine != "gpu-bad.example.org"))',
    "MY.is_resumable": None,
    "want_ospool": None,
    "MY.WantGPULab": "true",
    "MY.GPUJobLength": '"medium"',
    "environment": '"GREETING=\'it\'\'s a ""test""\' OMP_NUM_THREADS=4 WANDB_MODE=offline"',
    "stream_output": "true",
    "max_retries": "3",
    "batch_name": "ngc-pytorch",
}

# An OSPool-style sweep over input files: one video per process, attributes of the user's own,
# a checkpoint directory that is also an output, hold-and-release policy.
PER_PROCESS_INPUTS = (
    HEAD
    + """\
site: ospool
source: []
jobs:
  track:
    runtime: container
    image: docker://ghcr.io/talmolab/sleap:1.3.3
    command: [sleap-track, "videos/{video}.mp4", -o, "{video}.slp"]
    inputs: ["videos/{video}.mp4", models]
    outputs: ["{video}.slp", summary.json]
    gpu: {driver: 11.8}
    attributes: {Priority: 5, Urgent: false}
    ospool: {duration: long, project: MyLab}
    checkpoint: {files: [ckpt/state], exit_code: 85}
    on_exit_hold: (ExitCode != 0) && (ExitCode != 85)
    periodic_release: (NumJobStarts < 3) && ((time() - EnteredCurrentStatus) > 600)
    max_retries: 3
    retry_until: ExitCode == 0 || ExitCode == 2
    logs: {log: logs/track.log, output: "logs/track_{video}_{process}.out", error: "logs/track_{process}.err"}
    sweep: {video: [mouse1, mouse2]}
"""
)
PER_PROCESS_INPUTS_SUB = {
    "container_image": "docker://ghcr.io/talmolab/sleap:1.3.3",
    "transfer_input_files": "../videos/$(PixiHtcSweep0).mp4, ../models",
    "MY.ProjectName": '"MyLab"',
    "MY.JobDurationCategory": '"Long"',
    "MY.Priority": "5",
    "MY.Urgent": "false",
    "MY.WantGPULab": None,
    "transfer_checkpoint_files": "ckpt/state",
    "checkpoint_exit_code": "85",
    "on_exit_hold": "(ExitCode != 0) && (ExitCode != 85)",
    "periodic_release": "(NumJobStarts < 3) && ((time() - EnteredCurrentStatus) > 600)",
    "gpus_minimum_runtime": "11.8",
    "requirements": None,
    "max_retries": "3",
    "retry_until": "ExitCode == 0 || ExitCode == 2",
    # The user's own log names, relative to the project root like inputs; {video} is each process's.
    "log": "../logs/track.log",
    "output": "../logs/track_$(PixiHtcSweep0)_$(Process).out",
    "error": "../logs/track_$(Process).err",
    # Outputs the user named per process come back under their names; one named alike in every
    # process is kept apart under its process's name.
    "transfer_output_files": "$(PixiHtcSweep0).slp, summary.json",
    "transfer_output_remaps": '"summary.json = outputs/track_$(Cluster)_$(Process)_summary.json"',
}


# The OSPool's TensorFlow GPU example: an image unpacked on CVMFS (which execute points read in place,
# so it is never transferred), results renamed per process, hold and removal policies of its own.
OSPOOL_CVMFS = (
    HEAD
    + """\
site: ospool
source: [run.sh]
jobs:
  tf:
    runtime: apptainer
    image: /cvmfs/singularity.opensciencegrid.org/opensciencegrid/tensorflow-gpu:2.3
    command: [./run.sh, "{process}"]
    outputs: [out, "log_{process}.txt"]
    output_remaps: {out: "results/out_{process}", "log_{process}.txt": "results/logs/run_{process}.txt"}
    resources: {gpus: 1, memory: 4GB, disk: 4GB}
    gpu: {driver: "12.0", min_capability: 7.5}
    requirements: [HAS_SINGULARITY == True]
    ospool: {duration: medium}
    on_exit_remove: (ExitBySignal == False) && (ExitCode == 0)
    periodic_hold: (JobStatus == 2) && ((time() - EnteredCurrentStatus) > 3600)
    periodic_remove: NumJobStarts > 5
"""
)
OSPOOL_CVMFS_SUB = {
    "universe": "container",
    "container_image": "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/tensorflow-gpu:2.3",
    "transfer_container": "false",
    "transfer_output_files": "out, log_$(Process).txt",
    # Relative to the build directory the .sub is submitted from: the project root's results/.
    "transfer_output_remaps": '"out = ../results/out_$(Process); log_$(Process).txt = ../results/logs/run_$(Process).txt"',
    "gpus_minimum_runtime": "12.0",
    "requirements": "(HAS_SINGULARITY == True)",
    "MY.JobDurationCategory": '"Medium"',
    "on_exit_remove": "(ExitBySignal == False) && (ExitCode == 0)",
    "periodic_hold": "(JobStatus == 2) && ((time() - EnteredCurrentStatus) > 3600)",
    "periodic_remove": "NumJobStarts > 5",
}


@pytest.mark.parametrize(
    ("spec", "job", "expected"),
    [
        (NGC_PYTORCH, "ngc", NGC_PYTORCH_SUB),
        (PER_PROCESS_INPUTS, "track", PER_PROCESS_INPUTS_SUB),
        (OSPOOL_CVMFS, "tf", OSPOOL_CVMFS_SUB),
    ],
    ids=["ngc-pytorch", "per-process-inputs", "ospool-cvmfs"],
)
def test_real_submit_shapes_come_back(tmp_path: Path, spec: str, job: str, expected: dict[str, str]) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(spec)
    sub = htcondor2.Submit(files(project(path))[f"build/htcondor/{job}.sub"])
    assert {key: sub.get(key) for key in expected} == expected


def test_someone_elses_image_activates_nothing(tmp_path: Path) -> None:
    """NGC's image has no /app/entrypoint.sh: sourcing it would kill the job before the payload."""
    path = tmp_path / "project.yaml"
    path.write_text(NGC_PYTORCH)
    p = project(path)
    assert p.jobs[0].environment is None
    script = files(p)["build/htcondor/ngc.sh"]
    assert "/app/entrypoint.sh" not in script and "activate.sh" not in script
    assert script.rstrip().endswith("exec python train.py --epochs 3")


def test_per_process_inputs_take_each_sweep_value(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(PER_PROCESS_INPUTS)
    sub = htcondor2.Submit(files(project(path))["build/htcondor/track.sub"])
    rows = [dict(row) for row in sub.itemdata()]
    assert [sub["transfer_input_files"].replace("$(PixiHtcSweep0)", row["PixiHtcSweep0"]) for row in rows] == [
        "../videos/mouse1.mp4, ../models",
        "../videos/mouse2.mp4, ../models",
    ]


def test_attribute_strings_are_classad_literals(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(
        HEAD + "jobs:\n  t:\n    runtime: container\n    command: [x]\n"
        "    attributes: {Note: 'a \"quoted\" \\ value'}\n"
    )
    sub = htcondor2.Submit(files(project(path))["build/htcondor/t.sub"])
    assert sub["MY.Note"] == '"a \\"quoted\\" \\\\ value"'
    import classad2

    assert classad2.ExprTree(sub["MY.Note"]).eval() == 'a "quoted" \\ value'


def test_the_users_code_is_transferred_from_where_it_lives(tmp_path: Path) -> None:
    """Issue #11: `source` names the repository's code; the .sub reaches it from the build directory,
    and nothing of it is copied into build/ (a copy would double every diff)."""
    path = tmp_path / "project.yaml"
    path.write_text(
        HEAD + "source: [src, configs/train.yaml]\n" + "jobs:\n  t:\n    runtime: container\n"
        "    command: [python, src/train.py, --config, train.yaml]\n"
        "    inputs: [data/videos.tar.gz, build/MNIST_data.tar.gz, 'osdf:///ospool/ap40/data/x.tar.gz']\n"
    )
    out = files(project(path))
    sub = htcondor2.Submit(out["build/htcondor/t.sub"])
    assert sub["transfer_input_files"] == (
        "../data/videos.tar.gz, MNIST_data.tar.gz, osdf:///ospool/ap40/data/x.tar.gz, ../src, ../configs/train.yaml"
    )
    assert "python ./src/torch_detect_GPU.py" not in out["build/htcondor/t.sh"]


def test_the_bundled_trainer_is_the_default_source(tmp_path: Path) -> None:
    from pixi_htc.artifacts.base import Layout
    from pixi_htc.artifacts.payload import render as payload

    path = tmp_path / "project.yaml"
    path.write_text(HEAD + "jobs:\n  t: {runtime: container, command: [python, src/torch_MNIST.py]}\n")
    assert htcondor2.Submit(files(project(path))["build/htcondor/t.sub"])["transfer_input_files"] == "src"
    assert [str(a.path) for a in payload(project(path), Layout())] == [
        "build/src/aggregate.py",
        "build/src/torch_MNIST.py",
        "build/src/torch_detect_GPU.py",
    ]
    path.write_text(HEAD + "source: [code]\njobs:\n  t: {runtime: container, command: [python, code/x.py]}\n")
    assert payload(project(path), Layout()) == []


def test_source_inside_the_chosen_build_directory_is_refused(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(HEAD + "source: [gen/code]\n")
    result = run_cli("build", "--out", "gen", cwd=tmp_path)
    assert result.returncode == 2 and "source[0]: 'gen/code' is inside the build directory" in result.stderr
    assert not (tmp_path / "gen").exists()


def site_job(site: str, runtime: str, extra: str) -> str:
    return HEAD + f"{site}jobs:\n  t:\n    runtime: {runtime}\n    command: [x]\n{extra}"


@pytest.mark.parametrize(
    ("site", "runtime", "extra", "expected"),
    [
        # A generic pool gets nothing it did not ask for: no GPU Lab, no backfill, no OS clause in a container.
        (
            "",
            "container",
            "",
            {
                "MY.WantGPULab": None,
                "MY.GPUJobLength": None,
                "MY.is_resumable": None,
                "requirements": None,
                "gpus_minimum_runtime": "12.0",
            },
        ),
        ("site: chtc\n", "container", "", {"MY.WantGPULab": "true", "MY.GPUJobLength": None, "MY.is_resumable": None}),
        (
            "site: chtc\n",
            "container",
            "    chtc: {job_length: long, want_ospool: true, want_campus_pools: true}\n",
            {"MY.GPUJobLength": '"long"', "want_ospool": "true", "want_campus_pools": "true", "MY.is_resumable": None},
        ),
        ("site: chtc\n", "container", "    checkpoint: {files: [c.pt]}\n", {"MY.is_resumable": "true"}),
        (
            "site: chtc\n",
            "container",
            "    checkpoint: {files: [c.pt]}\n    chtc: {resumable: false}\n",
            {"MY.is_resumable": None},
        ),
        ("site: ospool\n", "container", "", {"MY.WantGPULab": None, "MY.JobDurationCategory": None}),
        # The lesson's OS clause matters where the job runs on the host OS: the vanilla universe.
        ("", "pixi-pack", "", {"requirements": "(OpSysMajorVer > 7)", "gpus_minimum_runtime": "12.0"}),
    ],
    ids=["generic", "chtc", "chtc-long", "chtc-checkpoint", "chtc-not-resumable", "ospool", "vanilla-os-clause"],
)
def test_each_site_adds_only_its_own_attributes(
    tmp_path: Path, site: str, runtime: str, extra: str, expected: dict[str, str | None]
) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(site_job(site, runtime, extra))
    sub = htcondor2.Submit(files(project(path))["build/htcondor/t.sub"])
    assert {key: sub.get(key) for key in expected} == expected


def test_a_key_for_another_site_is_a_located_error(tmp_path: Path) -> None:
    from pixi_htc.core.errors import SpecError

    path = tmp_path / "project.yaml"
    path.write_text(site_job("site: ospool\n", "container", "    chtc: {job_length: long}\n"))
    with pytest.raises(SpecError) as error:
        project(path)
    assert "project.yaml:10:5: error: jobs.t.chtc: 'chtc' is for site: chtc, and this spec's site is ospool" in str(
        error.value
    )


def test_a_file_the_trainer_appends_to_must_be_checkpointed(tmp_path: Path) -> None:
    """Issue #12: an evicted job restarts with its checkpoint files only; metrics.jsonl, appended each
    epoch, would lose every epoch before the eviction."""
    from pixi_htc.core.errors import SpecError

    job = (
        "jobs:\n  t:\n    runtime: container\n    command: [python, src/torch_MNIST.py, --checkpoint, c.pt, --checkpoint-exit]\n"
        "    outputs: [mnist_cnn.pt, metrics.jsonl]\n    checkpoint: {files: [c.pt]}\n"
    )
    path = tmp_path / "project.yaml"
    path.write_text(HEAD + job)
    with pytest.raises(SpecError) as error:
        project(path)
    assert ":10:25: error: jobs.t.checkpoint.files: the trainer appends to metrics.jsonl every epoch" in str(
        error.value
    )
    path.write_text(HEAD + job.replace("files: [c.pt]", "files: [c.pt, metrics.jsonl]"))
    sub = htcondor2.Submit(files(project(path))["build/htcondor/t.sub"])
    assert sub["transfer_checkpoint_files"] == "c.pt, metrics.jsonl"


def test_jobs_in_images_of_their_own_need_no_environment(tmp_path: Path) -> None:
    """Issue #11: 11 of 21 real submit files run someone else's image. Such a spec needs no placeholder
    environment, and gets no workspace, Dockerfile, lock or image jobs it did not ask for."""
    from pixi_htc.artifacts.base import Layout
    from pixi_htc.pipeline.compile import render_all

    path = tmp_path / "project.yaml"
    path.write_text(
        "schema_version: 1\nname: videos\nsource: []\njobs:\n  track:\n    runtime: container\n"
        "    image: docker://ghcr.io/talmolab/sleap:1.3.3\n    command: [sleap-track, x.mp4]\n"
        "    gpu: {driver: '11.8'}\n"
    )
    p = project(path)
    out = {str(a.path): a.text for a in render_all(p, Layout())}
    assert sorted(out) == [
        ".github/workflows/pixi-htc.yml",
        "build/htcondor/interact.sh",
        "build/htcondor/submit.sh",
        "build/htcondor/track.sh",
        "build/htcondor/track.sub",
    ]
    from ruamel.yaml import YAML

    assert list(YAML(typ="safe").load(out[".github/workflows/pixi-htc.yml"])["jobs"]) == ["check"]
    sub = htcondor2.Submit(out["build/htcondor/track.sub"])
    assert sub["gpus_minimum_runtime"] == "11.8" and "requirements" not in sub and "transfer_input_files" not in sub


def test_submit_sh_creates_the_directories_the_users_log_names_need(tmp_path: Path) -> None:
    """HTCondor does not create log directories; condor_submit fails without them."""
    path = tmp_path / "project.yaml"
    path.write_text(PER_PROCESS_INPUTS)
    root = tmp_path / "root"
    (root / "build" / "htcondor").mkdir(parents=True)
    (root / "build" / "htcondor" / "submit.sh").write_text(files(project(path))["build/htcondor/submit.sh"])
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "condor_submit").write_text('#!/bin/bash\necho "$PWD $*"\n')
    (stand_in / "condor_submit").chmod(0o755)
    result = subprocess.run(
        ["bash", "build/htcondor/submit.sh", "track"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": f"{stand_in}:/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{root / 'build'} htcondor/track.sub\n"
    assert (root / "logs").is_dir() and (root / "build" / "outputs").is_dir()


def test_a_sweeps_shared_output_name_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(PER_PROCESS_INPUTS.replace('output: "logs/track_{video}_{process}.out"', "output: logs/track.out"))
    with pytest.raises(SpecError) as error:
        project(path)
    assert "jobs.track.logs.output: the sweep queues 2 processes, and each would write logs/track.out" in str(
        error.value
    )


def test_submit_sh_creates_the_directories_output_remaps_name(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(OSPOOL_CVMFS)
    script = files(project(path))["build/htcondor/submit.sh"]
    assert "tf) directories=(../results ../results/logs logs) ;;" in script


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            'output_remaps: {outt: "results/out_{process}"',
            "jobs.tf.output_remaps.outt: 'outt' is not one of outputs; did you mean 'out'?",
        ),
        ('output_remaps: {out: "../out_{process}"', "jobs.tf.output_remaps.out: '../out_{process}' is not valid"),
        ('output_remaps: {out: "res_{dataset}/out"', "jobs.tf.output_remaps.out: 'res_{dataset}/out' is not valid"),
        (
            'output_remaps: {out: "results/out_{sed}"',
            "jobs.tf.output_remaps.out: '{sed}' names no sweep variable; did you mean 'seed'?",
        ),
        (
            'output_remaps: {out: "results/out"',
            "jobs.tf.output_remaps.out: the sweep queues 2 processes, and each would "
            "write results/out: put {process} in the name",
        ),
    ],
    ids=[
        "not-an-output",
        "leaves-the-project",
        "placeholder-in-a-directory",
        "unknown-placeholder",
        "shared-by-a-sweep",
    ],
)
def test_output_remaps_are_checked(tmp_path: Path, change: str, message: str) -> None:
    spec = OSPOOL_CVMFS.replace('output_remaps: {out: "results/out_{process}"', change).replace(
        '    command: [./run.sh, "{process}"]\n', '    command: [./run.sh, "{seed}"]\n    sweep: {seed: [1, 2]}\n'
    )
    path = tmp_path / "project.yaml"
    path.write_text(spec)
    with pytest.raises(SpecError) as caught:
        project(path)
    assert any(message in d.format("p") for d in caught.value.diagnostics), str(caught.value)

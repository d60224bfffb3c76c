"""build/htcondor/: per job a .sub and a .sh, plus submit.sh and interact.sh; and build/pack.sh.

Decisions live here (requirements, transfers, the queue table); the templates only lay them out.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from typing import Literal

from ...artifacts.base import Artifact, Layout, header
from ...core.defaults import PIXI_PACK_MIN
from ...core.templating import render as render_template
from ...spec.model import PLACEHOLDER, TARBALL, Job, Project, contents, sandbox_path
from ..common import from_submit_dir, shell_word
from .sites import SITE_LINES

# The seed lesson's clause ("no CentOS 7, for pty support"): it matters to vanilla-universe jobs,
# which run on the host OS, not inside a container.
OS_REQUIREMENT = "(OpSysMajorVer > 7)"
QUEUE_VARIABLE_PREFIX = "PixiHtcSweep"
WRAPPERS = (
    ("submit.sh", False, "Submit one job to HTCondor as a batch job"),
    ("interact.sh", True, "Start one job as an interactive session, to debug it by hand"),
)


@dataclass(frozen=True, kw_only=True)
class SubmitPlan:
    """Everything a job's .sub and .sh say, decided once."""

    job: Job
    universe: str
    image: str | None
    image_note: str  # the comment above container_image: why this reference
    transfer_container: bool  # False for an image execute points read in place (CVMFS)
    arguments: tuple[str, ...]
    transfer_inputs: tuple[str, ...]
    transfer_outputs: tuple[str, ...]
    output_remaps: tuple[tuple[str, str], ...]
    requirements: str
    minimum_runtime: str | None  # gpus_minimum_runtime, the CUDA version the GPUs' driver must run
    site_lines: list[tuple[str, str]]  # what the site adds (compiler/sites.py)
    command: str
    runs_gpu_checks: bool
    activation: Literal["image", "pixi-pack", "none"]  # how the .sh gets its environment
    archive_name: str | None
    logs: tuple[tuple[str, str], ...]  # log, output, error as the .sub names them
    directories: tuple[str, ...]  # what must exist in the submit directory before condor_submit
    placements: tuple[str, ...]  # shell words of inputs' places that may be in a subdirectory
    restores: tuple[tuple[str, str], ...]  # the same for checkpoint files in a subdirectory
    archives: tuple[str, ...]  # inputs the .sh unpacks, where they are once placed
    initialdir: str | None = None  # as the .sub names it, from the build directory


# The CUDA floor is HTCondor's own submit command, gpus_minimum_runtime (new in 23.5, in the 24.0 LTS
# and later: docs/version-history/feature-versions-23-x.rst, HTCONDOR-2201). condor_submit turns
# `gpus_minimum_runtime = 12.4` into GPUsMinRuntime = 12040 (major * 1000 + minor * 10) and adds
# `MaxSupportedVersion >= GPUsMinRuntime` to RequireGPUs, which Requirements checks against each GPU
# the slot offers (countMatches(MY.RequireGPUs, TARGET.AvailableGPUs) >= RequestGPUs):
# src/condor_utils/submit_utils.cpp, SetRequestGpus and SetResourceRequirements. MaxSupportedVersion
# is what the driver reports as cudaDriverGetVersion, the newest CUDA it runs, the same number the
# machine's GPUs_DriverVersion writes as 12.4 (src/gpu/condor_gpu_discovery.cpp,
# setPropertiesFromBasicProps). So an environment's cuda and gpu.driver, both "the lowest CUDA version
# the driver must support" (a CUDA version such as 12.4, never a driver release such as 550), are
# this command, which checks the GPUs the job gets, where the old clause read the machine's.
# require_gpus that names MaxSupportedVersion itself makes condor_submit leave the floor out.
def minimum_runtime(project: Project, job: Job) -> str | None:
    """gpus_minimum_runtime: gpu.driver, else the environment's CUDA (12 -> 12.0); None without a GPU."""
    if job.resources.gpus <= 0:
        return None
    if job.gpu.driver is not None:
        return job.gpu.driver
    return None if job.environment is None else project.environment(job.environment).driver_version


def requirements(project: Project, job: Job) -> str:
    """ONE requirements expression. The lesson files set `requirements` twice, and HTCondor keeps the
    last, silently dropping the GPU driver check; every constraint goes into this single line (the
    CUDA floor is gpus_minimum_runtime, above)."""
    clauses = []
    if job.runtime == "pixi-pack" and job.os_requirement:
        clauses.append(OS_REQUIREMENT)
    clauses.extend(f"({clause})" for clause in job.requirements)
    return " && ".join(clauses)


def from_initialdir(path: str, job: Job, layout: Layout) -> str:
    """A path as the .sub names it from the build directory, named from the job's initialdir instead:
    HTCondor reads input, output, error, log and the transfer lists from initialdir, and executable
    and a queue statement's file from the directory condor_submit runs in. (A macro such as
    $(Process) is one path component here, as it is to HTCondor.)"""
    if job.initialdir is None or "://" in path:
        return path
    named = posixpath.relpath(posixpath.normpath(f"/r/{layout.build_dir}/{path}"), f"/r/{job.initialdir}")
    return named + "/" if path.endswith("/") else named  # `dir/`: its contents, as HTCondor reads it


def transfer_path(path: str, job: Job, process: str = "Process") -> str:
    """An input as the .sub names it: {name} becomes the sweep variable's (or HTCondor's) macro. A DAG
    node is a cluster of one process: its {process} is the macro the node's VARS set (dag.py)."""
    macros = dict(zip(job.sweep_variables, queue_variables(job))) | {"process": process, "cluster": "Cluster"}
    return PLACEHOLDER.sub(lambda m: f"$({macros[m.group(1)]})", path)


def image(project: Project, job: Job) -> str | None:
    """container_image: the job's own, or the project's Docker image or .sif; None for pixi-pack and host."""
    if job.runtime in ("pixi-pack", "host"):
        return None
    if job.image is not None:
        return job.image
    return project.sif_reference if job.runtime == "apptainer" else project.container.docker_reference


def docker_image(reference: str | None) -> str | None:
    """The docker universe's docker_image names an image without the docker:// scheme."""
    return None if reference is None else reference.removeprefix("docker://")


def image_note(project: Project, job: Job) -> str:
    if job.image is not None and job.image.startswith("/cvmfs/"):
        return "The job's own image (jobs.<name>.image), unpacked on CVMFS: execute points read it in place."
    if job.image is not None:
        return "The job's own image (jobs.<name>.image)."
    if not project.container.tag_derived:
        return "The tag the spec sets (container.tag): execute points cache images by tag, so change it with the image."
    cached = (
        "OSDF caches files by name"
        if job.runtime == "apptainer" and project.staging
        else "Execute points cache images by tag"
    )
    return f"{cached}: the name carries a digest of what the image is built from, so a new image gets a new name."


LOG_SUFFIXES = (("log", "log"), ("output", "out"), ("error", "err"))
NODE_LOGS = "logs/dag"  # where a DAG node's .sub names its event log, stdout and stderr


def log_files(job: Job, layout: Layout, process: str = "Process", folder: str = "logs") -> tuple[tuple[str, str], ...]:
    """Where HTCondor writes the event log, stdout and stderr: the spec's names, else logs/<job>_...
    (a DAG node's under logs/dag/, so that status tells the DAG's runs from the job's own submissions)."""
    own = dict(job.logs)
    return tuple(
        (
            key,
            from_submit_dir(transfer_path(own[key], job, process), layout)
            if key in own
            else f"{folder}/{job.name}_$(Cluster)_$({process}).{suffix}",
        )
        for key, suffix in LOG_SUFFIXES
    )


# Files in subdirectories. HTCondor writes each entry of transfer_input_files (and, after an eviction,
# each spooled checkpoint file) in the sandbox's top level under its base name unless the job sets
# preserve_relative_paths (htcondor-jdl.rst; file_transfer.cpp, ExpandFileTransferList: the
# destination is condor_basename(src) without it). That command is no way out here: it keeps the path
# as the .sub names it, relative to the submit directory, and a project-root file is ../videos/a.mp4
# from build/: the starter refuses any path with a '..' segment (FileTransfer::LegalPathInSandbox,
# "Attempt to write to illegal sandbox path") and the job goes on hold. It would also move outputs
# named in a subdirectory (transfer_output_files, not remapped) to that path under build/. So the
# .sub transfers by base name as it always has, and before the command runs the .sh links each input
# at its path (the base name stays, where a job moved in from a submit file reads it; a sweep value
# with a '/' in it puts {video}.mp4 in a directory too, so the .sh looks at the path it expands) and
# moves checkpoint files back into their directories when HTCondor has restored them
# (transfer_checkpoint_files spools ckpt/state as state; the resumed job finds ckpt/state again).
# job_rules.sandbox_problems refuses two files that would share a base name.
def placed(path: str) -> tuple[str, str] | None:
    """(name it arrives under, its directory) as shell words, for a checkpoint file in a subdirectory."""
    directory, _, name = path.rpartition("/")
    return (shell_word(name), shell_word(directory)) if directory else None


def may_be_in_a_directory(place: str, job: Job) -> bool:
    return "/" in place or bool(set(PLACEHOLDER.findall(place)) & set(job.sweep_variables))


def plan(
    project: Project, job: Job, layout: Layout, *, node: tuple[str, ...] | None = None, process: str = "Process"
) -> SubmitPlan:
    """With `node`, the plan of a DAG node's .sub (dag.py): `node` is what arrives from the jobs this one
    runs after, and every output lands in outputs/<job>/<process>/, where the next job reads it."""
    container = job.runtime not in ("pixi-pack", "host")
    inputs = [
        from_submit_dir(transfer_path(path, job, process), layout)
        for path in (*job.inputs, *project.source_paths(layout.build_dir))
    ] + list(node or ())
    archive_name = None
    if job.runtime == "pixi-pack":
        inputs.insert(0, project.pack.archive or project.pack.built)  # as archive_name: named by the pipeline
        archive_name = project.pack.archive_name
    # Sweep processes would overwrite each other's outputs in the submit directory: an output named
    # the same in every process lands under a name of its process's. A name with a placeholder is the
    # user's own choice of name per process, and stays as it is. The spec's output_remaps win over both.
    outputs = tuple(transfer_path(name, job, process) for name in job.outputs)
    own = {name: from_submit_dir(transfer_path(target, job, process), layout) for name, target in job.output_remaps}
    if node is not None:
        own |= {
            name: f"outputs/{job.name}/$({process})/{transfer_path(name, job, process)}"
            for name in job.outputs
            if name not in own
        }
    remaps = tuple(
        (
            transfer_path(name, job, process),
            own[name] if name in own else f"outputs/{job.name}_$(Cluster)_$(Process)_{name}",
        )
        for name in job.outputs
        if name in own or (job.swept and not PLACEHOLDER.search(name))
    )
    # A directory's contents (data/) land in the sandbox's top level, where HTCondor writes them.
    places = [sandbox_path(path, layout.build_dir) for path in job.inputs if not contents(path)]
    restores = [placed(path) for path in (job.checkpoint.files if job.checkpoint else ())]
    logs = log_files(job, layout, process, "logs" if node is None else NODE_LOGS)
    directories = sorted(
        {
            directory
            for path in (*(p for _, p in logs), *(t for _, t in remaps))
            if "/" in path
            for directory in per_row(path.rpartition("/")[0], job)
        }
    )
    planned = SubmitPlan(
        job=job,
        logs=logs,
        directories=tuple(directories),
        placements=tuple(shell_word(place) for place in places if may_be_in_a_directory(place, job)),
        restores=tuple(p for p in restores if p),
        archives=tuple(place for place in places if TARBALL.search(place)),
        universe=("docker" if job.universe == "docker" else "container") if container else "vanilla",
        image=docker_image(image(project, job)) if container and job.universe == "docker" else image(project, job),
        image_note="" if not container else image_note(project, job),
        transfer_container=not (job.image or "").startswith("/cvmfs/"),
        arguments=("$(Cluster)", f"$({process})", *(f"$({name})" for name in queue_variables(job))),
        transfer_inputs=tuple(inputs),
        transfer_outputs=outputs,
        output_remaps=remaps,
        requirements=requirements(project, job),
        minimum_runtime=minimum_runtime(project, job),
        site_lines=SITE_LINES[project.site](job),
        command=" ".join(shell_word(argument) for argument in job.command),
        runs_gpu_checks=job.resources.gpus > 0 and project.source is None,
        activation="pixi-pack" if job.runtime == "pixi-pack" else ("none" if job.environment is None else "image"),
        archive_name=archive_name,
    )
    if job.initialdir is None or node is not None:  # a DAG node's outputs go where the next job reads them
        return planned
    return replace(
        planned,
        initialdir=".." if job.initialdir == "." else from_submit_dir(job.initialdir, layout),
        logs=tuple((key, from_initialdir(path, job, layout)) for key, path in logs),
        transfer_inputs=tuple(from_initialdir(path, job, layout) for path in inputs),
        output_remaps=tuple((name, from_initialdir(target, job, layout)) for name, target in remaps),
    )


def per_row(directory: str, job: Job) -> set[str]:
    """A directory as each process names it: one per sweep row where a sweep variable's macro is in
    it (logs under outputs/{job}/), made before condor_submit since HTCondor makes none. sweep_from's
    rows are read at build (sweep_list.py; the file must then exist there)."""
    macros = queue_variables(job)
    if not any(f"$({macro})" in directory for macro in macros):
        return {directory}
    found = set()
    for row in job.sweep_rows:
        named = directory
        for macro, value in zip(macros, row):
            named = named.replace(f"$({macro})", str(value))
        found.add(named)
    return found


def queue_variables(job: Job) -> tuple[str, ...]:
    """The macro names the queue statement sets, one per sweep variable in the job's order. The
    compiler chooses them: a user's name as a macro could be `executable`, `requirements` or any
    other submit command, and would replace it for every job."""
    return tuple(f"{QUEUE_VARIABLE_PREFIX}{index}" for index in range(len(job.sweep_variables)))


def queue_table(job: Job) -> list[str]:
    """The rows of `queue a, b from ( ... )`: one per combination, comma-separated. (A sweep_from
    list stays in its file, which HTCondor reads when the job is submitted.)"""
    return [", ".join(row) for row in job.sweep_rows] if job.sweep_from is None else []


def render(project: Project, layout: Layout) -> list[Artifact]:
    artifacts: list[Artifact] = []
    plans = [plan(project, job, layout) for job in project.jobs_on("htcondor")]
    for p in plans:
        base = layout.build("htcondor", p.job.name)
        artifacts.append(
            Artifact(
                path=base.with_suffix(".sub"),
                text=render_template(
                    "job.sub.j2",
                    p=p,
                    job=p.job,
                    header=header(project),
                    queue_rows=queue_table(p.job),
                    queue_file=None if p.job.sweep_from is None else from_submit_dir(p.job.sweep_from.file, layout),
                    queue_variables=list(zip(queue_variables(p.job), p.job.sweep_variables)),
                ),
            )
        )
        artifacts.append(
            Artifact(
                path=base.with_suffix(".sh"),
                executable=True,
                text=render_template("job.sh.j2", p=p, job=p.job, header=header(project)),
            )
        )
    if plans:
        for script, interactive, purpose in WRAPPERS:
            artifacts.append(
                Artifact(
                    path=layout.build("htcondor", script),
                    executable=True,
                    text=render_template(
                        "wrapper.sh.j2",
                        jobs=[(p.job.name, p.directories) for p in plans],
                        header=header(project),
                        script=script,
                        interactive=interactive,
                        purpose=purpose,
                    ),
                )
            )
    chtc = project.site == "chtc" and project.staging is not None
    if project.environments:
        artifacts.append(
            Artifact(
                path=layout.build("pack.sh"),
                executable=True,
                text=render_template(
                    "pack.sh.j2",
                    pack=project.pack,
                    staging=project.staging,
                    header=header(project),
                    chtc=chtc,
                    pack_pattern=staged_pattern(project.pack.staged_name, "environment-", ".sh"),
                    pixi_pack_min=PIXI_PACK_MIN,
                ),
            )
        )
    if project.stages_sif:
        sif_pattern = (
            staged_pattern(project.sif_name, f"{project.container.name}-{project.container.environment}-", ".sif")
            if project.container.tag_derived
            else None
        )  # a tag the spec names is the user's to remove
        artifacts.append(
            Artifact(
                path=layout.build("stage-sif.sh"),
                executable=True,
                text=render_template(
                    "stage-sif.sh.j2", project=project, header=header(project), chtc=chtc, sif_pattern=sif_pattern
                ),
            )
        )
    if chtc and project.environments and (project.pack.staged_name or project.stages_sif):
        scripts = ["pack.sh"] + (["stage-sif.sh"] if project.stages_sif else [])
        artifacts.append(
            Artifact(
                path=layout.build("build-job.sub"),
                text=render_template(
                    "build-job.sub.j2", header=header(project), scripts=scripts, sif=project.stages_sif
                ),
            )
        )
    return artifacts


def staged_pattern(name: str | None, prefix: str, suffix: str) -> str | None:
    """An extended regular expression for the names pixi-htc gives staged copies: the prefix, a hex
    digest as long as this one's, the suffix (so a file of the user's never matches)."""
    if name is None or not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    digest = name[len(prefix) : len(name) - len(suffix)]
    if not digest or any(c not in "0123456789abcdef" for c in digest):
        return None
    return f"^{_ere(prefix)}[0-9a-f]{{{len(digest)}}}{_ere(suffix)}$"


def _ere(text: str) -> str:
    """Literal text in a POSIX extended regular expression (bash's =~)."""
    return re.sub(r"([.^$*+?()[\]{}|\\])", r"\\\1", text)

"""build/htcondor/: per job a .sub and a .sh, plus submit.sh and interact.sh; and build/pack.sh.

Decisions live here (requirements, transfers, the queue table); the templates only lay them out.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Literal

from .base import Artifact, Layout, header
from ..escape import shell_quote
from ..model import PLACEHOLDER, Job, Project
from ..sites import SITES
from ..templating import render as render_template

# The seed lesson's clause ("no CentOS 7, for pty support"): it matters to vanilla-universe jobs,
# which run on the host OS, not inside a container.
OS_REQUIREMENT = "(OpSysMajorVer > 7)"
QUEUE_VARIABLE_PREFIX = "PixiHtcSweep"
WRAPPERS = (("submit.sh", False, "Submit one job to HTCondor as a batch job"),
            ("interact.sh", True, "Start one job as an interactive session, to debug it by hand"))


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
    site_lines: list[tuple[str, str]]  # what the site adds (compiler/sites.py)
    command: str
    runs_gpu_checks: bool
    activation: Literal["image", "pixi-pack", "none"]  # how the .sh gets its environment
    archive_name: str | None
    logs: tuple[tuple[str, str], ...]  # log, output, error as the .sub names them
    directories: tuple[str, ...]  # what must exist in the submit directory before condor_submit


def shell_word(argument: str, prefix: str = "") -> str:
    """One shell word: literal text quoted, {name} placeholders expanded from the script's variables
    (named <prefix><name>)."""
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(argument):
        if match.start() > position:
            parts.append(shell_quote(argument[position:match.start()]))
        parts.append(f'"${{{prefix}{match.group(1)}}}"')
        position = match.end()
    if position < len(argument) or not parts:
        parts.append(shell_quote(argument[position:]))
    return "".join(parts)


def requirements(project: Project, job: Job) -> str:
    """ONE requirements expression. The lesson files set `requirements` twice, and HTCondor keeps the
    last, silently dropping the GPU driver check; every constraint goes into this single line."""
    clauses = []
    driver = job.gpu.driver or (None if job.environment is None else project.environment(job.environment).driver_version)
    if job.resources.gpus > 0 and driver is not None:
        clauses.append(f"(GPUs_DriverVersion >= {driver})")
    if job.runtime == "pixi-pack":
        clauses.append(OS_REQUIREMENT)
    clauses.extend(f"({clause})" for clause in job.requirements)
    return " && ".join(clauses)


def transfer_path(path: str, job: Job) -> str:
    """An input as the .sub names it: {name} becomes the sweep variable's (or HTCondor's) macro."""
    macros = dict(zip(job.sweep_variables, queue_variables(job))) | {"process": "Process", "cluster": "Cluster"}
    return PLACEHOLDER.sub(lambda m: f"$({macros[m.group(1)]})", path)



def from_submit_dir(path: str, layout: Layout) -> str:
    """A project-root-relative path (or a URL) as the .sub, submitted from the build directory, names it."""
    if "://" in path:
        return path
    prefix = f"{layout.build_dir}/"
    return path.removeprefix(prefix) if path.startswith(prefix) else f"../{path}"


def image(project: Project, job: Job) -> str | None:
    """container_image: the job's own, or the project's Docker image or .sif; None for pixi-pack and host."""
    if job.runtime in ("pixi-pack", "host"):
        return None
    if job.image is not None:
        return job.image
    return project.sif_reference if job.runtime == "apptainer" else project.container.docker_reference


def image_note(project: Project, job: Job) -> str:
    if job.image is not None and job.image.startswith("/cvmfs/"):
        return "The job's own image (jobs.<name>.image), unpacked on CVMFS: execute points read it in place."
    if job.image is not None:
        return "The job's own image (jobs.<name>.image)."
    if not project.container.tag_derived:
        return "The tag the spec sets (container.tag): execute points cache images by tag, so change it with the image."
    cached = "OSDF caches files by name" if job.runtime == "apptainer" and project.staging else "Execute points cache images by tag"
    return f"{cached}: the name carries a digest of what the image is built from, so a new image gets a new name."


LOG_SUFFIXES = (("log", "log"), ("output", "out"), ("error", "err"))


def log_files(job: Job, layout: Layout) -> tuple[tuple[str, str], ...]:
    """Where HTCondor writes the event log, stdout and stderr: the spec's names, else logs/<job>_..."""
    own = dict(job.logs)
    return tuple((key, from_submit_dir(transfer_path(own[key], job), layout) if key in own
                  else f"logs/{job.name}_$(Cluster)_$(Process).{suffix}") for key, suffix in LOG_SUFFIXES)


def plan(project: Project, job: Job, layout: Layout) -> SubmitPlan:
    container = job.runtime not in ("pixi-pack", "host")
    inputs = [from_submit_dir(transfer_path(path, job), layout)
              for path in (*job.inputs, *project.source_paths(layout.build_dir))]
    archive_name = None
    if job.runtime == "pixi-pack":
        inputs.insert(0, project.pack.archive)
        archive_name = project.pack.archive_name
    # Sweep processes would overwrite each other's outputs in the submit directory: an output named
    # the same in every process lands under a name of its process's. A name with a placeholder is the
    # user's own choice of name per process, and stays as it is. The spec's output_remaps win over both.
    outputs = tuple(transfer_path(name, job) for name in job.outputs)
    own = {name: from_submit_dir(transfer_path(target, job), layout) for name, target in job.output_remaps}
    remaps = tuple((transfer_path(name, job), own[name] if name in own else f"outputs/{job.name}_$(Cluster)_$(Process)_{name}")
                   for name in job.outputs if name in own or (job.swept and not PLACEHOLDER.search(name)))
    logs = log_files(job, layout)
    directories = sorted({path.rpartition("/")[0] for path in (*(p for _, p in logs), *(t for _, t in remaps)) if "/" in path})
    return SubmitPlan(
        job=job,
        logs=logs,
        directories=tuple(directories),
        universe="container" if container else "vanilla",
        image=image(project, job),
        image_note="" if not container else image_note(project, job),
        transfer_container=not (job.image or "").startswith("/cvmfs/"),
        arguments=("$(Cluster)", "$(Process)", *(f"$({name})" for name in queue_variables(job))),
        transfer_inputs=tuple(inputs),
        transfer_outputs=outputs,
        output_remaps=remaps,
        requirements=requirements(project, job),
        site_lines=SITES[project.site].lines(job),
        command=" ".join(shell_word(argument) for argument in job.command),
        runs_gpu_checks=job.resources.gpus > 0 and project.source is None,
        activation="pixi-pack" if job.runtime == "pixi-pack" else ("none" if job.environment is None else "image"),
        archive_name=archive_name,
    )


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
        artifacts.append(Artifact(path=base.with_suffix(".sub"), text=render_template(
            "job.sub.j2", p=p, job=p.job, header=header(project), queue_rows=queue_table(p.job),
            queue_file=None if p.job.sweep_from is None else from_submit_dir(p.job.sweep_from.file, layout),
            queue_variables=list(zip(queue_variables(p.job), p.job.sweep_variables)))))
        artifacts.append(Artifact(path=base.with_suffix(".sh"), executable=True, text=render_template(
            "job.sh.j2", p=p, job=p.job, header=header(project))))
    if plans:
        for script, interactive, purpose in WRAPPERS:
            artifacts.append(Artifact(path=layout.build("htcondor", script), executable=True, text=render_template(
                "wrapper.sh.j2", jobs=[(p.job.name, p.directories) for p in plans], header=header(project), script=script,
                interactive=interactive, purpose=purpose)))
    chtc = project.site == "chtc" and project.staging is not None
    if project.environments:
        artifacts.append(Artifact(path=layout.build("pack.sh"), executable=True, text=render_template(
            "pack.sh.j2", pack=project.pack, staging=project.staging, header=header(project), chtc=chtc,
            pack_pattern=staged_pattern(project.pack.staged_name, "environment-", ".sh"))))
    if project.stages_sif:
        sif_pattern = (staged_pattern(project.sif_name, f"{project.container.name}-{project.container.environment}-", ".sif")
                       if project.container.tag_derived else None)  # a tag the spec names is the user's to remove
        artifacts.append(Artifact(path=layout.build("stage-sif.sh"), executable=True, text=render_template(
            "stage-sif.sh.j2", project=project, header=header(project), chtc=chtc, sif_pattern=sif_pattern)))
    if chtc and project.environments and (project.pack.staged_name or project.stages_sif):
        scripts = ["pack.sh"] + (["stage-sif.sh"] if project.stages_sif else [])
        artifacts.append(Artifact(path=layout.build("build-job.sub"), text=render_template(
            "build-job.sub.j2", header=header(project), scripts=scripts, sif=project.stages_sif)))
    return artifacts


def staged_pattern(name: str | None, prefix: str, suffix: str) -> str | None:
    """An extended regular expression for the names pixi-htc gives staged copies: the prefix, a hex
    digest as long as this one's, the suffix (so a file of the user's never matches)."""
    if name is None or not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    digest = name[len(prefix):len(name) - len(suffix)]
    if not digest or any(c not in "0123456789abcdef" for c in digest):
        return None
    return f"^{_ere(prefix)}[0-9a-f]{{{len(digest)}}}{_ere(suffix)}$"


def _ere(text: str) -> str:
    """Literal text in a POSIX extended regular expression (bash's =~)."""
    return re.sub(r"([.^$*+?()[\]{}|\\])", r"\\\1", text)

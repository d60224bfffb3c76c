"""build/slurm/: per Slurm job an sbatch script, and for a sweep the table of its job array.

The jobs run on a shared filesystem: nothing is transferred. Each task works in a directory of its own,
outputs/<job>/<array job>_<task> (or outputs/<job>/<job id>) under the build directory, where its inputs
are linked, its archives unpacked and its outputs and checkpoint files stay; a requeued task keeps its
job id and so finds its checkpoint there. Decisions live here; job.sbatch.j2 lays them out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ...artifacts.base import Artifact, Layout, header
from ...core.escape import shell_quote
from ...core.templating import render as render_template
from ...spec.model import BUILTIN_PLACEHOLDERS, PLACEHOLDER, TARBALL, Job, Project, Runtime, contents, sandbox_path
from ..common import from_submit_dir, shell_word
from . import lognames
from .pipeline import Upstream, upstream

# Slurm reads sizes in binary units with a one-letter suffix; the spec writes HTCondor's 2GB.
SIZE_UNITS = {"KB": "K", "MB": "M", "GB": "G", "TB": "T"}
# Placeholders become these shell variables in the script, apart from the script's own (which start with _).
VARIABLE_PREFIX = "v_"


@dataclass(frozen=True, kw_only=True)
class Launch:
    """How the script gets the job's environment: the block of job.sbatch.j2 named by `kind`."""

    kind: Literal["apptainer", "pixi-pack", "pixi", "host"]
    image: str | None = None  # apptainer: a docker:// or oras:// reference, or a .sif path
    image_in_build: bool = False  # a relative .sif path, relative to the build directory
    entrypoint: bool = False  # apptainer: activate the image's pixi environment through its entrypoint
    archive: str | None = None  # pixi-pack: the self-extracting archive, relative to the build directory
    environment: str | None = None  # pixi: the environment of the build directory's workspace


def _through_apptainer(job: Job, image: str) -> Launch:
    return Launch(
        kind="apptainer",
        image=image,
        image_in_build=image.endswith(".sif") and not image.startswith("/"),
        entrypoint=job.environment is not None,
    )


def _container(project: Project, job: Job) -> Launch:
    """The job's own image, or the project's: its .sif when CI builds one, else the Docker image."""
    if job.image is not None:
        return _through_apptainer(job, job.image)
    container = project.container
    return _through_apptainer(
        job, container.sif_registry_reference if container.apptainer else container.docker_reference
    )


def _apptainer(project: Project, job: Job) -> Launch:
    """The .sif: the job's own, or the one CI pushes, from the registry (a staged copy is for OSDF,
    which a Slurm cluster does not read)."""
    return _through_apptainer(job, job.image or project.container.sif_registry_reference)


def _pixi_pack(project: Project, job: Job) -> Launch:
    """The archive pack.sh writes in the build directory (a staged copy is for OSDF), or the spec's own path."""
    archive = project.pack.archive
    return Launch(kind="pixi-pack", archive=project.pack.built if archive is None or "://" in archive else archive)


def _pixi(project: Project, job: Job) -> Launch:
    return Launch(kind="pixi", environment=job.environment)


def _host(project: Project, job: Job) -> Launch:
    return Launch(kind="host")


# One entry a runtime: a new runtime (an HTCondor-side apptainer .sif, a staged archive) is one line here
# and, where it needs one, a block in job.sbatch.j2.
LAUNCHERS: dict[Runtime, Callable[[Project, Job], Launch]] = {
    "container": _container,
    "apptainer": _apptainer,
    "pixi-pack": _pixi_pack,
    "pixi": _pixi,
    "host": _host,
}


@dataclass(frozen=True, kw_only=True)
class BatchPlan:
    """Everything a job's sbatch script says, decided once."""

    job: Job
    options: tuple[tuple[str, str | None], ...]  # #SBATCH --name[=value], in order
    launch: Launch
    table: str | None  # the sweep table, relative to the build directory
    table_sha256: str | None
    variables: tuple[str, ...]  # the shell variables a table row fills, in its column order
    builtins: tuple[str, ...]  # the built-in placeholders ({cluster}, {process}) the job uses
    links: tuple[
        tuple[str, str, bool], ...
    ]  # shell words of the path under the build directory and of the link; may it be in a directory
    archives: tuple[str, ...]  # shell words of .tar.gz inputs under the build directory, unpacked in the task dir
    contents: tuple[str, ...] = ()  # shell words of directories (data/) whose entries are linked in the task dir
    env: tuple[tuple[str, str], ...]  # (name, shell word)
    command: str
    outputs: tuple[str, ...]  # shell words
    runs_gpu_checks: bool
    forward_signal: str | None  # a signal name (USR1) the script passes on to the command
    upstream: tuple[Upstream, ...] = ()  # what the jobs this one runs after left (pipeline.py)
    log_directories: tuple[str, ...] = ("logs",)  # shell words: what to make before sbatch by hand


def variable(name: str) -> str:
    return f"{VARIABLE_PREFIX}{name}"


def word(text: str) -> str:
    """A shell word of the spec's text, {name} placeholders read from the script's variables."""
    return shell_word(text, prefix=VARIABLE_PREFIX)


def table_path(job: Job) -> str:
    return f"slurm/{job.name}.array.tsv"


def table_text(job: Job) -> str:
    """The array's table: SLURM_ARRAY_TASK_ID, then the sweep's values in its (sorted) variable order,
    one row per combination in the order HTCondor's queue table has them. Values hold no tab or newline
    (the schema's sweepValue)."""
    lines = ["\t".join(("task", *job.sweep_variables))]
    lines += ["\t".join((str(task), *row)) for task, row in enumerate(job.sweep_rows)]
    return "\n".join(lines) + "\n"


def slurm_size(size: str) -> str:
    return size[:-2] + SIZE_UNITS[size[-2:]]


def options(job: Job, layout: Layout) -> tuple[tuple[str, str | None], ...]:
    s = job.slurm
    rows = len(job.sweep_rows)
    found: list[tuple[str, str | None]] = [("job-name", job.name)]
    if rows:
        found.append(("array", f"0-{rows - 1}" + (f"%{s.max_running}" if s.max_running is not None else "")))
    elif s.array is not None:
        found.append(("array", s.array))
    # The logs (lognames.py): the spec's slurm.output and slurm.error, else build/logs/<job>_<id>.
    found.append(("output", lognames.output_pattern(job, layout)))
    error = lognames.error_pattern(job, layout)
    if error is not None:
        found.append(("error", error))
    # append: a requeued task's second run adds to its log instead of replacing the first run's.
    found += [
        ("open-mode", "append"),
        ("nodes", "1"),
        ("ntasks", str(s.ntasks)),
        (s.cpu_option, str(job.resources.cpus)),
    ]
    if s.memory_option != "none":
        found.append((s.memory_option, slurm_size(job.resources.memory)))
    if job.resources.gpus:
        kind = f"{s.gpu_type}:" if s.gpu_type else ""
        found.append(
            ("gres", f"gpu:{kind}{job.resources.gpus}")
            if s.gpu_option == "gres"
            else (s.gpu_option, f"{kind}{job.resources.gpus}")
        )
    if job.resources.disk_set:
        found.append(("tmp", slurm_size(job.resources.disk)))
    for name in ("time", "partition", "account", "qos", "constraint"):
        if getattr(s, name) is not None:
            found.append((name, getattr(s, name)))
    if job.checkpoint is not None:
        found += [("requeue", None), ("signal", f"B:USR1@{s.signal_seconds}")]
    else:
        if s.requeue is not None:
            found.append(("requeue" if s.requeue else "no-requeue", None))
        if s.signal is not None:
            found.append(("signal", s.signal))
    for name in ("mail_type", "mail_user"):
        if getattr(s, name) is not None:
            found.append((name.replace("_", "-"), getattr(s, name)))
    return tuple(found)


def forwarded_signal(job: Job) -> str | None:
    """The signal the batch script passes on to the command: Slurm sends a `--signal=B:...` to the
    script only (a checkpointing job's USR1 has its own handler)."""
    signal = job.slurm.signal
    if job.checkpoint is not None or signal is None or "B" not in signal.partition(":")[0] or ":" not in signal:
        return None
    return signal.partition(":")[2].partition("@")[0].removeprefix("SIG")


def plan(project: Project, job: Job, layout: Layout) -> BatchPlan:
    links, archives, entries = [], [], []
    for path in (*job.inputs, *project.source_paths(layout.build_dir)):
        under_build = word(from_submit_dir(path, layout))
        if contents(path) and path in job.inputs:
            entries.append(under_build)  # each entry of the directory, as HTCondor writes them
        elif TARBALL.search(path) and path in job.inputs:
            archives.append(under_build)
        else:
            # An input where its path says (videos/a.mp4 in the task directory, as the command names
            # it; model.sandbox_path) and under its base name too, where HTCondor puts it and a job moved
            # in from a submit file reads it; the code under its own name (as in the image).
            place = sandbox_path(path, layout.build_dir) if path in job.inputs else path.rsplit("/", 1)[-1]
            links.append((under_build, word(place), "/" in place or bool(PLACEHOLDER.search(place))))
    if job.sweep_from is not None and job.sweep_from.rows is None:
        raise RuntimeError("a sweep_from list is read in validation (validate(..., root)) before rendering")
    table = table_text(job) if job.swept else None
    return BatchPlan(
        job=job,
        options=options(job, layout),
        launch=LAUNCHERS[job.runtime](project, job),
        table=table_path(job) if table else None,
        table_sha256=hashlib.sha256(table.encode()).hexdigest() if table else None,
        variables=tuple(variable(name) for name in job.sweep_variables),
        builtins=tuple(
            name
            for name in BUILTIN_PLACEHOLDERS
            if any(name in PLACEHOLDER.findall(text) for text in (*job.command, *job.inputs, *job.outputs))
        ),
        links=tuple(links),
        archives=tuple(archives),
        contents=tuple(entries),
        env=tuple((name, shell_quote(value)) for name, value in job.env),
        command=" ".join(word(argument) for argument in job.command),
        outputs=tuple(word(name) for name in job.outputs),
        runs_gpu_checks=job.resources.gpus > 0 and project.source is None,
        forward_signal=forwarded_signal(job),
        upstream=upstream(project, job),
        log_directories=tuple(word(d) for d in dict.fromkeys(("logs", *lognames.directories(job, layout)))),
    )


def render(project: Project, layout: Layout) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for job in project.jobs_on("slurm"):
        p = plan(project, job, layout)
        artifacts.append(
            Artifact(
                path=layout.build("slurm", f"{job.name}.sbatch"),
                executable=True,
                text=render_template(
                    "job.sbatch.j2", p=p, job=job, header=header(project), variable_prefix=VARIABLE_PREFIX
                ),
            )
        )
        if job.swept:
            artifacts.append(Artifact(path=layout.build(table_path(job)), text=table_text(job)))
    return artifacts

"""The typed, frozen model of a valid spec. Every default is a field's default here, or derived from
other keys in building.py, which makes the model from the document (the pixi side, workspace and
environments, in workspace.py); nowhere else.

Templates see this model and nothing else. tests/test_schema.py proves that the `default`s the
schema states are the ones applied.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .. import __version__
from ..core.defaults import CHECKPOINT_EXIT_CODE, CI_PIXI_VERSION, PIXI_IMAGE
from .workspace import (
    Environment,
    Task,
    Workspace,
)

Runtime = Literal["container", "apptainer", "pixi-pack", "pixi", "host"]
Scheduler = Literal["htcondor", "slurm"]

# Placeholders a command may use besides sweep variables; the .sh receives them as $1 and $2.
BUILTIN_PLACEHOLDERS = ("cluster", "process")
# `{name}` in a command argument; validation allows only sweep variables and the built-ins above.
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# (memory, disk) as CHTC's templates set them: an Apptainer image lands in the sandbox, and so does
# an unpacked pixi-pack environment. (pixi runs where pixi is installed: Slurm's shared filesystem.)
RESOURCE_DEFAULTS: dict[Runtime, tuple[str, str]] = {
    "container": ("2GB", "2GB"),
    "apptainer": ("2GB", "7GB"),
    "pixi-pack": ("10GB", "14GB"),
    "pixi": ("2GB", "2GB"),
    "host": ("2GB", "2GB"),
}
TARBALL = re.compile(r"\.(tar\.gz|tgz|tar)\Z")
# The job-policy commands a spec may set, each a ClassAd expression, in the order the .sub writes them.
POLICY = ("retry_until", "on_exit_hold", "on_exit_remove", "periodic_hold", "periodic_release", "periodic_remove")


def sandbox_path(path: str, build_dir: str) -> str:
    """Where a job's input is when its command runs, in the HTCondor sandbox and in a Slurm task's
    directory alike: a project-root path as it is (videos/a.mp4 stays videos/a.mp4), a path under the
    build directory relative to it (build/src is src: jobs are submitted from there), a URL by its
    last name (a transfer plugin writes it in the sandbox's top level)."""
    if "://" in path:
        return path.rstrip("/").rsplit("/", 1)[-1]
    return path.removeprefix(f"{build_dir}/")


def contents(path: str) -> bool:
    """An input naming a directory's contents (`data/`, HTCondor's form): each of its entries lands
    in the job's directory under its own name, and the directory itself does not."""
    return path.endswith("/") and "://" not in path


def outside(value: str) -> bool:
    """Whether a sweep value placed in a path could lead out of the directory it is placed in."""
    return any(part in ("", ".", "..") for part in value.split("/"))


@dataclass(frozen=True, kw_only=True)
class Container:
    environment: str = "gpu"
    pixi_image: str = PIXI_IMAGE
    image: str
    tag: str | None = None  # None until the pipeline derives it from the image's content (image_tag.py)
    tag_derived: bool = False  # True once it has: the spec named none
    apptainer: bool = False  # the default is derived: True when a job runs the project's .sif

    @property
    def name(self) -> str:
        """The image's last path component: the staged .sif is named after it."""
        return self.image.rsplit("/", 1)[-1]

    @property
    def docker_reference(self) -> str:
        if self.tag is None:
            raise RuntimeError("the image tag is derived in the pipeline (image_tag.with_content_tag) before rendering")
        return f"docker://{self.image}:{self.tag}"

    @property
    def sif_tag(self) -> str:
        return f"{self.tag}-sif"

    @property
    def sif_registry_reference(self) -> str:
        """The .sif as CI pushes it (apptainer push) and apptainer pulls it."""
        return f"oras://{self.image}:{self.sif_tag}"


@dataclass(frozen=True, kw_only=True)
class CI:
    workflow: str = "pixi-htc.yml"
    branches: tuple[str, ...] = ("main",)
    pixi_version: str = CI_PIXI_VERSION
    pixi_htc: str = f"pixi-htc=={__version__}"  # what CI pip-installs to run `pixi-htc check`

    @property
    def checks_this_repository(self) -> bool:
        return self.pixi_htc == "."


@dataclass(frozen=True, kw_only=True)
class Staging:
    """A staging directory on the access point, and the OSDF URL jobs fetch its files from."""

    directory: str
    url: str | None  # None: the site cannot derive it, and the spec did not say (a spec error)

    def file(self, name: str) -> str:
        return f"{self.url}/{name}"


@dataclass(frozen=True, kw_only=True)
class Pack:
    environment: str = "gpu"
    platform: str = "linux-64"
    archive: str | None = None  # None until the pipeline names it (image_tag.py): see Project.pack_archive
    built: str = "environment.sh"  # what pack.sh writes in the build directory
    staged_name: str | None = None  # the content-derived name pack.sh copies it to in staging

    @property
    def archive_name(self) -> str:
        """The file name the archive has in the job's sandbox."""
        return (self.archive or self.built).rsplit("/", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpus: int = 1
    gpus: int = 1
    memory: str
    disk: str
    disk_set: bool = False  # whether the spec names disk (Slurm asks for --tmp only then)


@dataclass(frozen=True, kw_only=True)
class GpuConstraints:
    min_capability: float | None = None
    min_memory: str | None = None
    driver: str | None = None  # overrides the environment's CUDA as the gpus_minimum_runtime floor
    require: str | None = None  # require_gpus, a ClassAd expression


@dataclass(frozen=True, kw_only=True)
class Chtc:
    gpu_lab: bool = True
    job_length: Literal["short", "medium", "long"] | None = None  # None: CHTC's default, medium
    resumable: bool | None = None  # None: when the job checkpoints
    want_ospool: bool = False
    want_campus_pools: bool = False


@dataclass(frozen=True, kw_only=True)
class OsPool:
    duration: Literal["medium", "long"] | None = None
    project: str | None = None


@dataclass(frozen=True, kw_only=True)
class Slurm:
    """Slurm settings: the spec's top-level `slurm`, each job's own `slurm` overriding it key by key."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    time: str | None = None  # None: the partition's default limit
    max_running: int | None = None  # the array's %limit; None: no limit
    signal_seconds: int = 300  # --signal=B:USR1@<this> for a checkpointing job
    gpu_option: Literal["gres", "gpus", "gpus-per-node"] = "gres"
    gpu_type: str | None = None
    array: str | None = None  # the job's own --array (not a sweep's)
    signal: str | None = None  # --signal, [B:]NAME[@seconds]
    requeue: bool | None = None  # None: the cluster's default
    mail_type: str | None = None
    mail_user: str | None = None
    memory_option: Literal["mem", "mem-per-cpu", "none"] = "mem"
    cpu_option: Literal["cpus-per-task", "cpus-per-gpu"] = "cpus-per-task"
    submit_dir: Literal["build", "task"] = "build"  # what SLURM_SUBMIT_DIR is for the command
    ntasks: int = 1  # --ntasks on the job's one node
    # --output / --error: Slurm filename patterns (%x, %j, %A, %a...), project-root-relative; None: build/logs/<job>_%j
    # (an error of None goes to the output file when output is set, as sbatch does).
    output: str | None = None
    error: str | None = None

    def merged(self, overrides: dict[str, Any]) -> Slurm:
        return replace(self, **{key: _slurm_value(key, value) for key, value in overrides.items()})


def _slurm_value(key: str, value: Any) -> Any:
    # A bare integer time is minutes, as sbatch reads it.
    return str(value) if key == "time" else value


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    files: tuple[str, ...] = ()  # none: HTCondor transfers what the job made or changed
    exit_code: int = CHECKPOINT_EXIT_CODE


@dataclass(frozen=True, kw_only=True)
class SweepFrom:
    """A sweep whose rows are the lines of a file of the user's (HTCondor's `queue ... from <file>`)."""

    file: str  # relative to the project root
    variables: tuple[str, ...]  # one per field of a line, in the file's column order
    rows: tuple[tuple[str, ...], ...] | None = None  # None until sweep_list.py reads the file, or while it is absent


@dataclass(frozen=True, kw_only=True)
class Job:
    name: str
    runtime: Runtime
    scheduler: Scheduler = "htcondor"
    environment: str | None  # None: someone else's image, which activates nothing
    image: str | None = None
    command: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    resources: Resources
    gpu: GpuConstraints = field(default_factory=GpuConstraints)
    chtc: Chtc = field(default_factory=Chtc)
    ospool: OsPool = field(default_factory=OsPool)
    site_keys: tuple[str, ...] = ()  # the site-only keys (chtc, ospool) the spec sets on this job
    checkpoint: Checkpoint | None = None
    sweep: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sweep_from: SweepFrom | None = None
    env: tuple[tuple[str, str], ...] = ()
    # HTCondor's getenv: True copies the submitting shell's whole environment; a tuple, the names
    # and patterns of its match list (in the spec's order); False, nothing.
    getenv: bool | tuple[str, ...] = False
    stream_output: bool = False
    stream_error: bool = False
    requirements: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str | float | bool], ...] = ()
    batch_name: str | None = None
    max_retries: int | None = None
    universe: Literal["container", "docker"] = "container"  # HTCondor's, for runtime container
    docker_pull_policy: str | None = None
    docker_network_type: str | None = None  # None: Docker's bridge network
    os_requirement: bool = True  # pixi-pack on HTCondor: (OpSysMajorVer > 7)
    when_to_transfer_output: Literal["ON_EXIT", "ON_EXIT_OR_EVICT"] = "ON_EXIT"
    should_transfer_files: Literal["YES", "IF_NEEDED", "NO"] = "YES"
    initialdir: str | None = None  # HTCondor's initialdir, project-root-relative; None: the build directory
    count: int = 1  # queue N
    notification: str | None = None
    notify_user: str | None = None
    policy: tuple[tuple[str, str], ...] = ()  # (submit command, ClassAd expression), in POLICY order
    output_remaps: tuple[tuple[str, str], ...] = ()  # (output, project-root-relative path), sorted
    logs: tuple[tuple[str, str], ...] = ()  # (log | output | error, project-root-relative path) the spec sets
    slurm: Slurm = field(default_factory=Slurm)
    keys: tuple[str, ...] = ()  # the keys the spec sets on this job, and slurm.<key> for its own slurm's, sorted
    # A pipeline (#24): the jobs this one runs after, whole (fan-in), or process by process (for_each,
    # whose sweep this job takes over); always: whether or not they succeeded.
    after: tuple[str, ...] = ()
    for_each: str | None = None
    always: bool = False
    retries: int | None = None  # None: no retry
    max_running: int | None = None  # None: no limit on a sweep's processes at once

    @property
    def upstream(self) -> tuple[str, ...]:
        """Every job this one runs after, sorted."""
        return tuple(sorted({*self.after, *((self.for_each,) if self.for_each else ())}))

    @property
    def in_pipeline(self) -> bool:
        """Whether this job sets a key only a pipeline (the DAG, Slurm's ordered submission) carries out."""
        return bool(self.upstream or self.always or self.retries is not None or self.max_running is not None)

    def expression(self, key: str) -> str | None:
        """One of the POLICY expressions the spec sets, or None."""
        return dict(self.policy).get(key)

    @property
    def swept(self) -> bool:
        """Queued once per row of a sweep (the spec's lists, or a file's lines) rather than once."""
        return bool(self.sweep) or self.sweep_from is not None

    @property
    def sweep_variables(self) -> tuple[str, ...]:
        if self.sweep_from is not None:
            return self.sweep_from.variables
        return tuple(name for name, _ in self.sweep)

    @property
    def sweep_rows(self) -> list[tuple[str, ...]]:
        """Every combination, variables in sorted order, values in the order the spec gives them; or
        the lines of sweep_from's file (none while it has not been read)."""
        if self.sweep_from is not None:
            return list(self.sweep_from.rows or ())
        return list(itertools.product(*(values for _, values in self.sweep))) if self.sweep else []

    @property
    def path_variables(self) -> frozenset[str]:
        """The placeholders placed in a file path (inputs, outputs, logs, output_remaps), whose values
        must stay in it."""
        paths = (
            *self.inputs,
            *self.outputs,
            *(p for _, p in self.logs),
            *(p for pair in self.output_remaps for p in pair),
        )
        return frozenset(name for path in paths for name in PLACEHOLDER.findall(path))

    @property
    def log_directory_variables(self) -> frozenset[str]:
        """The placeholders in the directories of the logs the spec names (outputs/{job}/train.log)."""
        return frozenset(name for _, path in self.logs for name in PLACEHOLDER.findall(path.rpartition("/")[0]))

    def sweep_values(self, name: str) -> tuple[str, ...]:
        """One variable's values, each once, in the order the rows first take them."""
        if self.sweep_from is None:
            return dict(self.sweep)[name]
        index = self.sweep_from.variables.index(name)
        return tuple(dict.fromkeys(row[index] for row in self.sweep_from.rows or ()))

    @property
    def archives(self) -> tuple[str, ...]:
        """Inputs the .sh unpacks before running the command (by basename, as they land in the sandbox)."""
        return tuple(path.rsplit("/", 1)[-1] for path in self.inputs if TARBALL.search(path))


@dataclass(frozen=True, kw_only=True)
class Project:
    """Everything the renderers may use. spec_path and spec_sha256 go into every file's header."""

    spec_path: str
    spec_sha256: str
    name: str
    version: str | None = None
    description: str = ""
    workspace: Workspace = field(default_factory=Workspace)
    environments: tuple[Environment, ...]
    tasks: tuple[Task, ...] = ()
    container: Container
    ci: CI = field(default_factory=CI)
    pack: Pack = field(default_factory=Pack)
    jobs: tuple[Job, ...] = ()
    site: Literal["chtc", "ospool", "generic"] = "generic"
    staging: Staging | None = None
    scheduler: Scheduler = "htcondor"
    slurm: Slurm = field(default_factory=Slurm)
    keys: tuple[str, ...] = ()  # the top-level keys the spec sets, sorted
    source: tuple[str, ...] | None = None  # None: the bundled MNIST trainer, written to build/src

    def source_paths(self, build_dir: str) -> tuple[str, ...]:
        """What jobs transfer and the image copies, relative to the project root."""
        return self.source if self.source is not None else (f"{build_dir}/src",)

    def environment(self, name: str) -> Environment:
        return next(env for env in self.environments if env.name == name)

    @property
    def runs_project_image(self) -> bool:
        """Whether a job runs the image built from this spec (container or apptainer, no image of its
        own): CI builds and pushes it only then, and only then must its environment be one the image
        can install (dependency_rules)."""
        return any(job.runtime in ("container", "apptainer") and job.image is None for job in self.jobs)

    @property
    def has_pixi_pack_jobs(self) -> bool:
        return any(job.runtime == "pixi-pack" for job in self.jobs)

    def jobs_on(self, scheduler: Scheduler) -> tuple[Job, ...]:
        return tuple(job for job in self.jobs if job.scheduler == scheduler)

    @property
    def stages_sif(self) -> bool:
        """A job runs the project's .sif from staging: build/stage-sif.sh copies it there."""
        return self.staging is not None and any(job.runtime == "apptainer" and job.image is None for job in self.jobs)

    @property
    def sif_name(self) -> str:
        return f"{self.container.name}-{self.container.tag}.sif"

    @property
    def sif_reference(self) -> str:
        """The project's .sif as jobs name it: the staged, content-named copy, or the registry's."""
        if self.staging is not None:
            return self.staging.file(self.sif_name)
        return self.container.sif_registry_reference

    @property
    def lock_cuda(self) -> str | None:
        """The CUDA version to claim (CONDA_OVERRIDE_CUDA) when locking on a machine without a GPU:
        `pixi lock` solves every environment, so the highest any of them needs."""
        versions = [env.effective_cuda for env in self.environments if env.effective_cuda is not None]
        return max(versions, key=lambda cuda: tuple(int(part) for part in cuda.split("."))) if versions else None

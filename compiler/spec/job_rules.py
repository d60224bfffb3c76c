"""Rules on jobs that read foreign input: what a job may write, its Slurm time, a host runtime, and
bounds on what a build writes (issue #19 items 5 and 7; issue #22).

Where a finished job's files land: the logs and output_remaps a spec names are
written by HTCondor on the access point when a job ends, so a name that is the spec itself, a file
pixi-htc generates or its manifest would let any job overwrite them. Refused, with the key's line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from ..core.defaults import BUILD_DIR
from .loader import KeyPath
from .model import PLACEHOLDER, Job, Project, contents, sandbox_path
from .problem import Problem

# Inside the build directory a job's files may land only where pixi-htc's own defaults put them,
# directories it never generates a file into.
LANDING_DIRECTORIES = ("outputs", "logs")


def landing_problems(project: Project, build_dir: str = BUILD_DIR) -> Iterator[Problem]:
    said: set[KeyPath] = set()  # the project's slurm.output is every Slurm job's: said once
    for job in project.jobs:
        targets: list[tuple[KeyPath, str]] = [(("jobs", job.name, "logs", key), path) for key, path in job.logs]
        targets += [(("jobs", job.name, "output_remaps", name), path) for name, path in job.output_remaps]
        if job.scheduler == "slurm":
            targets += [
                (("jobs", job.name, "slurm", key) if f"slurm.{key}" in job.keys else ("slurm", key), path)
                for key, path in (("output", job.slurm.output), ("error", job.slurm.error))
                if path is not None
            ]
        for name in (k for k, path in job.logs if _numbered_directory(path)):
            at: KeyPath = ("jobs", job.name, "logs", name)
            yield Problem(
                at,
                "{process} or {cluster} names a directory: HTCondor makes none, and pixi-htc makes a log's "
                "directories before condor_submit from the sweep's values only; put it in the file name",
                (at,),
            )
        for key, path in targets:
            slurm = key[0] == "slurm" or key[2:3] == ("slurm",)
            why = _owned(_shape(path) if slurm else path, project.spec_path, build_dir)
            why = why or (_slurm_record(path, build_dir) if slurm else "")
            if why and key not in said:
                said.add(key)
                yield Problem(
                    key,
                    f"'{path}' {why}; a finished job would overwrite it: name a file under "
                    f"{build_dir}/outputs/, {build_dir}/logs/ or a directory of your own",
                    (key,),
                )


def _shape(pattern: str) -> str:
    """A Slurm filename pattern (slurm.output, slurm.error) with each % field as a placeholder."""
    return re.sub(r"%(%|[0-9]?[A-Za-z])", lambda m: "%" if m.group(1) == "%" else "{field}", pattern)


def _slurm_record(path: str, build_dir: str) -> str:
    """Why a Slurm log name may not be written: it would be one of the records status reads."""
    if path.startswith(f"{build_dir}/logs/") and path.endswith((".state", ".slurm-jobs")):
        return "has the name of the records pixi-htc status reads (<job>_<job id>.state, <job>.slurm-jobs)"
    return ""


def _numbered_directory(path: str) -> bool:
    return bool({"process", "cluster"} & set(PLACEHOLDER.findall(path.rpartition("/")[0])))


def _owned(path: str, spec_path: str, build_dir: str) -> str:
    """Why a landing path (placeholders match any one name) may not be written by a job, or ''."""
    shape = re.compile("[^/]*".join(re.escape(piece) for piece in PLACEHOLDER.split(path)[::2]))
    parts = path.split("/")
    if shape.fullmatch(spec_path):
        return "is the spec"
    if parts[0] == ".github":
        return "is inside .github/, where pixi-htc writes the workflow"
    if parts[0] == build_dir and (len(parts) < 3 or parts[1] not in LANDING_DIRECTORIES):
        return f"is inside {build_dir}/, whose files pixi-htc generates (its manifest among them)"
    return ""


def slurm_time_problems(project: Project) -> Iterator[Problem]:
    """`--time=0` (and 00:00, 0-0, 0:0:0) means no limit at all to Slurm, not "the default"."""
    for job in project.jobs_on("slurm"):
        time = job.slurm.time
        if time is not None and re.fullmatch(r"[0-9:-]+", time) and not re.search(r"[1-9]", time):
            key: KeyPath = ("jobs", job.name, "slurm", "time")
            yield Problem(
                key,
                f"'{time}' is no time limit at all to Slurm; give the limit the job needs "
                "(e.g. 04:00:00), or leave time out for the partition's default",
                (key,),
            )


# Rows that land in generated files (an HTCondor sweep's inline queue table, a Slurm array table),
# over the whole project: 200 jobs of 100,000 rows each validate quickly and then write gigabytes.
MAX_PROJECT_ROWS = 200_000


def project_size_problems(project: Project) -> Iterator[Problem]:
    def written(job: Job) -> int:
        if job.sweep:
            return math.prod(len(values) for _, values in job.sweep)
        return len(job.sweep_from.rows or ()) if job.sweep_from is not None and job.scheduler == "slurm" else 0

    counts = [(written(job), job) for job in project.jobs]
    total = sum(count for count, _ in counts)
    if total > MAX_PROJECT_ROWS:
        count, largest = max(counts, key=lambda item: (item[0], item[1].name))
        key: KeyPath = ("jobs", largest.name, "sweep" if largest.sweep else "sweep_from")
        yield Problem(
            key,
            f"the jobs' sweeps write {total:,} rows into the build, at most {MAX_PROJECT_ROWS:,} "
            f"in a project; this job has the most ({count:,}): queue a list with sweep_from on HTCondor "
            "(its rows stay in your file), or split the work across projects",
            (key,),
        )


def host_problems(project: Project) -> Iterator[Problem]:
    """runtime host runs on the machine's own software: an image or a pixi environment would go unused."""
    for job in project.jobs:
        if job.runtime != "host":
            continue
        for key in ("image", "environment"):
            if key in job.keys:
                path: KeyPath = ("jobs", job.name, key)
                yield Problem(
                    path,
                    f"runtime host runs the job on the machine's own software and uses no {key}; "
                    "remove it, or use runtime container (an image) or pixi-pack (an environment)",
                    (path, ("jobs", job.name, "runtime")),
                    at_key=True,
                )


def command_problems(project: Project) -> Iterator[Problem]:
    """A command whose first word starts with '-' is read as an option by `exec` (and by sbatch's
    shell): `exec -1 ...` fails before the payload starts."""
    for job in project.jobs:
        if job.command and str(job.command[0]).startswith("-"):
            path: KeyPath = ("jobs", job.name, "command", 0)
            yield Problem(
                path,
                f"the command's first word {str(job.command[0])[:40]!r} starts with '-': the job "
                "script would read it as an option; name the program first",
                (path,),
            )


def universe_problems(project: Project) -> Iterator[Problem]:
    """The docker universe runs an image (runtime container); its pull policy needs it, and the OS
    clause of pixi-pack jobs exists only on them."""
    for job in project.jobs:

        def at(key: str, job: Job = job) -> KeyPath:
            return ("jobs", job.name, key)

        if "universe" in job.keys and job.universe == "docker" and job.runtime != "container":
            yield Problem(
                at("universe"),
                f"the docker universe runs a Docker image (runtime container), and this job is runtime {job.runtime}",
                (at("universe"), at("runtime")),
                at_key=True,
            )
        for key in ("docker_pull_policy", "docker_network_type"):
            if key in job.keys and job.universe != "docker":
                yield Problem(
                    at(key),
                    f"{key} is for the docker universe: add universe: docker",
                    (at(key), at("universe")),
                    at_key=True,
                )
        if "os_requirement" in job.keys and job.runtime != "pixi-pack":
            yield Problem(
                at("os_requirement"),
                "only pixi-pack jobs get the (OpSysMajorVer > 7) clause; say an OS in requirements",
                (at("os_requirement"), at("runtime")),
                at_key=True,
            )


def shared_filesystem_problems(project: Project, build_dir: str = BUILD_DIR) -> Iterator[Problem]:
    """should_transfer_files IF_NEEDED or NO: the job may run in initialdir, with no sandbox, so it
    needs one, and its files must be there as a sandbox would have them (each directly in it)."""
    for job in project.jobs_on("htcondor"):
        if job.should_transfer_files == "YES":
            continue
        at: KeyPath = ("jobs", job.name, "should_transfer_files")
        if job.initialdir is None:
            yield Problem(
                at,
                f"with {job.should_transfer_files} the job may run where it is submitted from, with no "
                "sandbox: set initialdir to the directory its files are in",
                (at, ("jobs", job.name, "initialdir")),
            )
            continue
        files: list[tuple[KeyPath, str]] = [
            (("jobs", job.name, "inputs", i), path) for i, path in enumerate(job.inputs)
        ]
        files += [(("source", i), path) for i, path in enumerate(project.source_paths(build_dir))]
        for key, path in files:
            if "://" in path or (path.rpartition("/")[0] or ".") != job.initialdir:
                yield Problem(
                    key,
                    f"'{path}' is not directly in initialdir {job.initialdir}, where a job that "
                    f"should_transfer_files {job.should_transfer_files} may run with no sandbox; move it there",
                    (key, at, ("jobs", job.name, "initialdir")),
                )


def sandbox_problems(project: Project, build_dir: str = BUILD_DIR) -> Iterator[Problem]:
    """Two files for one place in the job's directory. An input is where its path says
    (model.sandbox_path) and under its base name, where HTCondor transfers it (no
    preserve_relative_paths: see compiler/schedulers/htcondor/render.py; the Slurm script links both
    too); the code (source) under its own name; after an eviction HTCondor restores checkpoint files
    by base name. So no two of them may share a base name."""
    for job in project.jobs:
        entries: list[tuple[KeyPath, str, str]] = [
            (("jobs", job.name, "inputs", index), path, sandbox_path(path, build_dir))
            for index, path in enumerate(job.inputs)
            if not contents(path)  # a directory's entries: known only when the job is submitted
        ]
        entries += [
            (("source", index), path, path.rsplit("/", 1)[-1]) for index, path in enumerate(project.source or ())
        ]
        if job.scheduler == "htcondor" and job.checkpoint is not None:
            entries += [
                (("jobs", job.name, "checkpoint", "files", index), path, path)
                for index, path in enumerate(job.checkpoint.files)
                if "/" in path
            ]
        seen: dict[str, tuple[KeyPath, str, str]] = {}
        for key, path, place in entries:
            name = place.rsplit("/", 1)[-1]
            if name in seen and not key[0] == seen[name][0][0] == "source":  # those: rules._source_problems
                other_key, other, other_place = seen[name]
                how = (
                    f"both land at {place}"
                    if place == other_place
                    else f"both arrive under the base name {name}, as HTCondor transfers them"
                )
                yield Problem(
                    key,
                    f"'{path}' and '{other}' ({_shown(other_key)}) are one file in job "
                    f"'{job.name}'s directory ({how}): rename one",
                    (key, other_key),
                )
            seen.setdefault(name, (key, path, place))


def _shown(key: KeyPath) -> str:
    head = [str(part) for part in key if not isinstance(part, int)]
    return ".".join(head) + "".join(f"[{part}]" for part in key if isinstance(part, int))

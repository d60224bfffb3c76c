"""The schema-valid document as the model (model.py): each key's value where the spec sets it, its
default (the model's field default, or one derived from other keys here) where it does not. Names
come out sorted, so output order never depends on how the spec is ordered."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .model import (
    CI,
    POLICY,
    RESOURCE_DEFAULTS,
    Checkpoint,
    Chtc,
    Container,
    GpuConstraints,
    Job,
    OsPool,
    Pack,
    Project,
    Resources,
    Runtime,
    Scheduler,
    Slurm,
    Staging,
    SweepFrom,
)
from .sites import SITES
from .workspace import Environment, Workspace
from .workspace_building import (
    build_environment,
    build_tasks,
    build_workspace,
    explicit_platforms,
    with_included_cuda,
)


def _argument(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def build_project(doc: dict[str, Any], *, spec_path: str, spec_sha256: str) -> Project:
    """Build the model from a schema-valid document. Names come out sorted, so output order never
    depends on how the spec is ordered."""
    workspace = build_workspace(doc.get("workspace", {}))
    c = doc.get("container", {})
    container = Container(
        environment=c.get("environment", Container.environment),
        pixi_image=c.get("pixi_image", Container.pixi_image),
        image=c.get("image", f"ghcr.io/{doc['name']}/{doc['name']}"),
        tag=c.get("tag", Container.tag),
        apptainer=c.get("apptainer", Container.apptainer),
    )
    ci_doc = doc.get("ci", {})
    ci = CI(
        workflow=ci_doc.get("workflow", CI.workflow),
        branches=tuple(ci_doc.get("branches", CI.branches)),
        pixi_version=ci_doc.get("pixi_version", CI.pixi_version),
        pixi_htc=ci_doc.get("pixi_htc", CI.pixi_htc),
    )
    p = doc.get("pack", {})
    pack = Pack(
        environment=p.get("environment", container.environment),
        platform=p.get("platform", Pack.platform),
        archive=p.get("archive", Pack.archive),
    )
    scheduler = doc.get("scheduler", Project.scheduler)
    slurm = Slurm().merged(doc.get("slurm", {}))
    jobs = with_inherited_sweeps(
        tuple(_job(name, body, container, pack, scheduler, slurm) for name, body in sorted(doc.get("jobs", {}).items()))
    )
    if "apptainer" not in c and any(job.runtime == "apptainer" and job.image is None for job in jobs):
        container = replace(container, apptainer=True)
    st = doc.get("staging")
    staging = (
        None
        if st is None
        else Staging(
            directory=st["directory"].rstrip("/"),
            url=st["url"].rstrip("/")
            if "url" in st
            else SITES[doc.get("site", Project.site)].staging_url(st["directory"].rstrip("/")),
        )
    )
    declared = doc.get("environments", {})
    # Tasks of the default feature, then each environment's (its own tasks, and top-level ones that
    # name it); the targets' tasks live in their targets and are listed here for the rules.
    tasks = build_tasks(doc.get("tasks")) + tuple(
        task
        for name, body in sorted(declared.items())
        for task in build_tasks(body.get("tasks"), name, key=("environments", name, "tasks"))
    )
    with_tasks = {task.environment for task in tasks}
    environments = with_included_cuda(
        tuple(
            build_environment(name, body, workspace, _cuda_arch(name, jobs), name in with_tasks)
            for name, body in sorted(declared.items())
        )
    )
    environments = explicit_platforms(environments, workspace)
    parts: tuple[Workspace | Environment, ...] = (workspace, *environments)
    tasks += tuple(task for part in parts for target in part.targets for task in target.tasks)
    return Project(
        spec_path=spec_path,
        spec_sha256=spec_sha256,
        name=doc["name"],
        source=tuple(doc["source"]) if "source" in doc else None,
        site=doc.get("site", Project.site),
        staging=staging,
        scheduler=scheduler,
        slurm=slurm,
        keys=tuple(sorted(doc)),
        version=doc.get("version", Project.version),
        description=doc.get("description", Project.description),
        workspace=workspace,
        environments=environments,
        tasks=tasks,
        container=container,
        ci=ci,
        pack=pack,
        jobs=jobs,
    )


def _job(name: str, body: dict[str, Any], container: Container, pack: Pack, scheduler: Scheduler, slurm: Slurm) -> Job:
    runtime: Runtime = body["runtime"]
    memory, disk = RESOURCE_DEFAULTS[runtime]
    r = body.get("resources", {})
    g = body.get("gpu", {})
    h = body.get("chtc", {})
    cp = body.get("checkpoint")
    return Job(
        name=name,
        runtime=runtime,
        scheduler=body.get("scheduler", scheduler),
        environment=body.get("environment", _default_environment(body, runtime, container, pack)),
        image=body.get("image"),
        command=tuple(_argument(a) for a in body["command"]),
        inputs=tuple(body.get("inputs", ())),
        outputs=tuple(body.get("outputs", ())),
        # JSON Schema's "integer" accepts 2.0: the model holds ints, so the .sub says 2, not 2.0.
        resources=Resources(
            cpus=int(r.get("cpus", Resources.cpus)),
            gpus=int(r.get("gpus", Resources.gpus)),
            memory=r.get("memory", memory),
            disk=r.get("disk", disk),
            disk_set="disk" in r,
        ),
        gpu=GpuConstraints(
            min_capability=None if "min_capability" not in g else float(g["min_capability"]),
            min_memory=g.get("min_memory"),
            driver=None if "driver" not in g else _driver(g["driver"]),
            require=g.get("require"),
        ),
        chtc=Chtc(
            gpu_lab=h.get("gpu_lab", Chtc.gpu_lab),
            job_length=h.get("job_length"),
            resumable=h.get("resumable"),
            want_ospool=h.get("want_ospool", False),
            want_campus_pools=h.get("want_campus_pools", False),
        ),
        ospool=OsPool(duration=body.get("ospool", {}).get("duration"), project=body.get("ospool", {}).get("project")),
        site_keys=tuple(key for key in ("chtc", "ospool") if key in body),
        checkpoint=None
        if cp is None
        else Checkpoint(files=tuple(cp.get("files", ())), exit_code=int(cp.get("exit_code", Checkpoint.exit_code))),
        sweep=tuple(
            (var, tuple(_argument(v) for v in values)) for var, values in sorted(body.get("sweep", {}).items())
        ),
        sweep_from=None
        if "sweep_from" not in body
        else SweepFrom(file=body["sweep_from"]["file"], variables=tuple(body["sweep_from"]["variables"])),
        env=tuple(sorted(body.get("env", {}).items())),
        getenv=_getenv(body.get("getenv", Job.getenv)),
        stream_output=body.get("stream_output", False),
        stream_error=body.get("stream_error", False),
        requirements=tuple(body.get("requirements", ())),
        attributes=tuple(sorted(body.get("attributes", {}).items())),
        batch_name=body.get("batch_name"),
        max_retries=None if "max_retries" not in body else int(body["max_retries"]),
        universe=body.get("universe", Job.universe),
        docker_pull_policy=body.get("docker_pull_policy"),
        docker_network_type=body.get("docker_network_type"),
        os_requirement=body.get("os_requirement", Job.os_requirement),
        when_to_transfer_output=body.get("when_to_transfer_output", Job.when_to_transfer_output),
        should_transfer_files=body.get("should_transfer_files", Job.should_transfer_files),
        initialdir=body.get("initialdir"),
        count=int(body.get("count", Job.count)),
        notification=body.get("notification"),
        notify_user=body.get("notify_user"),
        policy=tuple((key, body[key]) for key in POLICY if key in body),
        output_remaps=tuple(sorted(body.get("output_remaps", {}).items())),
        logs=tuple(sorted(body.get("logs", {}).items())),
        slurm=slurm.merged(
            {**({"max_running": body["max_running"]} if "max_running" in body else {}), **body.get("slurm", {})}
        ),
        keys=tuple(sorted((*body, *(f"slurm.{key}" for key in body.get("slurm", {}))))),
        after=tuple(sorted(body.get("after", ()))),
        for_each=body.get("for_each"),
        always=body.get("always", False),
        retries=None if "retries" not in body else int(body["retries"]),
        max_running=None if "max_running" not in body else int(body["max_running"]),
    )


def with_inherited_sweeps(jobs: tuple[Job, ...]) -> tuple[Job, ...]:
    """A for_each job runs once per process of the job it follows: it takes that job's sweep (its
    lists, or its sweep_from file), through a chain of for_each jobs. A job that names an unknown job,
    one in a cycle or one without a sweep is left as it is, for the pipeline rules to report."""
    by_name = {job.name: job for job in jobs}

    def source(job: Job, seen: frozenset[str]) -> Job | None:
        if job.for_each is None:
            return job
        upstream = by_name.get(job.for_each)
        if upstream is None or upstream.name in seen or job.sweep or job.sweep_from:
            return None
        return source(upstream, seen | {job.name})

    inherited = []
    for job in jobs:
        origin = source(job, frozenset())
        if job.for_each is not None and origin is not None and origin.swept:
            job = replace(job, sweep=origin.sweep, sweep_from=origin.sweep_from)
        inherited.append(job)
    return tuple(inherited)


def _cuda_arch(environment: str, jobs: tuple[Job, ...]) -> str | None:
    """The `__cuda_arch` an environment declares: the lowest gpu.min_capability of the GPU jobs that
    run it, when every one of them sets one (a job without a floor may land on any GPU)."""
    floors = [job.gpu.min_capability for job in jobs if job.environment == environment and job.resources.gpus > 0]
    if not floors or None in floors:
        return None
    return str(min(f for f in floors if f is not None))


def _default_environment(body: dict[str, Any], runtime: Runtime, container: Container, pack: Pack) -> str | None:
    """A job that names an image and no environment runs someone else's image: nothing to activate."""
    if runtime == "pixi-pack":
        return pack.environment
    if runtime == "pixi":
        return container.environment
    if runtime == "host":
        return None  # the job brings its own software: nothing of pixi-htc's to activate
    return None if "image" in body else container.environment


def _getenv(value: bool | list[str]) -> bool | tuple[str, ...]:
    return value if isinstance(value, bool) else tuple(value)


def _driver(value: str | float) -> str:
    major, _, minor = str(value).partition(".")
    return f"{int(major)}.{int(minor or 0)}"

"""Rules on pipelines (#24): edges name jobs of the spec, on the same scheduler, without a cycle; a
for_each job follows a sweep and takes its rows; what only one DAG node can be (the always job)."""

from __future__ import annotations

from collections.abc import Iterator

from .graph import cycle, edges
from .loader import KeyPath
from .model import Job, Project
from .problem import Problem, did_you_mean


def pipeline_problems(project: Project) -> Iterator[Problem]:
    jobs = {job.name: job for job in project.jobs}
    for job in project.jobs:
        yield from _edge_problems(job, jobs)
        yield from _job_problems(job, jobs)
    loop = cycle(edges(project.jobs))
    if loop is not None:
        closing = jobs[loop[-1]]
        key = _edge_key(closing, loop[-2])
        yield Problem(
            key,
            f"the jobs run in a cycle ({' -> '.join(loop)}), so none of them could start; remove one of these edges",
            tuple(_edge_key(jobs[b], a) for a, b in zip(loop, loop[1:])),
        )
    yield from _always_problems(project)


def _edge_key(job: Job, upstream: str) -> KeyPath:
    if job.for_each == upstream:
        return ("jobs", job.name, "for_each")
    return ("jobs", job.name, "after", job.after.index(upstream)) if upstream in job.after else ("jobs", job.name)


def _edge_problems(job: Job, jobs: dict[str, Job]) -> Iterator[Problem]:
    for upstream in job.upstream:
        key = _edge_key(job, upstream)
        other = jobs.get(upstream)
        if other is None:
            yield Problem(
                key,
                f"'{upstream}' is not a job of this spec{did_you_mean(upstream, set(jobs) - {job.name})}"
                f" (jobs: {', '.join(sorted(jobs))})",
                (key,),
            )
        elif other.scheduler != job.scheduler:
            yield Problem(
                key,
                f"'{upstream}' runs on {other.scheduler} and this job on {job.scheduler}: a job can "
                "only run after jobs of its own scheduler; move both to one (their scheduler key)",
                (key, ("scheduler",), ("jobs", job.name, "scheduler"), ("jobs", upstream, "scheduler")),
            )
    if job.for_each is not None and job.for_each in job.after:
        key = ("jobs", job.name, "after", job.after.index(job.for_each))
        yield Problem(key, f"'{job.for_each}' is in for_each already (once per process); name it once", (key,))


def _job_problems(job: Job, jobs: dict[str, Job]) -> Iterator[Problem]:
    def j(*keys: str | int) -> KeyPath:
        return ("jobs", job.name, *keys)

    upstream = jobs.get(job.for_each or "")
    if upstream is not None and upstream.name != job.name:
        for key in ("sweep", "sweep_from"):
            if key in job.keys:
                yield Problem(
                    j(key),
                    f"a for_each job runs once per process of '{upstream.name}', with its sweep "
                    f"values; remove {key} here (or use after, to run once after the whole sweep)",
                    (j(key), j("for_each")),
                    at_key=True,
                )
        if not upstream.swept and "sweep" not in job.keys and "sweep_from" not in job.keys:
            yield Problem(
                j("for_each"),
                f"'{upstream.name}' has no sweep, so it has no processes to follow one by one; use after",
                (j("for_each"), ("jobs", upstream.name, "sweep"), ("jobs", upstream.name, "sweep_from")),
            )
    if job.max_running is not None and not job.swept:
        yield Problem(
            j("max_running"),
            "max_running limits a sweep's processes, and this job has no sweep",
            (j("max_running"), j("sweep"), j("sweep_from"), j("for_each")),
        )
    if job.max_running is not None and "slurm.max_running" in job.keys:
        yield Problem(
            j("slurm", "max_running"),
            "the job's max_running says this already; keep one",
            (j("max_running"), j("slurm")),
            at_key=True,
        )
    if job.always and not job.upstream:
        yield Problem(
            j("always"),
            "always runs a job after others whether or not they succeeded: name them in after",
            (j("always"), j("after"), j("for_each")),
            at_key=True,
        )
    for follower in (other for other in jobs.values() if job.name in other.upstream):
        if job.output_remaps:
            name = job.output_remaps[0][0]
            yield Problem(
                j("output_remaps", name),
                f"'{follower.name}' runs after this job and reads its outputs "
                f"where a pipeline leaves them (outputs/{job.name}/<process>/); remove output_remaps",
                (j("output_remaps"), ("jobs", follower.name)),
                at_key=True,
            )
            break
    arriving = {name: up for up in job.after if up in jobs for name in (up,)}
    if upstream is not None:
        arriving |= {output: upstream.name for output in upstream.outputs}
    for index, path in enumerate(job.inputs):
        base = path.rsplit("/", 1)[-1]
        if base in arriving:
            yield Problem(
                j("inputs", index),
                f"'{base}' arrives from '{arriving[base]}' (a job this one runs after) "
                "and would be replaced by this input; rename one",
                (j("inputs"), j("after"), j("for_each")),
            )


def _always_problems(project: Project) -> Iterator[Problem]:
    """On HTCondor the always job is the DAG's FINAL node: one per DAG, one process, no children, and
    DAGMan retries no FINAL node."""
    finals = [job for job in project.jobs_on("htcondor") if job.always]
    for job in finals[1:]:
        yield Problem(
            ("jobs", job.name, "always"),
            f"HTCondor runs an always job as the DAG's FINAL node, and "
            f"'{finals[0].name}' is that already: a DAG has one; make this one run after it",
            (("jobs", job.name, "always"), ("jobs", finals[0].name, "always")),
            at_key=True,
        )
    for job in finals:

        def j(*keys: str | int) -> KeyPath:
            return ("jobs", job.name, *keys)

        if job.swept:
            yield Problem(
                j("always"),
                "HTCondor runs an always job as the DAG's FINAL node, which is one process: "
                "remove the sweep (or for_each)",
                (j("always"), j("sweep"), j("sweep_from"), j("for_each")),
                at_key=True,
            )
        if job.retries is not None:
            yield Problem(
                j("retries"),
                "HTCondor runs an always job as the DAG's FINAL node, which DAGMan does not retry; remove retries",
                (j("retries"), j("always")),
                at_key=True,
            )
        for follower in project.jobs:
            if job.name in follower.upstream:
                key = _edge_key(follower, job.name)
                yield Problem(
                    key,
                    f"'{job.name}' is an always job, which HTCondor runs as the DAG's FINAL node, "
                    "after every other: nothing can run after it",
                    (key, j("always")),
                )

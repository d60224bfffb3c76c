"""The order of a pipeline's jobs (#24): which run after which, a cycle if there is one, and an order
to submit them in. Deterministic: ties are broken by name."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Job


def edges(jobs: Iterable[Job]) -> dict[str, tuple[str, ...]]:
    """Each job's upstream jobs that exist in the spec (unknown names are a rule's to report)."""
    jobs = tuple(jobs)
    known = {job.name for job in jobs}
    return {job.name: tuple(name for name in job.upstream if name in known) for job in jobs}


def cycle(graph: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The first cycle found, as names in the order they run (a -> b -> a ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(name: str) -> tuple[str, ...] | None:
        state[name] = 1
        path.append(name)
        for upstream in graph[name]:
            if state.get(upstream) == 1:
                loop = path[path.index(upstream) :]
                return (*reversed(loop), loop[-1])
            if upstream not in state and (found := visit(upstream)):
                return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return None


def order(jobs: Iterable[Job]) -> list[Job]:
    """The jobs, each after every job it runs after; among those ready at once, by name."""
    jobs = sorted(jobs, key=lambda job: job.name)
    graph = edges(jobs)
    if cycle(graph) is not None:
        raise ValueError("a pipeline with a cycle has no order (the rules reject it)")
    done: set[str] = set()
    ordered: list[Job] = []
    while len(ordered) < len(jobs):
        for job in jobs:
            if job.name not in done and all(name in done for name in graph[job.name]):
                ordered.append(job)
                done.add(job.name)
                break
    return ordered


def followers(jobs: Iterable[Job], name: str) -> list[Job]:
    """The jobs that run after `name`."""
    return [job for job in jobs if name in job.upstream]

"""The rules a JSON Schema cannot say: references between keys, placeholders, names pixi or HTCondor
reserve: the workspace's, tasks', source's and environments' here, each job's in job_key_rules.py.
Each broken rule is a Problem (problem.py) with a message that says how to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..core.defaults import BUILD_DIR
from .job_key_rules import defined_environments, job_problems
from .loader import KeyPath
from .model import Environment, Project
from .problem import Problem, did_you_mean
from .sites import SITES

PIXI_ENVIRONMENT_NAME = re.compile(r"[a-z0-9-]+")  # pixi's own rule (manifest schema v0.77.0)


def cross_key_problems(project: Project, build_dir: str = BUILD_DIR) -> Iterator[Problem]:
    """Rules across keys, each with a message that says how to fix it."""
    environments = {env.name: env for env in project.environments}
    yield from _source_problems(project, build_dir)
    for env in project.environments:
        e: KeyPath = ("environments", env.name)
        if not PIXI_ENVIRONMENT_NAME.fullmatch(env.name):
            fixed = re.sub(r"[^a-z\d\-]", "-", env.name.lower())
            yield Problem(
                e,
                f"pixi rejects environment name '{env.name}' (only lower-case letters, digits and '-'); try '{fixed}'",
                reads=(),
                at_key=True,
            )
        elif env.name == "pack":
            yield Problem(e, "'pack' is reserved: pixi-htc generates it", reads=(), at_key=True)
        elif env.name == "default" and (env.has_feature or env.feature_only):
            yield Problem(
                e,
                "the default environment's own packages are the workspace's (workspace.dependencies): "
                "here it may only include other environments' features (features, solve_group, "
                "no_default_feature)",
                reads=(),
                at_key=True,
            )
        elif env.name == "default" and project.workspace.default_environment is not None:
            yield Problem(
                e,
                "say which environment is the default once: here, or workspace.default_environment",
                (("workspace", "default_environment"),),
                at_key=True,
            )
        if env.feature_only:
            for key, value in (
                ("features", env.features),
                ("solve_group", env.solve_group),
                ("no_default_feature", env.no_default_feature),
            ):
                if value:
                    yield Problem(
                        (*e, key),
                        f"'{key}' describes an environment, and '{env.name}' is feature_only",
                        ((*e, key), (*e, "feature_only")),
                    )
        for index, included in enumerate(env.features):
            if included not in environments or included == env.name:
                yield Problem(
                    (*e, "features", index),
                    f"'{included}' is not another environment of this spec"
                    f"{did_you_mean(included, set(environments) - {env.name})}",
                    ((*e, "features"),),
                )
        if env.platform_feature in environments:
            yield Problem(
                e,
                f"pixi-htc names the feature that selects this environment's platforms "
                f"'{env.platform_feature}', which is another environment: rename one",
                reads=(),
                at_key=True,
            )
        platforms_read = ((*e, "cuda"), (*e, "platforms"))  # a CUDA environment defaults to linux-64
        if env.effective_cuda and not set(env.platforms) & {"linux-64", "linux-aarch64"}:
            yield Problem((*e, "platforms"), "a CUDA environment needs a linux platform", platforms_read)
        known = _platform_names(project)
        outside = [item for item in env.platform_items or () if item not in known]
        if outside:
            yield Problem(
                (*e, "platforms"),
                f"{', '.join(outside)} not in workspace.platforms ({', '.join(known)})",
                (*platforms_read, ("workspace", "platforms")),
            )

    for section, name in (("container", project.container.environment), ("pack", project.pack.environment)):
        needed = bool(environments) if section == "container" else project.has_pixi_pack_jobs
        if needed and name not in environments:
            yield Problem(
                (section, "environment"),
                f"environment '{name}' is not defined{did_you_mean(name, environments)} {defined_environments(environments)}",
                ((section, "environment"), ("environments", name)),
            )
        elif needed and environments[name].feature_only:
            yield Problem(
                (section, "environment"),
                f"'{name}' is feature_only: pixi has no environment of that name to install",
                ((section, "environment"), ("environments", name)),
            )
    pack_env = environments.get(project.pack.environment)
    if project.has_pixi_pack_jobs and pack_env and project.pack.platform not in pack_env.platforms:
        yield Problem(
            ("pack", "platform"),
            f"environment '{pack_env.name}' is not solved for {project.pack.platform}",
            (("pack",), ("environments", pack_env.name)),
        )
    image_env = environments.get(project.container.environment)
    if image_env and "linux-64" not in image_env.platforms:
        yield Problem(
            ("container", "environment"),
            f"the image is linux-64, and '{image_env.name}' is not solved for linux-64",
            (("container", "environment"), ("environments", image_env.name)),
        )

    default = project.workspace.default_environment
    if default is not None and default not in environments:
        yield Problem(
            ("workspace", "default_environment"),
            f"environment '{default}' is not defined{did_you_mean(default, environments)}",
            (("workspace", "default_environment"),),
        )
    elif default is not None and environments[default].feature_only:
        yield Problem(
            ("workspace", "default_environment"),
            f"'{default}' is feature_only: no environment to copy",
            (("workspace", "default_environment"), ("environments", default)),
        )
    yield from _task_problems(project, environments)
    yield from _workspace_problems(project)

    if project.staging is not None and project.staging.url is None:
        example = SITES[project.site].staging_example
        where = (
            f"site {project.site} stages under {example}" if example else f"site {project.site} has no known staging"
        )
        yield Problem(
            ("staging",),
            f"{where}, so how jobs reach {project.staging.directory} is unknown: set staging.url (osdf:///...)",
            (("staging",), ("site",)),
        )
    for job in project.jobs:
        yield from job_problems(project, job, environments)


def _platform_names(project: Project) -> list[str]:
    """What an environment's platforms may name: the workspace's entries, by name, and its subdirs."""
    names = [entry.name for entry in project.workspace.platform_entries]
    return names + [subdir for subdir in project.workspace.platforms if subdir not in names]


def _workspace_problems(project: Project) -> Iterator[Problem]:
    """Platform entries features select by name need distinct names; and workspace keys or tasks
    describe pixi's default environment, which a spec without environments would silently drop."""
    seen: set[str] = set()
    for index, entry in enumerate(project.workspace.platform_entries):
        if entry.name in seen:
            yield Problem(
                ("workspace", "platforms", index),
                f"two platform entries are named '{entry.name}'; give each its own name",
                (("workspace", "platforms"),),
            )
        seen.add(entry.name)
    if not project.environments:
        for key in ("workspace", "tasks"):
            if key in project.keys:
                yield Problem(
                    (key,),
                    f"'{key}' describes pixi's default environment, and the spec defines no "
                    "environments, so nothing would be generated for it: add `environments: {default: {}}` "
                    "(or remove it, for jobs that only run images of their own)",
                    ((key,), ("environments",)),
                    at_key=True,
                )


def _task_problems(project: Project, environments: dict[str, Environment]) -> Iterator[Problem]:
    task_names = {t.name for t in project.tasks}
    scopes: set[tuple[str | None, str | None, str]] = set()
    for task in project.tasks:
        key: KeyPath = task.key or ("tasks", task.name)
        scope = (task.environment, task.platform, task.name)
        if scope in scopes:
            where = f"environment '{task.environment}'" if task.environment else "the default feature"
            yield Problem(
                key,
                f"task '{task.name}' is defined twice for {where}"
                + (f" on {task.platform}" if task.platform else "")
                + " (once under tasks with environment, "
                "once under the environment's tasks): keep one",
                (key,),
                at_key=True,
            )
        scopes.add(scope)
        if task.cmd is None and not task.depends_on:
            yield Problem(key, "a task needs cmd, or depends_on for an alias", (key,))
        if task.environment is not None and task.environment not in environments:
            yield Problem(
                (*key, "environment"),
                f"environment '{task.environment}' is not defined{did_you_mean(task.environment, environments)}",
                ((*key, "environment"),),
            )
        for dependency in task.depends_on:
            if dependency not in task_names:
                yield Problem(
                    (*key, "depends_on"),
                    f"task '{dependency}' is not defined{did_you_mean(dependency, task_names)}",
                    ((*key, "depends_on"), ("tasks", dependency)),
                )


def _source_problems(project: Project, build_dir: str) -> Iterator[Problem]:
    """The user's code lives outside the build directory, and lands in a job's sandbox (and the
    image's /app) under its own name: two entries may not share one."""
    seen: dict[str, str] = {}
    for index, path in enumerate(project.source or ()):
        if path == build_dir or path.startswith(f"{build_dir}/"):
            yield Problem(
                ("source", index),
                f"'{path}' is inside the build directory, which pixi-htc owns; name your code where it lives",
                (("source",),),
            )
        name = path.rsplit("/", 1)[-1]
        if name in seen:
            yield Problem(
                ("source", index), f"'{path}' and '{seen[name]}' would both arrive as '{name}'", (("source",),)
            )
        seen.setdefault(name, path)

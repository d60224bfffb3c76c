"""PyPI dependencies that the image or pixi-pack cannot build (issue #23, item 3).

Refused rather than made to build, for two reasons read at the source:
- The image's build stage copies only pixi.toml and pixi.lock before `pixi install --locked` (so its
  layer is cached until the lock changes), and the final stage copies only the environment. A `path`
  dependency points at files the stage does not have, and an editable one at a source tree the final
  image lacks; copying the project in would rebuild the environment at every source edit.
- pixi-pack (src/pack.rs, v0.7.x) packs a PyPI package only when its locked location is a wheel file:
  anything else (a path to a directory, git, an sdist) fails the pack, and `--ignore-pypi-non-wheel`
  leaves the package out of the job's environment.
Environments the image and the archive do not install (a local development one) keep them.
"""

from __future__ import annotations

from collections.abc import Iterator

from .loader import KeyPath
from .model import Project
from .problem import Problem
from .workspace import Dependencies, Environment, Table, Target

FIX = (
    "build a wheel and depend on it by version from an index, or as {url: https://.../name.whl}; "
    "or keep it in an environment that is neither container.environment nor pack.environment"
)


def selects(selector: str, platform: str) -> bool:
    """Whether a target (a platform, or linux / osx / win / unix) applies to a platform."""
    family = platform.split("-")[0]
    return selector in (platform, family) or (selector == "unix" and family in ("linux", "osx"))


def pypi_source_problems(project: Project) -> Iterator[Problem]:
    environments = {env.name: env for env in project.environments}
    built: list[tuple[str, str, str]] = []  # (environment, platform, what builds it)
    # The image matters where a job runs it, and CI builds it only then (a workspace just moved in, with
    # no such job, is told when a job starts to need it).
    if project.container.environment in environments and project.runs_project_image:
        built.append((project.container.environment, "linux-64", "image"))
    if project.has_pixi_pack_jobs and project.pack.environment in environments:
        built.append((project.pack.environment, project.pack.platform, "pixi-pack"))
    seen: set[tuple[KeyPath, str]] = set()
    for name, platform, builder in built:
        for key, package, requirement in _pypi(project, environments, environments[name], platform):
            message = _why(package, requirement, builder, name)
            if message and (key, builder) not in seen:
                seen.add((key, builder))
                yield Problem(key, message, (key, (("container" if builder == "image" else "pack"), "environment")))


def _why(package: str, requirement: str | Table, builder: str, environment: str) -> str:
    if isinstance(requirement, str):
        return ""
    table = dict(requirement.items)
    where = f"container.environment '{environment}'" if builder == "image" else f"pack.environment '{environment}'"
    if table.get("editable"):
        return (
            f"'{package}' is an editable install, and {where} is built into the "
            f"{'image' if builder == 'image' else 'pixi-pack archive'}, which has no source tree for it "
            f"to point at: {FIX}"
        )
    if "path" in table:
        path = _from_root(str(table["path"]))
        if builder == "image":
            return (
                f"'{package}' is a path dependency ({path}), and the image's build stage holds only pixi.toml "
                f"and pixi.lock, so {where} cannot be installed there: {FIX}"
            )
        if not path.endswith(".whl"):
            return (
                f"'{package}' is a path dependency ({path}), and pixi-pack packs PyPI packages only as wheel "
                f"files, so the archive of {where} cannot be made: {FIX}"
            )
    if builder == "pixi-pack" and "git" in table:
        return (
            f"'{package}' is a git dependency, and pixi-pack packs PyPI packages only as wheel files, so the "
            f"archive of {where} cannot be made: {FIX}"
        )
    if builder == "pixi-pack" and "url" in table and not str(table["url"]).endswith(".whl"):
        return (
            f"'{package}' is a source archive (url), and pixi-pack packs PyPI packages only as wheel files, "
            f"so the archive of {where} cannot be made: {FIX}"
        )
    return ""


def _from_root(path: str) -> str:
    """A path as the spec wrote it (the model holds it as build/pixi.toml reads it, one level down)."""
    return "." if path == ".." else path.removeprefix("../")


def _pypi(
    project: Project, environments: dict[str, Environment], env: Environment, platform: str
) -> Iterator[tuple[KeyPath, str, str | Table]]:
    """Every PyPI dependency the environment installs on the platform, with the spec key that sets it:
    its own feature's, those of the environments it includes, and the default feature's."""
    parts: list[tuple[KeyPath, Dependencies, tuple[Target, ...]]] = []
    for name in (env.name, *env.features):
        if name in environments:
            one = environments[name]
            parts.append((("environments", name), one.pypi_dependencies, one.targets))
    if not env.no_default_feature:
        parts.append((("workspace",), project.workspace.pypi_dependencies, project.workspace.targets))
    for prefix, dependencies, targets in parts:
        for package, requirement in dependencies:
            yield (*prefix, "pypi_dependencies", package), package, requirement
        for target in targets:
            if selects(target.platform, platform):
                for package, requirement in target.pypi_dependencies:
                    yield (*prefix, "target", target.platform, "pypi_dependencies", package), package, requirement

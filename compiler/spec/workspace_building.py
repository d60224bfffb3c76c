"""The pixi side of the spec document as the model (workspace.py): the workspace, environments and tasks
with their defaults, paths rewritten for build/pixi.toml, one directory down from the project root."""

from __future__ import annotations

import dataclasses
from typing import Any

from .platforms import SYSTEM_REQUIREMENTS, Table, cuda_key, cuda_text, entry, selected
from .workspace import (
    DEFAULT_CHANNELS,
    DEFAULT_PLATFORMS,
    DEFAULT_WORKSPACE_DEPENDENCIES,
    METADATA_KEYS,
    Activation,
    Channel,
    Dependencies,
    Environment,
    Requirement,
    Target,
    Task,
    Workspace,
    from_build_dir,
    from_root,
)


def requirements(mapping: dict[str, Any] | None, *, paths: bool = False) -> Dependencies:
    """Sorted by name; a table keeps its keys in the spec's order, `path` rewritten for build/."""

    def one(value: Any) -> Requirement:
        if isinstance(value, str):
            return value
        items = tuple((k, from_build_dir(v) if paths and k == "path" else _inline(v)) for k, v in value.items())
        return Table(items)

    return tuple(sorted((str(name), one(value)) for name, value in (mapping or {}).items()))


def _inline(value: Any) -> Any:
    if isinstance(value, dict):
        return Table(tuple((k, _inline(v)) for k, v in value.items()))
    return tuple(_inline(v) for v in value) if isinstance(value, list) else value


def activation(doc: dict[str, Any] | None) -> Activation:
    doc = doc or {}
    return Activation(
        env=tuple(sorted((k, from_root(v)) for k, v in doc.get("env", {}).items())),
        scripts=tuple(from_build_dir(s) for s in doc.get("scripts", ())),
    )


def channels(items: Any) -> tuple[Channel, ...]:
    return tuple(item if isinstance(item, str) else _inline(item) for item in items)


def pypi_options(doc: dict[str, Any] | None) -> Table | None:
    """pixi's [pypi-options]; find-links paths are the project root's, written from build/."""
    if not doc:
        return None

    def value(key: str, item: Any) -> Any:
        if key == "find_links":
            return tuple(
                Table(tuple((k, from_build_dir(v) if k == "path" else v) for k, v in link.items())) for link in item
            )
        return _inline(item)

    return Table(tuple((key.replace("_", "-"), value(key, item)) for key, item in doc.items()))


def conda_pypi_map(value: Any) -> Table | bool | None:
    """A channel to its mapping: a file of the project (written from build/), a URL, or false."""
    if value is None or value is False:
        return value
    return Table(
        tuple(
            (channel, from_build_dir(where) if isinstance(where, str) and "://" not in where else where)
            for channel, where in value.items()
        )
    )


def build_tasks(
    doc: dict[str, Any] | None,
    environment: str | None = None,
    platform: str | None = None,
    key: tuple[str, ...] = ("tasks",),
) -> tuple[Task, ...]:
    return tuple(
        dataclasses.replace(build_task(name, body, environment, platform), key=(*key, name))
        for name, body in sorted((doc or {}).items())
    )


def targets(doc: dict[str, Any] | None, environment: str | None = None) -> tuple[Target, ...]:
    where = ("workspace",) if environment is None else ("environments", environment)
    return tuple(
        Target(
            platform=platform,
            dependencies=requirements(body.get("dependencies")),
            pypi_dependencies=requirements(body.get("pypi_dependencies"), paths=True),
            activation=activation(body.get("activation")),
            tasks=build_tasks(body.get("tasks"), environment, platform, (*where, "target", platform, "tasks")),
        )
        for platform, body in sorted((doc or {}).items())
    )


def build_workspace(ws: dict[str, Any]) -> Workspace:
    system = tuple(
        (key, str(ws["system_requirements"][key]))
        for key in SYSTEM_REQUIREMENTS
        if key in ws.get("system_requirements", {})
    )
    cuda = cuda_text(ws.get("cuda"))
    items = ws.get("platforms", DEFAULT_PLATFORMS)
    subdirs = [item if isinstance(item, str) else item["platform"] for item in items]
    return Workspace(
        channels=channels(ws.get("channels", DEFAULT_CHANNELS)),
        channel_priority=ws.get("channel_priority"),
        platforms=tuple(dict.fromkeys(subdirs)),
        platform_entries=tuple(entry(item, system, cuda) for item in items),
        dependencies=requirements(ws.get("dependencies", DEFAULT_WORKSPACE_DEPENDENCIES)),
        pypi_dependencies=requirements(ws.get("pypi_dependencies"), paths=True),
        pypi_options=pypi_options(ws.get("pypi_options")),
        conda_pypi_map=conda_pypi_map(ws.get("conda_pypi_map")),
        targets=targets(ws.get("target")),
        activation=activation(ws.get("activation")),
        cuda=cuda,
        system_requirements=system,
        default_environment=ws.get("default_environment"),
        authors=tuple(ws.get("authors", ())),
        metadata=tuple((key.replace("_", "-"), ws[key]) for key in METADATA_KEYS[1:] if key in ws),
    )


def build_environment(
    name: str, body: dict[str, Any], workspace: Workspace, cuda_arch: str | None = None, has_tasks: bool = False
) -> Environment:
    """cuda_arch: the compute capability its GPU jobs all ask for at least (None: some job takes any GPU)."""
    cuda = cuda_text(body.get("cuda"))
    items = tuple(body["platforms"]) if "platforms" in body else None
    entries = selected(items, workspace.platform_entries, workspace.system_requirements, cuda, cuda_arch)
    declared = sorted((p for p in entries if p.cuda is not None), key=lambda p: cuda_key(p.cuda or "0"))
    strongest = declared[-1] if declared else None
    own_names = tuple(p.name for p in workspace.platform_entries)
    return Environment(
        name=name,
        cuda=cuda,
        # The workspace's CUDA is declared on its platforms, which every environment solves for.
        effective_cuda=cuda or (strongest.cuda if strongest else None) or workspace.cuda,
        cuda_arch=strongest.cuda_arch if strongest else None,
        platforms=tuple(dict.fromkeys(p.subdir for p in entries)),
        platform_items=items,
        platforms_narrowed=items is not None and items != own_names,
        platform_entries=entries,
        dependencies=requirements(body.get("dependencies")),
        pypi_dependencies=requirements(body.get("pypi_dependencies"), paths=True),
        pypi_options=pypi_options(body.get("pypi_options")),
        targets=targets(body.get("target"), name),
        channels=channels(body.get("channels", ())),
        channel_priority=body.get("channel_priority"),
        activation=activation(body.get("activation")),
        features=tuple(body.get("features", ())),
        # The default environment copies this one; one solve group gives both the same versions.
        solve_group=body.get("solve_group", name if name == workspace.default_environment else None),
        no_default_feature=body.get("no_default_feature", False),
        feature_only=body.get("feature_only", False),
        has_tasks=has_tasks,
    )


def with_included_cuda(environments: tuple[Environment, ...]) -> tuple[Environment, ...]:
    """An environment without CUDA of its own takes the first CUDA among the features it includes
    (`default = ["cuda", "test"]` solves with cuda's __cuda), before the workspace's."""
    by_name = {env.name: env for env in environments}

    def own(env: Environment) -> str | None:
        """The CUDA its feature declares: its own, or that of an entry its feature selects."""
        return env.cuda or (env.effective_cuda if env.platforms_narrowed else None)

    return tuple(
        env
        if own(env) is not None
        else dataclasses.replace(
            env,
            effective_cuda=next(
                (own(by_name[f]) for f in env.features if f in by_name and own(by_name[f])), env.effective_cuda
            ),
        )
        for env in environments
    )


def explicit_platforms(environments: tuple[Environment, ...], workspace: Workspace) -> tuple[Environment, ...]:
    """pixi gives an environment that selects no platforms every [workspace].platforms entry, the CUDA
    variants other environments select included (issue #21: a cpu environment solved again for CUDA).
    An environment that wants fewer selects its own: in its feature, or, when it has none (`default`,
    or one made only of other features), in a feature pixi-htc adds for it."""
    full = tuple(p.name for p in workspace.all_platforms(environments))
    by_name = {env.name: env for env in environments}
    out = []
    for env in environments:
        narrowing = env.selects_platforms or any(by_name[f].selects_platforms for f in env.features if f in by_name)
        if env.feature_only or narrowing or tuple(p.name for p in env.platform_entries) == full:
            out.append(env)
        elif env.has_feature:
            out.append(dataclasses.replace(env, platforms_narrowed=True))
        else:
            out.append(dataclasses.replace(env, platform_feature=f"{env.name}-platforms"))
    return tuple(out)


def build_task(
    name: str, body: str | dict[str, Any], environment: str | None = None, platform: str | None = None
) -> Task:
    if isinstance(body, str):
        body = {"cmd": body}
    args = tuple(a if isinstance(a, str) else Table(tuple(a.items())) for a in body.get("args", ()))
    cmd = body.get("cmd")
    # pixi runs a task in its manifest's directory: build/, one level down from where the spec's
    # paths start. An alias runs nothing, so it needs no directory. (prefix-dev/pixi v0.77.0:
    # executable_task.rs `working_directory` runs a task in `workspace.root().join(cwd)`, the root
    # being the manifest's parent, workspace/mod.rs `from_manifests`; task_hash.rs globs `inputs` and
    # `outputs` from that root too, not from the task's cwd; tests/test_init_pixi_corpus.py.)
    cwd = from_build_dir(body.get("cwd", ".")) if cmd is not None else None
    return Task(
        name=name,
        cmd=None if cmd is None else from_root(cmd),
        description=body.get("description", ""),
        depends_on=tuple(body.get("depends_on", ())),
        environment=body.get("environment", environment),
        platform=platform,
        cwd=cwd,
        env=tuple(sorted((k, from_root(v)) for k, v in body.get("env", {}).items())),
        inputs=tuple(body.get("inputs", ())),
        outputs=tuple(body.get("outputs", ())),
        args=args,
    )

"""The pixi side of the model: the workspace, its environments and tasks, with their defaults.

Values keep pixi's own shape where pixi has one (dependency tables, targets, activation, platform
entries), so that a workspace moved into a spec comes back as it was. Paths in the spec are relative
to the project root; pixi reads them relative to build/pixi.toml, one directory down, so they are
written from there. For the same reason tasks run from the project root (`cwd = ".."`, pixi's own
default moved with the manifest) and `$PIXI_PROJECT_ROOT` in a task or activation means the project root.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from .platforms import CUDA_SUBDIRS, SYSTEM_REQUIREMENTS, Platform, Table, cuda_key, cuda_text, entry, selected

__all__ = ["CUDA_SUBDIRS", "SYSTEM_REQUIREMENTS", "Platform", "Table", "cuda_text"]

DEFAULT_CHANNELS = ("conda-forge",)
DEFAULT_PLATFORMS = ("linux-64", "osx-arm64", "win-64")
DEFAULT_WORKSPACE_DEPENDENCIES = {"python": "3.12.*"}
METADATA_KEYS = ("authors", "license", "homepage", "repository", "documentation", "requires_pixi")
# pixi sets $PIXI_PROJECT_ROOT to the manifest's directory, build/: one level up is the project root.
PROJECT_ROOT_VARIABLE = re.compile(r"\$\{PIXI_PROJECT_ROOT\}|\$PIXI_PROJECT_ROOT(?![A-Za-z0-9_])")

# A dependency: a version spec, or a Table ({version, channel, build}, {git, rev}, {path, editable}...).
Requirement = str | Table
Dependencies = tuple[tuple[str, Requirement], ...]
Channel = str | Table  # a name or URL, or { channel, priority }


def from_build_dir(path: str) -> str:
    """A project-root-relative path as build/pixi.toml sees it (the build directory is one level down)."""
    return ".." if path == "." else f"../{path}"


def from_root(text: str) -> str:
    """A command or value of the spec, where $PIXI_PROJECT_ROOT means the project root, as pixi runs
    it from build/ (where pixi sets the variable to build/)."""
    return PROJECT_ROOT_VARIABLE.sub(lambda match: f"{match.group(0)}/..", text)


@dataclass(frozen=True, kw_only=True)
class Activation:
    env: tuple[tuple[str, str], ...] = ()
    scripts: tuple[str, ...] = ()  # relative to the build directory

    def __bool__(self) -> bool:
        return bool(self.env or self.scripts)

    @property
    def env_table(self) -> Table:
        return Table(self.env)


@dataclass(frozen=True, kw_only=True)
class Task:
    name: str
    cmd: str | None = None
    description: str = ""
    depends_on: tuple[str, ...] = ()
    environment: str | None = None  # defined in that environment's feature only
    platform: str | None = None  # defined in that target only (a platform or a selector such as unix)
    cwd: str | None = None  # relative to the build directory; None only for an alias
    env: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ()  # globs relative to the project root, as the spec writes them
    outputs: tuple[str, ...] = ()
    args: tuple[str | Table, ...] = ()
    key: tuple[str, ...] = ()  # where the spec defines it: ("tasks", name), ("environments", e, "tasks", name)...

    def globs_in(self, build_dir: str, globs: tuple[str, ...]) -> tuple[str, ...]:
        """The globs pixi can hash, as build/pixi.toml writes them: those inside the build directory.

        pixi hashes a task's inputs and outputs from the manifest's directory (build/), and a glob that
        leads out of it (`../src/**`) panics pixi after the task ran, on every run (prefix-dev/pixi
        v0.77.0: pixi_glob's walk_root.rs moves the walk up to the parent, then
        crates/pixi_task/src/file_hashes.rs:119 `strip_prefix(root).expect(...)`). So the others are
        left out (the task then runs every time) and the manifest says so."""
        return tuple(glob.removeprefix(f"{build_dir}/") for glob in globs if glob.startswith(f"{build_dir}/"))

    def left_out(self, build_dir: str) -> tuple[str, ...]:
        return tuple(glob for glob in (*self.inputs, *self.outputs) if not glob.startswith(f"{build_dir}/"))

    def table(self, build_dir: str) -> Table | None:
        """The task as a pixi inline table, or None when a plain command line says it all."""
        items: list[tuple[str, Any]] = []
        for key, value in (
            ("cmd", self.cmd),
            ("description", self.description or None),
            ("depends-on", self.depends_on),
            ("cwd", self.cwd),
            ("env", Table(self.env) if self.env else None),
            ("inputs", self.globs_in(build_dir, self.inputs)),
            ("outputs", self.globs_in(build_dir, self.outputs)),
            ("args", self.args),
        ):
            if value:
                items.append((key, value))
        return None if items == [("cmd", self.cmd)] else Table(tuple(items))


@dataclass(frozen=True, kw_only=True)
class Target:
    """Additions for one platform (or a selector such as `linux` or `unix`)."""

    platform: str
    dependencies: Dependencies = ()
    pypi_dependencies: Dependencies = ()
    activation: Activation = field(default_factory=Activation)
    tasks: tuple[Task, ...] = ()

    @property
    def targets(self) -> tuple[Target, ...]:
        return ()  # targets do not nest; the template renders workspaces, environments and targets alike


@dataclass(frozen=True, kw_only=True)
class Workspace:
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS
    channel_priority: str | None = None
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS  # the subdirs, each once, in the spec's order
    platform_entries: tuple[Platform, ...] = ()  # set by build_workspace: one per spec item
    dependencies: Dependencies = tuple(sorted(DEFAULT_WORKSPACE_DEPENDENCIES.items()))
    pypi_dependencies: Dependencies = ()
    pypi_options: Table | None = None
    conda_pypi_map: Table | bool | None = None
    targets: tuple[Target, ...] = ()
    activation: Activation = field(default_factory=Activation)
    cuda: str | None = None
    system_requirements: tuple[tuple[str, str], ...] = ()  # in SYSTEM_REQUIREMENTS order
    default_environment: str | None = None
    authors: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()  # license, homepage, ... as pixi names them

    @property
    def tool_entries(self) -> tuple[Platform, ...]:
        """The plain (no CUDA) entries tool environments select, one per workspace entry: `pixi run -e
        pack pack` runs on an access point, which has no GPU driver (issue #23)."""
        return tuple({p.plain.name: p.plain for p in self.platform_entries}.values())

    def pack_platforms(self, environments: tuple[Environment, ...]) -> tuple[str, ...]:
        """The entries pixi-pack's own environment selects: the workspace's without CUDA, not the CUDA
        variants environments add (empty: it selects none, as there are no others)."""
        own = tuple(p.name for p in self.tool_entries)
        return () if own == tuple(p.name for p in self.all_platforms(environments)) else own

    def all_platforms(self, environments: tuple[Environment, ...]) -> tuple[Platform, ...]:
        """`[workspace].platforms`: its own entries, then each CUDA variant an environment selects,
        then the plain entries of tool environments. pixi installs the first entry (in this order) a
        host satisfies that the environment selects, so a plain entry placed after a CUDA one for the
        same subdir changes nothing for the environments that select the CUDA one."""
        entries: dict[str, Platform] = {entry.name: entry for entry in self.platform_entries}
        for env in environments:
            for one in env.platform_entries:
                entries.setdefault(one.name, one)
        for one in self.tool_entries:
            entries.setdefault(one.name, one)
        return tuple(entries.values())


@dataclass(frozen=True, kw_only=True)
class Environment:
    name: str
    cuda: str | None = None  # this environment's own CUDA
    effective_cuda: str | None = None  # its own, that of an entry it selects, or the workspace's
    cuda_arch: str | None = None  # the __cuda_arch it declares (its GPU jobs' floor, or its entry's)
    platforms: tuple[str, ...]  # the subdirs it is solved for
    platform_items: tuple[str, ...] | None = None  # the spec's platforms (subdirs or entry names), if set
    platforms_narrowed: bool
    platform_entries: tuple[Platform, ...] = ()  # the workspace platforms its feature selects
    dependencies: Dependencies = ()
    pypi_dependencies: Dependencies = ()
    pypi_options: Table | None = None
    targets: tuple[Target, ...] = ()
    channels: tuple[Channel, ...] = ()
    channel_priority: str | None = None
    activation: Activation = field(default_factory=Activation)
    features: tuple[str, ...] = ()  # other environments whose features it includes
    solve_group: str | None = None
    no_default_feature: bool = False
    feature_only: bool = False  # a pixi feature other environments include, and no environment of its own
    has_tasks: bool = False  # tasks run in it, which its feature holds
    platform_feature: str | None = None  # a feature of pixi-htc's that selects its platforms (see explicit_platforms)

    @property
    def driver_version(self) -> str | None:
        """The lowest gpus_minimum_runtime that runs this CUDA: 12 -> 12.0, 12.4.1 -> 12.4."""
        if self.effective_cuda is None:
            return None
        major, _, rest = self.effective_cuda.partition(".")
        return f"{int(major)}.{int(rest.partition('.')[0] or 0)}"

    @property
    def selects_platforms(self) -> bool:
        """Whether its feature names platforms: it narrows the workspace's, or has CUDA of its own."""
        return self.platforms_narrowed or self.cuda is not None

    @property
    def has_header(self) -> bool:
        """Whether its feature has a [feature.<name>] table of plain keys."""
        return self.selects_platforms or bool(self.channels) or self.channel_priority is not None

    @property
    def has_feature(self) -> bool:
        """Whether pixi gets a [feature.<name>] for it: something of its own to say. An environment that
        only combines others (`all = ["cuda", "test"]`, or `default`) has none, and may not name one."""
        return bool(
            self.dependencies
            or self.pypi_dependencies
            or self.targets
            or self.activation
            or self.pypi_options
            or self.has_header
            or self.has_tasks
        )

    @property
    def composition(self) -> tuple[str, ...]:
        """The pixi features of this environment: its own (when it has one), then those it includes."""
        own = (self.name,) if self.has_feature else ()
        return (*own, *self.features, *((self.platform_feature,) if self.platform_feature else ()))

    @property
    def definition(self) -> tuple[str, ...] | Table:
        """Its `[environments]` value: the list of features, or a table when it says more."""
        if self.solve_group is None and not self.no_default_feature:
            return self.composition
        items: list[tuple[str, Any]] = [("features", self.composition)]
        if self.solve_group is not None:
            items.append(("solve-group", self.solve_group))
        if self.no_default_feature:
            items.append(("no-default-feature", True))
        return Table(tuple(items))

    @property
    def implied(self) -> bool:
        """pixi's own default environment exactly (the default feature alone): nothing to write."""
        return self.name == "default" and self.definition == ()


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

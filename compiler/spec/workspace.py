"""The pixi side of the model: the workspace, its environments and tasks, with their defaults (made
from the document by workspace_building.py).

Values keep pixi's own shape where pixi has one (dependency tables, targets, activation, platform
entries), so that a workspace moved into a spec comes back as it was. Paths in the spec are relative
to the project root; pixi reads them relative to build/pixi.toml, one directory down, so they are
written from there. For the same reason tasks run from the project root (`cwd = ".."`, pixi's own
default moved with the manifest) and `$PIXI_PROJECT_ROOT` in a task or activation means the project root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .platforms import CUDA_SUBDIRS, SYSTEM_REQUIREMENTS, Platform, Table, cuda_text

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

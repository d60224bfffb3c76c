"""The pixi side of the model: the workspace, its environments and tasks, with their defaults.

Values keep pixi's own shape where pixi has one (dependency tables, targets, activation), so that a
workspace moved into a spec comes back as it was. Paths in the spec are relative to the project
root; pixi reads them relative to build/pixi.toml, one directory down, so they are written from there.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field
from typing import Any

DEFAULT_CHANNELS = ("conda-forge",)
DEFAULT_PLATFORMS = ("linux-64", "osx-arm64", "win-64")
DEFAULT_WORKSPACE_DEPENDENCIES = {"python": "3.12.*"}
METADATA_KEYS = ("authors", "license", "homepage", "repository", "documentation", "requires_pixi")
# NVIDIA's drivers, and conda-forge's CUDA builds, exist for Linux and Windows: a `__cuda` on macOS
# would only make the environment uninstallable there.
CUDA_SUBDIRS = ("linux-", "win-")
# The virtual packages a workspace may declare besides CUDA, and the subdirs each one applies to.
SYSTEM_REQUIREMENTS = {"glibc": "linux-", "linux": "linux-", "macos": "osx-", "windows": "win-"}


@dataclass(frozen=True)
class Table:
    """A TOML inline table, in the order pixi documents its keys (the spec's order)."""

    items: tuple[tuple[str, Any], ...]


# A dependency: a version spec, or a Table ({version, channel, build}, {git, rev}, {path, editable}...).
Requirement = str | Table
Dependencies = tuple[tuple[str, Requirement], ...]


def from_build_dir(path: str) -> str:
    """A project-root-relative path as build/pixi.toml sees it (the build directory is one level down)."""
    return ".." if path == "." else f"../{path}"


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
class Target:
    """Additions for one platform (or a selector such as `linux` or `unix`)."""

    platform: str
    dependencies: Dependencies = ()
    pypi_dependencies: Dependencies = ()
    activation: Activation = field(default_factory=Activation)

    @property
    def targets(self) -> tuple[Target, ...]:
        return ()  # targets do not nest; the template renders workspaces, environments and targets alike


@dataclass(frozen=True, kw_only=True)
class Platform:
    """One entry of `[workspace].platforms` (pixi >= 0.71): a conda subdir and the virtual packages
    declared for it. Entries that declare something are named, so that features can select them."""

    subdir: str
    cuda: str | None = None
    cuda_arch: str | None = None  # __cuda_arch, the lowest GPU compute capability the jobs accept
    system: tuple[tuple[str, str], ...] = ()  # glibc, linux, macos, windows

    @property
    def name(self) -> str:
        if self.cuda is None:
            return self.subdir
        name = f"{self.subdir}-cuda-{self.cuda.replace('.', '-')}"
        return name if self.cuda_arch is None else f"{name}-arch-{self.cuda_arch.replace('.', '-')}"

    @property
    def entry(self) -> str | Table:
        if self.cuda is None and not self.system:
            return self.subdir
        items: list[tuple[str, Any]] = [("name", self.name), ("platform", self.subdir)]
        if self.cuda is not None:
            items.append(("cuda", self.cuda if self.cuda_arch is None
                          else Table((("driver", self.cuda), ("arch", self.cuda_arch)))))
        return Table((*items, *self.system))


def platform(subdir: str, system: tuple[tuple[str, str], ...], cuda: str | None = None,
             cuda_arch: str | None = None) -> Platform:
    """The platform entry for one subdir: CUDA only where CUDA exists, each requirement where it applies."""
    has_cuda = cuda is not None and subdir.startswith(CUDA_SUBDIRS)
    return Platform(subdir=subdir, cuda=cuda if has_cuda else None, cuda_arch=cuda_arch if has_cuda else None,
                    system=tuple((key, value) for key, value in system if subdir.startswith(SYSTEM_REQUIREMENTS[key])))


@dataclass(frozen=True, kw_only=True)
class Workspace:
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    dependencies: Dependencies = tuple(sorted(DEFAULT_WORKSPACE_DEPENDENCIES.items()))
    pypi_dependencies: Dependencies = ()
    pypi_options: Table | None = None
    targets: tuple[Target, ...] = ()
    activation: Activation = field(default_factory=Activation)
    cuda: str | None = None
    system_requirements: tuple[tuple[str, str], ...] = ()  # in SYSTEM_REQUIREMENTS order
    default_environment: str | None = None
    authors: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()  # license, homepage, ... as pixi names them

    @property
    def platform_entries(self) -> tuple[Platform, ...]:
        """Its own platforms, with the workspace's CUDA and system requirements declared on them."""
        return tuple(platform(subdir, self.system_requirements, self.cuda) for subdir in self.platforms)

    def all_platforms(self, environments: tuple[Environment, ...]) -> tuple[Platform, ...]:
        """`[workspace].platforms`: its own entries, then each CUDA variant an environment selects."""
        entries: dict[str, Platform] = {entry.name: entry for entry in self.platform_entries}
        for env in environments:
            for entry in env.platform_entries:
                entries.setdefault(entry.name, entry)
        return tuple(entries.values())


@dataclass(frozen=True, kw_only=True)
class Environment:
    name: str
    cuda: str | None = None  # this environment's own CUDA
    effective_cuda: str | None = None  # its own, or the workspace's that it inherits
    cuda_arch: str | None = None  # with its own CUDA: the lowest compute capability its GPU jobs ask for
    platforms: tuple[str, ...]
    platforms_narrowed: bool
    platform_entries: tuple[Platform, ...] = ()  # the workspace platforms its feature selects
    dependencies: Dependencies = ()
    pypi_dependencies: Dependencies = ()
    targets: tuple[Target, ...] = ()
    channels: tuple[str, ...] = ()
    activation: Activation = field(default_factory=Activation)
    features: tuple[str, ...] = ()  # other environments whose features it includes
    solve_group: str | None = None
    no_default_feature: bool = False
    feature_only: bool = False  # a pixi feature other environments include, and no environment of its own
    has_tasks: bool = False  # tasks run in it, which its feature holds

    @property
    def driver_version(self) -> str | None:
        """The lowest GPUs_DriverVersion that runs this CUDA: 12 -> 12.0, 12.4 -> 12.4."""
        if self.effective_cuda is None:
            return None
        major, _, minor = self.effective_cuda.partition(".")
        return f"{int(major)}.{int(minor or 0)}"

    @property
    def selects_platforms(self) -> bool:
        """Whether its feature names platforms: it narrows the workspace's, or has CUDA of its own."""
        return self.platforms_narrowed or self.cuda is not None

    @property
    def has_feature(self) -> bool:
        """Whether pixi gets a [feature.<name>] for it: something of its own to say. An environment that
        only combines others (`all = ["cuda", "test"]`, or `default`) has none, and may not name one."""
        return bool(self.dependencies or self.pypi_dependencies or self.targets or self.channels or self.activation
                    or self.selects_platforms or self.has_tasks)

    @property
    def composition(self) -> tuple[str, ...]:
        """The pixi features of this environment: its own (when it has one), then those it includes."""
        return (self.name, *self.features) if self.has_feature else self.features

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


@dataclass(frozen=True, kw_only=True)
class Task:
    name: str
    cmd: str | None = None
    description: str = ""
    depends_on: tuple[str, ...] = ()
    environment: str | None = None  # defined in that environment's feature only
    cwd: str | None = None  # relative to the build directory
    env: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    args: tuple[str | Table, ...] = ()

    @property
    def table(self) -> Table | None:
        """The task as a pixi inline table, or None when a plain command line says it all."""
        items: list[tuple[str, Any]] = []
        for key, value in (("cmd", self.cmd), ("description", self.description or None),
                           ("depends-on", self.depends_on), ("cwd", self.cwd), ("env", Table(self.env) if self.env else None),
                           ("inputs", self.inputs), ("outputs", self.outputs), ("args", self.args)):
            if value:
                items.append((key, value))
        return None if items == [("cmd", self.cmd)] else Table(tuple(items))


def cuda_text(value: Any) -> str | None:
    return None if value is None else str(int(value) if isinstance(value, (int, float)) else value)


def requirements(mapping: dict[str, Any] | None, *, paths: bool = False) -> Dependencies:
    """Sorted by name; a table keeps its keys in the spec's order, `path` rewritten for build/."""
    def one(value: Any) -> Requirement:
        if isinstance(value, str):
            return value
        items = tuple((k, from_build_dir(v) if paths and k == "path" else _inline(v)) for k, v in value.items())
        return Table(items)
    return tuple(sorted((str(name), one(value)) for name, value in (mapping or {}).items()))


def _inline(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def activation(doc: dict[str, Any] | None) -> Activation:
    doc = doc or {}
    return Activation(env=tuple(sorted(doc.get("env", {}).items())),
                      scripts=tuple(from_build_dir(s) for s in doc.get("scripts", ())))


def targets(doc: dict[str, Any] | None) -> tuple[Target, ...]:
    return tuple(Target(platform=platform, dependencies=requirements(body.get("dependencies")),
                        pypi_dependencies=requirements(body.get("pypi_dependencies"), paths=True),
                        activation=activation(body.get("activation")))
                 for platform, body in sorted((doc or {}).items()))


def build_workspace(ws: dict[str, Any]) -> Workspace:
    options = ws.get("pypi_options")
    return Workspace(
        channels=tuple(ws.get("channels", DEFAULT_CHANNELS)),
        platforms=tuple(ws.get("platforms", DEFAULT_PLATFORMS)),
        dependencies=requirements(ws.get("dependencies", DEFAULT_WORKSPACE_DEPENDENCIES)),
        pypi_dependencies=requirements(ws.get("pypi_dependencies"), paths=True),
        pypi_options=Table(tuple((k.replace("_", "-"), _inline(v)) for k, v in options.items())) if options else None,
        targets=targets(ws.get("target")),
        activation=activation(ws.get("activation")),
        cuda=cuda_text(ws.get("cuda")),
        system_requirements=tuple((key, str(ws["system_requirements"][key])) for key in SYSTEM_REQUIREMENTS
                                  if key in ws.get("system_requirements", {})),
        default_environment=ws.get("default_environment"),
        authors=tuple(ws.get("authors", ())),
        metadata=tuple((key.replace("_", "-"), ws[key]) for key in METADATA_KEYS[1:] if key in ws),
    )


def build_environment(name: str, body: dict[str, Any], workspace: Workspace, cuda_arch: str | None = None,
                      has_tasks: bool = False) -> Environment:
    """cuda_arch: the compute capability its GPU jobs all ask for at least (None: some job takes any GPU)."""
    platforms = tuple(body.get("platforms", workspace.platforms))
    cuda = cuda_text(body.get("cuda"))
    own = {entry.subdir: entry for entry in workspace.platform_entries}
    entries = tuple(own.get(subdir, platform(subdir, workspace.system_requirements)) if cuda is None else platform(subdir, workspace.system_requirements, cuda, cuda_arch)
                    for subdir in platforms)
    return Environment(
        name=name,
        cuda=cuda,
        # The workspace's CUDA is declared on its platforms, which every environment solves for.
        effective_cuda=cuda or workspace.cuda,
        cuda_arch=cuda_arch if cuda is not None else None,
        platforms=platforms,
        platforms_narrowed=platforms != workspace.platforms,
        platform_entries=entries,
        dependencies=requirements(body.get("dependencies")),
        pypi_dependencies=requirements(body.get("pypi_dependencies"), paths=True),
        targets=targets(body.get("target")),
        channels=tuple(body.get("channels", ())),
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
    return tuple(env if env.cuda is not None else dataclasses.replace(env, effective_cuda=next(
        (by_name[f].cuda for f in env.features if f in by_name and by_name[f].cuda), env.effective_cuda))
        for env in environments)


def build_task(name: str, body: str | dict[str, Any]) -> Task:
    if isinstance(body, str):
        return Task(name=name, cmd=body)
    args = tuple(a if isinstance(a, str) else Table(tuple(a.items())) for a in body.get("args", ()))
    return Task(name=name, cmd=body.get("cmd"), description=body.get("description", ""),
                depends_on=tuple(body.get("depends_on", ())), environment=body.get("environment"),
                cwd=None if "cwd" not in body else from_build_dir(body["cwd"]),
                env=tuple(sorted(body.get("env", {}).items())), inputs=tuple(body.get("inputs", ())),
                outputs=tuple(body.get("outputs", ())), args=args)

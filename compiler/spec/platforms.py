"""`[workspace].platforms` entries (pixi >= 0.71): a conda subdir and the virtual packages declared for
it, and which of them an environment selects.

pixi installs the first entry a host satisfies, so entries keep the spec's order; an entry a
moved-in workspace named keeps its name, because its features select it by that name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..core.escape import Table

# NVIDIA's drivers, and conda-forge's CUDA builds, exist for Linux and Windows: a `__cuda` on macOS
# would only make the environment uninstallable there.
CUDA_SUBDIRS = ("linux-", "win-")
# The virtual packages a workspace may declare besides CUDA, and the subdirs each one applies to.
SYSTEM_REQUIREMENTS = {"glibc": "linux-", "linux": "linux-", "macos": "osx-", "windows": "win-"}
# Written after the system requirements, on any subdir: a microarchitecture (`x86_64_v3`).
ENTRY_KEYS = (*SYSTEM_REQUIREMENTS, "archspec")


def cuda_key(version: str) -> tuple[int, ...]:
    """A CUDA version as numbers, for comparing 12.10 above 12.4."""
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True, kw_only=True)
class Platform:
    """One entry of `[workspace].platforms`. Entries that declare something are named, so that
    features can select them."""

    subdir: str
    cuda: str | None = None
    cuda_arch: str | None = None  # __cuda_arch, the lowest GPU compute capability the jobs accept
    system: tuple[tuple[str, str], ...] = ()  # glibc, linux, macos, windows, archspec, in ENTRY_KEYS order
    given_name: str | None = None  # the name the spec gives it (a moved-in workspace's own)

    @property
    def name(self) -> str:
        if self.given_name is not None:
            return self.given_name
        if self.cuda is None:
            return self.subdir
        name = f"{self.subdir}-cuda-{self.cuda.replace('.', '-')}"
        return name if self.cuda_arch is None else f"{name}-arch-{self.cuda_arch.replace('.', '-')}"

    @property
    def entry(self) -> str | Table:
        """The entry as `[workspace].platforms` writes it: a plain subdir, or a table."""
        if self.cuda is None and not self.system and self.given_name in (None, self.subdir):
            return self.subdir
        items: list[tuple[str, Any]] = [("name", self.name), ("platform", self.subdir)]
        if self.cuda is not None:
            items.append(
                (
                    "cuda",
                    self.cuda if self.cuda_arch is None else Table((("driver", self.cuda), ("arch", self.cuda_arch))),
                )
            )
        return Table((*items, *self.system))

    @property
    def plain(self) -> Platform:
        """This entry without CUDA, for tool environments (pixi-pack): since pixi 0.71 an entry that
        declares `__cuda` is a candidate only on a host that has it (pixi_manifest's
        `possible_pixi_platforms` drops entries whose declared virtual packages the host lacks), and
        an access point has no GPU driver. Other requirements (glibc, ...) stay."""
        if self.cuda is None:
            return self
        return replace(self, cuda=None, cuda_arch=None, given_name=None)

    def with_cuda(self, cuda: str, cuda_arch: str | None) -> Platform:
        """The CUDA variant of this entry an environment with `cuda` selects (itself where CUDA does
        not exist), named after its CUDA."""
        if not self.subdir.startswith(CUDA_SUBDIRS):
            return self
        return replace(self, cuda=cuda, cuda_arch=cuda_arch, given_name=None)


def applicable(subdir: str, system: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, value)
        for key, value in system
        if key not in SYSTEM_REQUIREMENTS or subdir.startswith(SYSTEM_REQUIREMENTS[key])
    )


def platform(
    subdir: str, system: tuple[tuple[str, str], ...], cuda: str | None = None, cuda_arch: str | None = None
) -> Platform:
    """The platform entry for one subdir: CUDA only where CUDA exists, each requirement where it applies."""
    has_cuda = cuda is not None and subdir.startswith(CUDA_SUBDIRS)
    return Platform(
        subdir=subdir,
        cuda=cuda if has_cuda else None,
        cuda_arch=cuda_arch if has_cuda else None,
        system=applicable(subdir, system),
    )


def cuda_text(value: Any) -> str | None:
    return None if value is None else str(int(value) if isinstance(value, (int, float)) else value)


def entry(item: str | dict[str, Any], system: tuple[tuple[str, str], ...], cuda: str | None) -> Platform:
    """One spec item of workspace.platforms: a subdir takes the workspace's CUDA and system
    requirements; a table says its own, and takes the workspace's only for what it leaves out."""
    if isinstance(item, str):
        return platform(item, system, cuda)
    subdir = item["platform"]
    own = item.get("cuda")
    driver = cuda_text(own.get("driver") if isinstance(own, dict) else own)
    arch = own.get("arch") if isinstance(own, dict) else None
    if driver is None and cuda is not None and subdir.startswith(CUDA_SUBDIRS):
        driver = cuda
    declared = dict(applicable(subdir, system))
    declared.update({key: str(item[key]) for key in ENTRY_KEYS if key in item})
    return Platform(
        subdir=subdir,
        cuda=driver,
        cuda_arch=arch,
        given_name=item.get("name"),
        system=tuple((key, declared[key]) for key in ENTRY_KEYS if key in declared),
    )


def selected(
    items: tuple[str, ...] | None,
    own: tuple[Platform, ...],
    system: tuple[tuple[str, str], ...],
    cuda: str | None,
    cuda_arch: str | None,
) -> tuple[Platform, ...]:
    """The entries an environment selects: the named ones (or every workspace entry), each as its CUDA
    variant when the environment has CUDA of its own; once per name, in order."""
    by_name = {p.name: p for p in own}

    def resolve(item: str) -> list[Platform]:
        # A subdir no entry is named after selects the entries for it (the workspace's CUDA renames them).
        if item in by_name:
            return [by_name[item]]
        return [p for p in own if p.subdir == item] or [platform(item, system)]

    chosen = list(own) if items is None else [p for item in items for p in resolve(item)]
    if cuda is not None:
        chosen = [p.with_cuda(cuda, cuda_arch) for p in chosen]
    return tuple({p.name: p for p in chosen}.values())

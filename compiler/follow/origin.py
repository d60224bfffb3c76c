"""Where a model field's value comes from: set at a spec key, taken from another key, a default, or
derived by the compiler; and where to set it. The model mirrors the spec (provenance.fields), so a
field's own key path is known; this module adds the fields that fall back to another key or are
computed, as spec/model.py and the pipeline compute them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..artifacts.base import Compiled
from ..schedulers.findings import Finding, Locator
from ..spec.loader import KeyPath, LoadedSpec, format_key_path, to_plain
from .provenance import Field, fields


@dataclass(frozen=True)
class Origin:
    keys: tuple[KeyPath, ...]  # every spec key the value follows (its own first)
    line: int
    column: int
    note: str  # "" when the spec sets the field's own key

    def location(self, spec: LoadedSpec) -> str:
        return f"{spec.display_path}:{self.line}:{self.column}"


def _has(document: Any, path: KeyPath) -> bool:
    node = document
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return False
    return True


def _set_part(document: Any, path: KeyPath) -> KeyPath:
    """The longest start of `path` that the spec sets."""
    for end in range(len(path), 0, -1):
        if _has(document, path[:end]):
            return path[:end]
    return ()


def fallbacks(field: Field, runtimes: Mapping[str, str]) -> tuple[tuple[KeyPath, ...], tuple[KeyPath, ...], str]:
    """(the keys a field takes its value from when its own is not set, the keys its default depends on,
    how it is derived), as spec/model.py and the pipeline decide it."""
    key, owner, name = field.key, field.owner, field.name
    job = key[1] if key[:1] == ("jobs",) and len(key) > 1 else None
    runtime = runtimes.get(str(job), "")
    if owner == "Job" and name == "scheduler":
        return (("scheduler",),), (), "the top-level scheduler"
    if owner == "Job" and name == "environment":
        taken = ("pack", "environment") if runtime == "pixi-pack" else ("container", "environment")
        return (taken,), (), f"the {runtime} runtime's environment"
    if owner == "Pack" and name == "environment":
        return (("container", "environment"),), (), "the container's environment"
    if owner == "Slurm" and job is not None:
        return (("slurm", name),), (), f"the top-level slurm.{name}"
    if owner == "Resources" and name in ("memory", "disk") and job is not None:
        return (), (("jobs", job, "runtime"),), f"for the {runtime} runtime"
    if owner == "Resources" and name == "disk_set":
        return (), (), "whether resources.disk is set"
    if owner == "Container" and name == "image":
        return (), (("name",),), "ghcr.io/<name>/<name>"
    if owner == "Container" and name == "tag":
        return (
            (),
            (),
            (
                "derived: a digest of what the image is built from (the Dockerfile, pixi.toml, pixi.lock "
                "and the code); set container.tag to name it yourself"
            ),
        )
    if owner == "Container" and name == "apptainer":
        return (), (("jobs",),), "derived: true when a job runs the project's .sif (runtime apptainer, no image)"
    if owner == "Pack" and name in ("archive", "built"):
        return (
            (),
            (("staging",),),
            (
                "derived: named by a digest of pixi.toml, pixi.lock and the environment "
                "packed when staging is set, else the archive pack.sh writes"
            ),
        )
    if owner == "Staging" and name == "url":
        return (), (("site",), ("staging", "directory")), "derived from the site and staging.directory"
    if owner == "Chtc" and name == "resumable" and job is not None:
        return (), (("jobs", job, "checkpoint"),), "derived: true when the job checkpoints"
    if owner == "Environment" and name in ("effective_cuda", "cuda_arch", "platforms", "platforms_narrowed"):
        return (
            (),
            (("workspace",), ("jobs",)),
            "derived from the workspace, the environments it includes and its GPU jobs",
        )
    if owner == "SweepFrom" and name == "rows" and job is not None:
        return (), (("jobs", job, "sweep_from", "file"),), "derived: a line of the sweep_from file"
    if owner == "Project" and name in ("spec_path", "spec_sha256"):
        return (), (), "derived: the spec file's path and the sha256 of its bytes"
    return (), (), ""


def origin(field: Field, spec: LoadedSpec, document: dict[str, Any], runtimes: Mapping[str, str]) -> Origin:
    """Set at its own key; or taken from another key the spec sets; or derived; or a default, with
    the place to set it (the nearest key above it that the spec sets)."""
    takes, depends, how = fallbacks(field, runtimes)
    own = field.key
    if _has(document, own) and not (field.owner == "Resources" and field.name == "disk_set"):
        line, column = spec.locate(own, at_key=field.is_name)
        return Origin((own,), line, column, "")
    for other in takes:
        if _has(document, other):
            line, column = spec.locate(other)
            return Origin((other,), line, column, f"{how}: {format_key_path(other)}, set there")
    parent = _set_part(document, own[:-1])
    line, column = spec.locate(parent, at_key=True) if parent else (1, 1)
    where = f"set it under {format_key_path(parent)}" if parent else "set it at the spec's top level"
    if how.startswith("derived"):
        return Origin((own, *depends), line, column, how)
    return Origin(
        (own, *depends), line, column, f"default of {format_key_path(own)}{' (' + how + ')' if how else ''}; {where}"
    )


class OriginLocator(Locator):
    """The Locator status gives the schedulers: a finding about a model field (a hold on memory, a
    failed transfer of an input) points where `explain` says that field comes from: the key that sets
    it, the key it is taken from, or, for a default, the nearest key above it that the spec sets,
    with the same words. A key that is no field of the model falls back to the plain Locator."""

    def __init__(self, spec: LoadedSpec, compiled: Compiled) -> None:
        super().__init__(spec)
        self.document: dict[str, Any] = to_plain(spec.data)
        self.runtimes = {job.name: job.runtime for job in compiled.project.jobs}
        self.by_key = {field.key: field for field in fields(compiled.project) if not field.is_name}

    def at(self, path: KeyPath, message: str, details: tuple[str, ...] = ()) -> Finding:
        field = self.by_key.get(path)
        if field is None:
            return super().at(path, message, details)
        found = origin(field, self.spec, self.document, self.runtimes)
        note = f" ({found.note})" if found.note else ""
        return Finding(found.line, found.column, format_key_path(path), message + note, details)

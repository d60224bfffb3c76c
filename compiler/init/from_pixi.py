"""`pixi-htc init --from pixi.toml` (or pyproject.toml's [tool.pixi]): a pixi workspace as a spec.

Everything pixi would resolve comes across: every environment (pixi's default one included), the
packages of each feature per platform, channels with their priorities, PyPI dependencies and
options, the platform entries in their order with the virtual packages each declares, tasks
(per feature and per platform), activation and solve groups. What the spec cannot hold as written is
converted where pixi means the same by it (a multi-line task, a name pixi-htc reserves) or left out;
either way it is listed with the manifest's line. A value is only written where the project schema
accepts it (init/fits.py), so what init writes builds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.foreign import shown
from . import pixi_tasks, pyproject
from .draft import Draft, slug
from .fits import DEFS, WS, fits
from .moving import Moving
from .pixi_features import environments
from .pixi_source import Path_, read

HEAD_KEYS = {
    "name",
    "version",
    "description",
    "channels",
    "platforms",
    "authors",
    "license",
    "homepage",
    "repository",
    "documentation",
    "requires-pixi",
    "channel-priority",
    "conda-pypi-map",
}
META_KEYS = ("authors", "license", "homepage", "repository", "documentation", "requires-pixi")
TOP_KEYS = {
    "workspace",
    "project",
    "dependencies",
    "pypi-dependencies",
    "activation",
    "target",
    "tasks",
    "feature",
    "environments",
    "system-requirements",
    "pypi-options",
}
IGNORED_TOP = {"$schema", "tool"}  # a schema URL for editors; other tools' settings
SYSTEM_KEYS = {"glibc": "glibc", "linux": "linux", "macos": "macos", "osx": "macos", "windows": "windows"}


def from_pixi(manifest: Path) -> Draft:
    source = read(manifest)
    moving = Moving(source)
    spec = moving.draft.spec
    data = source.data
    head_key = "workspace" if "workspace" in data else "project"
    head = source.table(data, head_key, ())
    project = source.table(source.document, "project", (), whole=True) if source.prefix else {}
    # pixi takes the workspace's name, else (in a pyproject) [project].name, else the directory's.
    name_at, whole = (
        ((head_key, "name"), False) if "name" in head or "name" not in project else (("project", "name"), True)
    )
    name = head.get("name", project.get("name", manifest.resolve().parent.name))
    spec["name"] = slug(source.text(name, name_at, whole=whole))
    if spec["name"] != name:
        moving.lose(
            name_at, f"name {shown(name, 60)} is written {spec['name']} (lower-case letters, digits, '-')", whole
        )
    for key in ("version", "description"):
        value = head.get(key, project.get(key))
        if value is None:
            continue
        if fits(value, f"properties/{key}"):
            spec[key] = value
        else:
            moving.lose((head_key, key), f"{key} {shown(value, 80)} (the spec's {key} is simpler)")
    # source: [] until the user names their code (the bundled trainer is not theirs to carry).
    spec["source"] = []
    ws = _workspace(moving, head, (head_key,))
    _legacy_system_requirements(moving, source.table(data, "system-requirements", ()), ws, ("system-requirements",))
    renamed = pixi_tasks.names(
        [source.table(data, "tasks", ())]
        + [
            source.table(feature, "tasks", ("feature", name))
            for name, feature in source.table(data, "feature", ()).items()
            if isinstance(feature, dict)
        ]
    )
    ws.setdefault("dependencies", {})  # an empty default feature stays empty (the spec's default is python)
    tasks = moving.part(data, (), ws, renamed)
    if source.prefix:
        _pyproject_default(moving, ws)
    spec["workspace"] = ws
    spec["environments"], image = environments(moving, renamed)
    if image != "gpu":
        spec["container"] = {"environment": image}
    if tasks:
        spec["tasks"] = tasks
    for key in sorted(set(data) - TOP_KEYS - IGNORED_TOP - {head_key}):
        moving.lose((key,), "a table the spec has no place for")
    _origins(moving, head_key, {spec: name for name, spec in renamed.items()})
    return moving.draft


def _origins(moving: Moving, head_key: str, task_back: dict[str, str]) -> None:
    """Each key of the spec that init moved in, with the manifest line it came from (see origins.py)."""
    source, spec, origins = moving.source, moving.draft.spec, moving.draft.origins
    nested = ("dependencies", "pypi_dependencies", "target", "tasks")

    def mark(at: tuple[str, ...], *candidates: tuple[str, ...]) -> None:
        """The first candidate the manifest has: its own line, else its first line below it (a
        [feature.x.dependencies] header says where feature x is)."""
        fulls = [
            full
            for candidate in candidates
            for full in (((*source.prefix, *candidate), candidate) if source.prefix else (candidate,))
        ]
        for full in fulls:
            if full in source.located:
                origins[at] = f"{source.file}:{source.located[full]}"
                return
        for full in fulls:
            below = [line for path, line in source.located.items() if path[: len(full)] == full]
            if below:
                origins[at] = f"{source.file}:{min(below)}"
                return

    def mark_body(at: tuple[str, ...], body: dict[str, Any], base: tuple[str, ...], *others: tuple[str, ...]) -> None:
        for key, value in body.items():
            pixi_key = key.replace("_", "-")
            mark((*at, key), (*base, pixi_key), *((*other, pixi_key) for other in others))
            if key in nested and isinstance(value, dict):
                sub: str  # a TOML table's keys
                for sub in value:
                    pixi_sub = task_back.get(sub, sub) if key == "tasks" else sub
                    mark((*at, key, sub), (*base, pixi_key, pixi_sub), (*base, pixi_key))

    mark_body(("workspace",), spec.get("workspace", {}), (), (head_key,), ("system-requirements",))
    environments: dict[str, Any] = spec.get("environments", {})
    for env, body in environments.items():
        name = moving.env_back.get(env, env)
        mark(
            ("environments", env),
            ("environments", name),
            ("feature", name),
            ("project", "optional-dependencies", name),
            ("dependency-groups", name),
        )
        mark_body(("environments", env), body, ("feature", name), ("environments", name))
    for task in spec.get("tasks", {}):
        mark(("tasks", task), ("tasks", task_back.get(task, task)))


def _workspace(moving: Moving, head: dict[str, Any], path: Path_) -> dict[str, Any]:
    source, ws = moving.source, {}
    ws["channels"] = moving.channels(head, path, WS + "channels", " (not a name, label or https URL)")
    for key in META_KEYS:
        if key in head and fits(head[key], WS + key.replace("-", "_")):
            ws[key.replace("-", "_")] = head[key]
        elif key in head:
            moving.lose((*path, key), f"{key} {shown(head[key], 80)}")
    for key, target in (("channel-priority", "channel_priority"), ("conda-pypi-map", "conda_pypi_map")):
        if key not in head:
            continue
        value = head[key]
        if isinstance(value, dict):
            value = {c: (source.path(v) or v) if isinstance(v, str) and "://" not in v else v for c, v in value.items()}
        if fits(value, WS + target):
            ws[target] = value
        else:
            moving.lose((*path, key), f"{key} {shown(value, 80)}")
    ws["platforms"] = _platforms(moving, source.array(head, "platforms", path), (*path, "platforms"))
    if "linux-64" not in [p if isinstance(p, str) else p["platform"] for p in ws["platforms"]]:
        ws["platforms"].append("linux-64")
        moving.lose(
            (*path, "platforms"),
            "linux-64 added: the image and HTCondor's execute points are linux-64 (one more platform to lock)",
        )
    for key in sorted(set(head) - HEAD_KEYS):
        moving.lose((*path, key), "a workspace key the spec has no place for")
    return ws


def _platforms(moving: Moving, entries: list[Any], path: Path_) -> list[Any]:
    """[workspace].platforms as written: subdirs, and tables with their names and virtual packages."""
    out: list[Any] = []
    names = [e for e in entries if isinstance(e, str)] + [
        e["name"] for e in entries if isinstance(e, dict) and "name" in e
    ]
    for index, entry in enumerate(entries):
        where = (*path, str(index))
        if isinstance(entry, str):
            if fits(entry, DEFS + "platform"):
                out.append(entry)
            else:
                moving.lose(path, f"platform {shown(entry, 40)} (pixi-htc solves linux, osx and win platforms)")
            continue
        if not isinstance(entry, dict):
            raise moving.source.wrong(where, entry, "a platform name or table")
        table: dict[str, Any] = {}
        subdir = entry.get("platform", entry.get("name"))
        if "name" in entry:
            table["name"] = entry["name"]
        elif names.count(subdir) == 0:
            table["name"] = subdir  # pixi derives a name; features can only select it by one, so give it its own
            names.append(subdir)
        else:
            table["name"] = f"{subdir}-{index + 1}"
            moving.lose(path, f"an unnamed entry for {shown(subdir, 40)} is named {table['name']}")
        table["platform"] = subdir
        for key, value in entry.items():
            if key in ("name", "platform"):
                continue
            spec_key = SYSTEM_KEYS.get(key, key)
            if spec_key in ("cuda", "glibc", "linux", "macos", "windows", "archspec"):
                table[spec_key] = {k: str(v) for k, v in value.items()} if isinstance(value, dict) else str(value)
            else:
                moving.lose(
                    path,
                    f"{shown(key, 40)} of platform {shown(table['name'], 40)} (not a virtual package the spec declares)",
                )
        if fits(table, DEFS + "platformEntry"):
            out.append(table)
        else:
            moving.lose(path, f"platform entry {shown(entry, 120)} (not one the spec can declare)")
    return out


def _legacy_system_requirements(moving: Moving, table: dict[str, Any], ws: dict[str, Any], path: Path_) -> None:
    """The deprecated [system-requirements] (pixi < 0.71): one version per virtual package for the whole
    workspace, which the spec declares on its platforms the way pixi migrates it."""
    for key, value in table.items():
        if key == "libc":
            value = value.get("version") if isinstance(value, dict) else value
            key = "glibc"
        if key == "cuda" and fits(str(value), WS + "cuda"):
            ws["cuda"] = str(value)
        elif key in SYSTEM_KEYS and fits(str(value), f"{WS}system_requirements/properties/{SYSTEM_KEYS[key]}"):
            ws.setdefault("system_requirements", {})[SYSTEM_KEYS[key]] = str(value)
        else:
            moving.lose((*path, key), f"{shown(key, 40)} = {shown(value, 60)}")


def _pyproject_default(moving: Moving, ws: dict[str, Any]) -> None:
    """pixi reads [project].dependencies as PyPI dependencies of the default feature, and
    requires-python as its python when [tool.pixi.dependencies] names none."""
    dependencies, python, groups = pyproject.carried(moving.source, moving.lose)
    moving.groups = groups
    own = ws.setdefault("pypi_dependencies", {})
    for name, value in dependencies.items():
        if name in own or re.sub(r"[-_.]+", "-", name).lower() in {re.sub(r"[-_.]+", "-", n).lower() for n in own}:
            moving.lose(
                ("project", "dependencies"),
                f"{shown(name, 60)} also in [tool.pixi.pypi-dependencies]: that one is kept",
                True,
            )
            continue
        own[name] = value
    if not own:
        del ws["pypi_dependencies"]
    if python is not None and "python" not in ws.get("dependencies", {}):
        ws.setdefault("dependencies", {})["python"] = python

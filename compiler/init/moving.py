"""The pixi manifest being moved in, and the draft spec it becomes: what from_pixi.py and
pixi_features.py both hand around (its own module, so neither imports the other)."""

from __future__ import annotations

from typing import Any

from ..core.foreign import shown
from ..core.resources import project_schema
from . import pixi_tasks
from .draft import Draft
from .fits import DEFS, fits
from .pixi_source import Path_, Source

PYPI_OPTIONS = {
    "index-url",
    "extra-index-urls",
    "index-strategy",
    "no-build-isolation",
    "no-build",
    "no-binary",
    "prerelease-mode",
    "find-links",
}


class Moving:
    """The manifest being moved in, and the draft spec it becomes."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.draft = Draft({"schema_version": 1})
        self.groups: dict[str, dict[str, Any]] = {}  # a pyproject's optional and dependency groups
        self.env_back: dict[str, str] = {}  # the spec's environment names to the manifest's

    def lose(self, path: Path_, message: str, whole: bool = False) -> None:
        self.draft.lost.append(f"{self.source.at(path, whole=whole)}: {message}")

    def requirements(self, table: dict[str, Any], path: Path_, *, pypi: bool) -> dict[str, Any]:
        """Conda or PyPI dependencies, each one only when the spec holds it as pixi reads it."""
        out: dict[str, Any] = {}
        pointer = DEFS + ("pypiDependencies" if pypi else "dependencies")
        for name, value in table.items():
            if isinstance(value, dict) and pypi and isinstance(value.get("path"), str):
                moved = self.source.path(value["path"])
                value = {**value, "path": moved} if moved is not None else value
            if fits({name: value}, pointer):
                out[name] = value
            else:
                self.lose((*path, name), f"{shown(name, 60)} = {shown(value, 100)}: not a form the spec holds")
        return out

    def channels(self, table: dict[str, Any], path: Path_, pointer: str, why: str = "") -> list[Any]:
        """The channels the spec holds as written; each other one listed with its line."""
        kept = []
        for channel in self.source.array(table, "channels", path):
            if fits([channel], pointer):
                kept.append(channel)
            else:
                self.lose((*path, "channels"), f"channel {shown(channel, 80)}{why}")
        return kept

    def activation(self, table: dict[str, Any], path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        env = self.source.table(table, "env", path)
        kept = {k: v for k, v in env.items() if fits({"env": {k: v}}, DEFS + "activation")}
        for key in sorted(set(env) - set(kept)):
            self.lose((*path, "env", key), "an activation variable the spec cannot hold")
        if kept:
            out["env"] = kept
        scripts = []
        for script in self.source.array(table, "scripts", path):
            moved = self.source.path(self.source.text(script, (*path, "scripts")))
            if moved is not None and fits({"scripts": [moved]}, DEFS + "activation"):
                scripts.append(moved)
            else:
                self.lose((*path, "scripts"), f"activation script {shown(script, 80)} (outside the project?)")
        if scripts:
            out["scripts"] = scripts
        for key in sorted(set(table) - {"env", "scripts"}):
            self.lose((*path, key), "an activation key the spec has no place for")
        return out

    def pypi_options(self, table: dict[str, Any], path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in table.items():
            if key == "find-links" and isinstance(value, list):
                value = [
                    {"path": self.source.path(link["path"]) or link["path"]}
                    if isinstance(link, dict) and isinstance(link.get("path"), str)
                    else link
                    for link in value
                ]
            if key in PYPI_OPTIONS and fits({key.replace("-", "_"): value}, DEFS + "pypiOptions"):
                out[key.replace("-", "_")] = value
            else:
                self.lose((*path, key), f"pypi-options.{shown(key, 40)} = {shown(value, 80)}")
        return out

    def part(self, table: dict[str, Any], path: Path_, out: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
        """dependencies, pypi-dependencies, activation, target and pypi-options, shared by the default
        feature and the others; returns the tasks (the caller knows where they go)."""
        for key in ("dependencies", "pypi-dependencies"):
            found = self.requirements(self.source.table(table, key, path), (*path, key), pypi=key != "dependencies")
            if found:
                out[key.replace("-", "_")] = found
        activation = self.activation(self.source.table(table, "activation", path), (*path, "activation"))
        if activation:
            out["activation"] = activation
        if "pypi-options" in table:
            options = self.pypi_options(self.source.table(table, "pypi-options", path), (*path, "pypi-options"))
            if options:
                out["pypi_options"] = options
        targets = self.targets(self.source.table(table, "target", path), (*path, "target"), renamed)
        if targets:
            out["target"] = targets
        return pixi_tasks.convert_all(
            self.source, self.source.table(table, "tasks", path), (*path, "tasks"), self.lose, renamed
        )

    def targets(self, table: dict[str, Any], path: Path_, renamed: dict[str, str]) -> dict[str, Any]:
        known = project_schema()["$defs"]["target"]["propertyNames"]["enum"]
        out: dict[str, Any] = {}
        for selector, body in table.items():
            where = (*path, selector)
            if not isinstance(body, dict):
                raise self.source.wrong(where, body, "a table")
            if selector not in known:
                self.lose(where, f"target {shown(selector, 40)} (the spec's targets are {', '.join(known)})")
                continue
            entry: dict[str, Any] = {}
            tasks = self.part(
                {k: v for k, v in body.items() if k not in ("target", "pypi-options")}, where, entry, renamed
            )
            if tasks:
                entry["tasks"] = tasks
            for key in sorted(set(body) - {"dependencies", "pypi-dependencies", "activation", "tasks"}):
                self.lose((*where, key), "a target key the spec has no place for")
            if entry:  # an empty target says nothing
                out[selector] = entry
        return out

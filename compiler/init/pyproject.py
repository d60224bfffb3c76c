"""What pixi reads from a pyproject.toml besides [tool.pixi]: [project].dependencies are PyPI
dependencies of the default feature, requires-python its python, and each optional-dependencies
group and dependency group (PEP 735) a feature of that name's PyPI dependencies."""

from __future__ import annotations

import re
from typing import Any

from ..core.foreign import shown
from .fits import fits
from .pixi_source import Path_, Source
from .pixi_tasks import Lose

# PEP 508 as far as the spec can say it: a name, extras, and a version (or a URL); markers cannot.
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*?)\s*")


def requirement(text: str) -> tuple[str, str | dict[str, Any]] | str:
    """(name, pixi's form of it), or why it cannot be carried."""
    match = REQUIREMENT.fullmatch(text)
    if not match:
        return "not a requirement pixi-htc can read"
    name, extras, rest = match.groups()
    if ";" in rest:
        return "an environment marker (the spec has per-platform targets instead)"
    value: dict[str, Any] = {}
    if rest.startswith("@"):
        url = rest[1:].strip()
        if url.startswith("git+"):
            repository, _, ref = url[4:].partition("@")
            value["git"] = repository
            if ref:
                value["rev" if re.fullmatch(r"[0-9a-fA-F]{7,40}", ref) else "tag"] = ref
        else:
            value["url"] = url
    else:
        value["version"] = rest.strip("()").strip() or "*"
    if extras:
        value["extras"] = [extra.strip() for extra in extras.split(",") if extra.strip()]
    if list(value) == ["version"]:
        return name, value["version"]
    return name, value


def _group(
    source: Source, items: Any, path: Path_, lose: Lose, groups: dict[str, Any], seen: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(items, list):
        raise source.wrong(path, items, "an array", whole=True)
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and "include-group" in item:  # PEP 735
            included = item["include-group"]
            if isinstance(included, str) and included in groups and included not in seen:
                out.update(
                    _group(source, groups[included], ("dependency-groups", included), lose, groups, (*seen, included))
                )
            else:
                lose(path, f"include-group {shown(included, 60)} (no such group, or a cycle)", True)
            continue
        parsed = requirement(source.text(item, path, whole=True))
        if isinstance(parsed, str):
            lose(path, f"{shown(item, 80)}: {parsed}", True)
        elif fits({parsed[0]: parsed[1]}, "$defs/pypiDependencies"):
            out[parsed[0]] = parsed[1]
        else:
            lose(path, f"{shown(item, 80)}: not a requirement the spec can hold", True)
    return out


def carried(source: Source, lose: Lose) -> tuple[dict[str, Any], str | None, dict[str, dict[str, Any]]]:
    """([project].dependencies, requires-python as a conda spec, {group name: its PyPI dependencies})."""
    document = source.document
    project = source.table(document, "project", (), whole=True)
    dependencies = _group(source, project.get("dependencies", []), ("project", "dependencies"), lose, {}, ())
    python = project.get("requires-python")
    if python is not None:
        python = source.text(python, ("project", "requires-python"), whole=True)
        if not fits({"python": python}, "$defs/dependencies"):
            lose(("project", "requires-python"), f"requires-python {shown(python, 60)}", True)
            python = None
    groups: dict[str, dict[str, Any]] = {}
    optional = source.table(project, "optional-dependencies", ("project",), whole=True)
    dependency_groups = source.table(document, "dependency-groups", (), whole=True)
    for table, where in ((optional, ("project", "optional-dependencies")), (dependency_groups, ("dependency-groups",))):
        for name, items in table.items():
            groups.setdefault(name, {}).update(_group(source, items, (*where, name), lose, dependency_groups, (name,)))
    return dependencies, python, groups

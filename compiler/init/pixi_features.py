"""pixi's features and environments as the spec's environments.

Every environment pixi has comes across, its default one included (a manifest without an
[environments] table has only that one); a feature no environment is named after becomes
`feature_only`, never an environment pixi did not have. Names the spec cannot take (`pack`, which
pixi-htc generates; `extra_tools`, which pixi rejects for environments) are renamed, and the rename is
listed.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.foreign import shown
from .fits import DEFS, ENV, fits
from .moving import Moving

RESERVED = {"pack"}  # pixi-htc's own feature and environment
FEATURE_KEYS = {
    "dependencies",
    "pypi-dependencies",
    "activation",
    "target",
    "tasks",
    "pypi-options",
    "channels",
    "channel-priority",
    "platforms",
    "system-requirements",
}


def _name(name: str, taken: set[str]) -> str:
    fixed = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:55] or "env"
    fixed = fixed if fixed[0].isalpha() else f"e-{fixed}"
    if fixed in RESERVED:
        fixed += "-env"
    base, n = fixed, 2
    while fixed in taken:
        fixed, n = f"{base}-{n}", n + 1
    return fixed


def _platform_names(ws: dict[str, Any]) -> dict[str, str]:
    """Each name a feature may select, to its subdir."""
    names = {}
    for entry in ws.get("platforms", []):
        if isinstance(entry, str):
            names[entry] = entry
        else:
            names.setdefault(entry["name"], entry["platform"])
    for entry in ws.get("platforms", []):
        subdir = entry if isinstance(entry, str) else entry["platform"]
        names.setdefault(subdir, subdir)
    return names


def _feature(moving: Moving, name: str, feature: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    source, ws = moving.source, moving.draft.spec["workspace"]
    path = ("feature", name)
    env: dict[str, Any] = {}
    tasks = moving.part(feature, path, env, renamed)
    if tasks:
        env["tasks"] = tasks
    channels = moving.channels(feature, path, ENV + "channels")
    if channels:
        env["channels"] = channels
    if "channel-priority" in feature:
        if fits(feature["channel-priority"], ENV + "channel_priority"):
            env["channel_priority"] = feature["channel-priority"]
        else:
            moving.lose((*path, "channel-priority"), f"channel-priority {shown(feature['channel-priority'], 40)}")
    if "platforms" in feature:
        known = _platform_names(ws)
        items = []
        for item in source.array(feature, "platforms", path):
            item = source.text(item, (*path, "platforms"))
            if item in known:
                items.append(item)
            else:
                moving.lose((*path, "platforms"), f"platform {shown(item, 40)} is not one of the workspace's")
        every = [e if isinstance(e, str) else e["name"] for e in ws.get("platforms", [])]
        if items and items != every:
            env["platforms"] = items
    requirements = source.table(feature, "system-requirements", path)
    for key, value in requirements.items():
        if key == "cuda" and fits(str(value), ENV + "cuda"):
            env["cuda"] = str(value)
        else:
            moving.lose(
                (*path, "system-requirements", key),
                f"{shown(key, 40)} = {shown(value, 60)} for one feature "
                "(the spec declares it for the whole workspace, or on a platform entry)",
            )
    for key in sorted(set(feature) - FEATURE_KEYS):
        moving.lose((*path, key), "a feature key the spec has no place for")
    return env


def environments(moving: Moving, renamed: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The spec's environments, and the one the image bakes."""
    source = moving.source
    features = source.table(source.data, "feature", ())
    declared = source.table(source.data, "environments", ())
    names: dict[str, str] = {}
    for name in [*declared, *features, *moving.groups]:
        if name not in names:
            names[name] = "default" if name == "default" and name in declared else _name(name, set(names.values()))
            if names[name] != name:
                where = ("environments", name) if name in declared else ("feature", name)
                moving.lose(
                    where,
                    f"{shown(name, 60)} is named {names[name]} in the spec"
                    + (" ('pack' is pixi-htc's own)" if name in RESERVED else ""),
                )
    moving.env_back = {spec: name for name, spec in names.items()}  # for the `# from` comments
    envs: dict[str, dict[str, Any]] = {}
    for name, feature in features.items():
        if not isinstance(feature, dict):
            raise source.wrong(("feature", name), feature, "a table")
        envs[names[name]] = _feature(moving, name, feature, renamed)
    for group, dependencies in moving.groups.items():
        own = envs.setdefault(names[group], {}).setdefault("pypi_dependencies", {})
        for package, value in dependencies.items():
            own.setdefault(package, value)
    order: list[str] = []
    for name, composition in declared.items():
        where = ("environments", name)
        table = {"features": composition} if isinstance(composition, list) else composition
        if not isinstance(table, dict):
            raise source.wrong(where, composition, "an array of features or a table")
        wanted = []
        for feature in source.array(table, "features", where):
            feature = source.text(feature, (*where, "features"))
            if feature in features or feature in moving.groups:
                wanted.append(names[feature])
            else:
                moving.lose((*where, "features"), f"feature {shown(feature, 60)} is not defined")
        spec_name = names[name]
        if (name in features or name in moving.groups) and spec_name not in wanted:
            # An environment that leaves out its namesake feature: the spec's environment of that
            # name would include it, so this one needs a name of its own.
            spec_name = _name(f"{name}-env", set(envs) | set(names.values()))
            moving.lose(where, f"environment {shown(name, 60)} (without its namesake feature) is named {spec_name}")
            moving.env_back[spec_name] = name
        env = envs.setdefault(spec_name, {})
        others = [f for f in wanted if f != spec_name]
        if others:
            env["features"] = others
        if "solve-group" in table:
            group = source.text(table["solve-group"], (*where, "solve-group"))
            env["solve_group"] = group if fits(group, DEFS + "slug") else _name(group, set())
        if table.get("no-default-feature"):
            env["no_default_feature"] = True
        for key in sorted(set(table) - {"features", "solve-group", "no-default-feature"}):
            moving.lose((*where, key), "an environment key the spec has no place for (say it in a feature)")
        order.append(spec_name)
    for spec_name, env in envs.items():
        if spec_name not in order:
            env["feature_only"] = True  # a feature of the manifest, never an environment of its own
    if "default" not in order:
        envs = {"default": {}, **envs}  # pixi's own default environment: the default feature alone
        order.append("default")
    return envs, _image_environment(moving, envs, order)


def _image_environment(moving: Moving, envs: dict[str, Any], order: list[str]) -> str:
    """The environment the image installs: the first the manifest declares that has CUDA (of its own,
    on a platform it selects, or of a feature it includes) and is solved for linux-64; else the first
    solved for linux-64."""
    ws = moving.draft.spec["workspace"]
    cuda_entries = {e["name"] for e in ws.get("platforms", []) if isinstance(e, dict) and "cuda" in e}
    subdirs = _platform_names(ws)

    def own_cuda(name: str) -> bool:
        env = envs.get(name, {})
        return "cuda" in env or bool(set(env.get("platforms", cuda_entries)) & cuda_entries) or "cuda" in ws

    def linux(name: str) -> bool:
        env = envs.get(name, {})
        selected = [p for f in (name, *env.get("features", ())) for p in envs.get(f, {}).get("platforms", [])]
        return not selected or "linux-64" in {subdirs.get(p, p) for p in selected}

    def has_cuda(name: str) -> bool:
        return own_cuda(name) or any(own_cuda(f) for f in envs.get(name, {}).get("features", ()))

    solved = [name for name in order if linux(name)] or order
    return next((name for name in solved if has_cuda(name)), solved[0])

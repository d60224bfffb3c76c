"""`pixi-htc init --from pixi.toml` (or pyproject.toml's [tool.pixi]): a pixi workspace as a spec."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .draft import Draft, slug

TASK_KEYS = {"cmd": "cmd", "description": "description", "depends-on": "depends_on", "cwd": "cwd", "env": "env",
             "inputs": "inputs", "outputs": "outputs", "args": "args"}
PART_KEYS = ("dependencies", "pypi-dependencies", "activation", "target")


def _part(draft: Draft, table: dict[str, Any], target: dict[str, Any], where: str) -> None:
    """dependencies, pypi-dependencies, activation and target tables, shared by the workspace and features."""
    for key in ("dependencies", "pypi-dependencies"):
        if key in table:
            target[key.replace("-", "_")] = dict(table[key])
    if "activation" in table:
        target["activation"] = dict(table["activation"])
    for platform, body in table.get("target", {}).items():
        entry: dict[str, Any] = {}
        _part(draft, {k: v for k, v in body.items() if k != "target"}, entry, f"{where}target.{platform}.")
        draft.lose(f"{where}target.{platform}.", set(body) - set(PART_KEYS))
        target.setdefault("target", {})[platform] = entry


def _tasks(draft: Draft, tasks: dict[str, Any], out: dict[str, Any], where: str, environment: str | None) -> None:
    for name, body in tasks.items():
        if isinstance(body, str) and environment is None:
            out[name] = body
            continue
        body = {"cmd": body} if isinstance(body, str) else body
        task = {TASK_KEYS[k]: v for k, v in body.items() if k in TASK_KEYS}
        if isinstance(task.get("depends_on"), str):
            task["depends_on"] = [task["depends_on"]]
        if isinstance(task.get("cmd"), list):
            task["cmd"] = " ".join(task["cmd"])
        if environment is not None:
            task["environment"] = environment
        draft.lose(f"{where}tasks.{name}.", set(body) - set(TASK_KEYS))
        out[name] = task


def from_pixi(manifest: Path) -> Draft:
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{manifest}: not TOML: {error}") from error
    if manifest.name == "pyproject.toml":
        data = data.get("tool", {}).get("pixi", {})
    head = data.get("workspace") or data.get("project") or {}
    # source: [] until the user names their code (the bundled trainer is not theirs to carry).
    draft = Draft({"schema_version": 1, "name": slug(str(head.get("name", manifest.resolve().parent.name))), "source": []})
    spec, ws = draft.spec, {}
    for key in ("version", "description"):
        draft.keep(head, key, spec)
    for key in ("channels", "authors", "license", "homepage", "repository", "documentation", "requires-pixi"):
        draft.keep(head, key, ws)
    platforms = _platforms(draft, head.get("platforms", []), ws)
    draft.lose("workspace.", set(head) - {"name", "version", "description", "channels", "platforms", "authors", "license",
                                         "homepage", "repository", "documentation", "requires-pixi"})
    ws.setdefault("dependencies", {})  # an empty default feature stays empty (the spec's default is python)
    _part(draft, data, ws, "")
    if "pypi-options" in data:
        ws["pypi_options"] = {k.replace("-", "_"): v for k, v in data["pypi-options"].items()
                              if k in ("index-url", "extra-index-urls")}
        draft.lose("pypi-options.", set(data["pypi-options"]) - {"index-url", "extra-index-urls"})
    _system_requirements(draft, data.get("system-requirements", {}), ws, "system-requirements.")
    selected = {name for feature in data.get("feature", {}).values() for name in feature.get("platforms", [])}
    ws_cuda = {cuda for name, (_, cuda) in platforms.items() if cuda and name not in selected}
    if "cuda" in data.get("system-requirements", {}):
        ws_cuda.add(str(data["system-requirements"]["cuda"]))
    if len(ws_cuda) == 1:
        ws["cuda"] = ws_cuda.pop()
    draft.lose("workspace.platforms: ", [f"{cuda} (one CUDA for the workspace)" for cuda in sorted(ws_cuda)])
    spec["workspace"] = ws

    environments: dict[str, Any] = {}
    for name, feature in data.get("feature", {}).items():
        env: dict[str, Any] = {}
        _part(draft, feature, env, f"feature.{name}.")
        draft.keep(feature, "channels", env)
        if "platforms" in feature:
            chosen = [platforms.get(p, (p, None)) for p in feature["platforms"]]
            if [subdir for subdir, _ in chosen] != ws["platforms"]:
                env["platforms"] = [subdir for subdir, _ in chosen]
            cudas = sorted({cuda for _, cuda in chosen if cuda})
            if cudas:
                env["cuda"] = cudas[0]
            draft.lose(f"feature.{name}.platforms: ", [f"cuda {cuda} (one CUDA per environment)" for cuda in cudas[1:]])
        if "cuda" in feature.get("system-requirements", {}):
            env["cuda"] = str(feature["system-requirements"]["cuda"])
        draft.lose(f"feature.{name}.system-requirements.", set(feature.get("system-requirements", {})) - {"cuda"})
        _tasks(draft, feature.get("tasks", {}), spec.setdefault("tasks", {}), f"feature.{name}.", name)
        draft.lose(f"feature.{name}.", set(feature) - {*PART_KEYS, "channels", "platforms", "system-requirements", "tasks"})
        environments[name] = env
    declared = data.get("environments", {})
    for name, composition in declared.items():
        table = {"features": composition} if isinstance(composition, list) else dict(composition)
        features = list(table.get("features", []))
        env = environments.setdefault(name, {})
        others = [f for f in features if f != name]
        if others:
            env["features"] = others
        if "solve-group" in table:
            env["solve_group"] = table["solve-group"]
        if table.get("no-default-feature"):
            env["no_default_feature"] = True
    if declared:  # a feature no environment is named after is only a feature, as in the manifest
        for name, env in environments.items():
            if name not in declared:
                env["feature_only"] = True
    if environments:
        spec["environments"] = environments
        solved = [name for name, env in environments.items() if not env.get("feature_only")]
        if "gpu" not in solved:
            spec["container"] = {"environment": _image_environment(environments, solved, list(declared))}
    _tasks(draft, data.get("tasks", {}), spec.setdefault("tasks", {}), "", None)
    if not spec["tasks"]:
        del spec["tasks"]
    draft.lose("", set(data) - {"workspace", "project", *PART_KEYS, "pypi-options", "system-requirements", "feature",
                                "environments", "tasks"})
    return draft


def _image_environment(environments: dict[str, Any], solved: list[str], declared: list[str]) -> str:
    """The environment the image installs: the first the manifest declares that has CUDA (of its own or
    of a feature it includes), else the first it declares, else the first feature's."""
    def has_cuda(name: str) -> bool:
        env = environments.get(name, {})
        return "cuda" in env or any("cuda" in environments.get(f, {}) for f in env.get("features", []))

    ordered = [name for name in declared if name in solved] + [name for name in solved if name not in declared]
    return next((name for name in ordered if has_cuda(name)), ordered[0])


SYSTEM_KEYS = {"glibc": "glibc", "linux": "linux", "macos": "macos", "osx": "macos", "windows": "windows"}


def _platforms(draft: Draft, entries: list[Any], ws: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """`[workspace].platforms`, plain subdirs or pixi >= 0.71 tables: the subdirs go to
    workspace.platforms, glibc/linux/macos/windows to workspace.system_requirements. Returns each
    entry's name with its subdir and CUDA, for the features that select entries by name."""
    named: dict[str, tuple[str, str | None]] = {}
    subdirs: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            subdir, cuda, name = entry, None, entry
        else:
            subdir = str(entry.get("platform", entry.get("name")))
            name = str(entry.get("name", subdir))
            cuda = entry.get("cuda")
            if isinstance(cuda, dict):
                draft.lose(f"workspace.platforms.{name}.cuda.", ["arch (pixi-htc derives it from the jobs' gpu.min_capability)"]
                           if "arch" in cuda else [])
                cuda = cuda.get("driver")
            _system_requirements(draft, {k: v for k, v in entry.items() if k in SYSTEM_KEYS}, ws, f"workspace.platforms.{name}.")
            draft.lose(f"workspace.platforms.{name}.", set(entry) - {"name", "platform", "cuda", *SYSTEM_KEYS})
        named[name] = (subdir, None if cuda is None else str(cuda))
        if subdir not in subdirs:
            subdirs.append(subdir)
    if entries:
        ws["platforms"] = subdirs
    return named


def _system_requirements(draft: Draft, table: dict[str, Any], ws: dict[str, Any], where: str) -> None:
    """Virtual packages other than CUDA: one version each, for the whole workspace."""
    wanted = dict(table)
    libc = wanted.pop("libc", None)
    if libc is not None:
        wanted["glibc"] = libc if isinstance(libc, str) else libc.get("version")
    for key, value in wanted.items():
        if key not in SYSTEM_KEYS or value is None:
            continue
        have = ws.setdefault("system_requirements", {})
        if have.setdefault(SYSTEM_KEYS[key], str(value)) != str(value):
            draft.lose(where, [f"{key} {value} (the workspace declares {have[SYSTEM_KEYS[key]]})"])
    draft.lose(where, set(wanted) - {*SYSTEM_KEYS, "cuda"})

"""pixi tasks as spec tasks: commands on one line as pixi runs them, working directories and globs
relative to the project root, and a note with the source line for whatever cannot be carried."""

from __future__ import annotations

import re
import shlex
from typing import Any, Protocol

from ..core.foreign import shown
from .fits import fits
from .pixi_source import Path_, Source

CONTROL_OPERATORS = ("&&", "||", "|", ";", "&")
TASK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}")


class Lose(Protocol):
    """Records what is not carried, at the source line of `path` (whole: a path from the file's top,
    not from [tool.pixi])."""

    def __call__(self, path: Path_, message: str, whole: bool = False) -> None: ...


def one_line(cmd: str) -> str:
    """A multi-line command as pixi runs it: backslash continuations merged, blank and comment lines
    dropped, the other lines joined with && (so that it stops at the first failure) unless a line
    already ends in a shell operator."""
    merged = re.sub(r"\\[ \t]*\r?\n[ \t]*", " ", cmd)
    out = ""
    for line in (part.strip().replace("\t", " ") for part in merged.splitlines()):
        if not line or line.startswith("#"):
            continue
        out = line if not out else f"{out} {line}" if out.endswith(CONTROL_OPERATORS) else f"{out} && {line}"
    return out


def task_name(name: str, taken: set[str]) -> str:
    """A task name the spec takes: pixi's own when it fits, else one made of its letters."""
    if TASK_NAME.fullmatch(name):
        return name
    fixed = re.sub(r"[^A-Za-z0-9_.:-]+", "-", name).strip("-")[:63] or "task"
    fixed = fixed if TASK_NAME.fullmatch(fixed) else f"t-{fixed}"[:63]
    while fixed in taken:
        fixed += "-2"
    return fixed


def convert(source: Source, body: Any, path: Path_, lose: Lose, renamed: dict[str, str]) -> str | dict[str, Any] | None:
    """One task. `renamed` maps pixi task names to the spec's (for depends-on)."""
    if isinstance(body, list):  # pixi's shorthand for an alias: a list of tasks to run
        body = {"depends-on": body}
    if isinstance(body, str):
        body = {"cmd": body}
    if not isinstance(body, dict):
        raise source.wrong(path, body, "a string, an array or a table")
    out: dict[str, Any] = {}
    cmd = body.get("cmd")
    if isinstance(cmd, list):
        if not all(isinstance(part, str) for part in cmd):
            raise source.wrong((*path, "cmd"), cmd, "an array of strings")
        cmd = shlex.join(cmd) if any(not re.fullmatch(r"[^\s'\"\\]+", part) for part in cmd) else " ".join(cmd)
    if cmd is not None:
        cmd = source.text(cmd, (*path, "cmd"))
        flat = one_line(cmd)
        if flat != cmd:
            lose((*path, "cmd"), "a multi-line command, written on one line as pixi runs it (lines joined with &&)")
        if flat:
            out["cmd"] = flat
    _depends_on(source, body.get("depends-on", body.get("depends_on")), path, lose, renamed, out)
    if "description" in body:  # pixi task list's text, TOML-escaped into pixi.toml only
        value = source.text(body["description"], (*path, "description"))
        flat = " ".join(value.split())
        if flat != value and fits(flat, "$defs/metaText"):
            lose((*path, "description"), "a multi-line description, written on one line")
        if fits(flat, "$defs/metaText"):
            out["description"] = flat
        elif flat:
            lose((*path, "description"), f"a description over 300 characters ({shown(flat, 60)})")
    if "cwd" in body:
        cwd = source.path(source.text(body["cwd"], (*path, "cwd")))
        if cwd is None or not fits({"cmd": "x", "cwd": cwd}, "$defs/task"):
            lose(
                (*path, "cwd"),
                f"cwd {shown(body['cwd'], 80)} (outside the project, or not a plain path): the task "
                "runs from the project root instead",
            )
        elif cwd != ".":
            out["cwd"] = cwd
    elif source.base and cmd is not None:
        out["cwd"] = source.base  # where pixi ran it: beside the manifest
    if "env" in body:
        env = source.table(body, "env", path)
        kept = {k: v for k, v in env.items() if fits({"cmd": "x", "env": {k: v}}, "$defs/task")}
        for key in sorted(set(env) - set(kept)):
            lose(
                (*path, "env", key), "an environment variable the spec cannot hold (name, or a value with line breaks)"
            )
        if kept:
            out["env"] = kept
    for key in ("inputs", "outputs"):
        globs = source.array(body, key, path)
        kept_globs = []
        for glob in globs:
            moved = source.path(source.text(glob, (*path, key)))
            if moved is not None and fits({"cmd": "x", key: [moved]}, "$defs/task"):
                kept_globs.append(moved)
            else:
                lose((*path, key), f"{key} glob {shown(glob, 80)} (outside the project, or not a plain glob)")
        if kept_globs:
            out[key] = kept_globs
    if "args" in body:
        args = []
        for arg in source.array(body, "args", path):
            plain = {k: v for k, v in arg.items() if k in ("arg", "default")} if isinstance(arg, dict) else arg
            if isinstance(arg, dict) and set(arg) - {"arg", "default"}:
                lose(
                    (*path, "args"),
                    f"{', '.join(sorted(set(arg) - {'arg', 'default'}))} of argument {shown(arg.get('arg'), 40)}",
                )
            if fits({"cmd": "x", "args": [plain]}, "$defs/task"):
                args.append(plain)
            else:
                lose((*path, "args"), f"argument {shown(arg, 80)}")
        if args:
            out["args"] = args
    known = {"cmd", "depends-on", "depends_on", "description", "cwd", "env", "inputs", "outputs", "args"}
    for key in sorted(set(body) - known):
        lose((*path, key), "a task key the spec has no place for")
    if not out.get("cmd") and not out.get("depends_on"):
        lose(path, "a task with nothing left to run")
        return None
    return out["cmd"] if list(out) == ["cmd"] else out


def _depends_on(
    source: Source, value: Any, path: Path_, lose: Lose, renamed: dict[str, str], out: dict[str, Any]
) -> None:
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            if set(item) - {"task"}:
                lose(
                    (*path, "depends-on"),
                    f"{', '.join(sorted(set(item) - {'task'}))} of the dependency on "
                    f"{shown(item.get('task'), 40)} (the spec names tasks only)",
                )
            item = item.get("task")
        name = source.text(item, (*path, "depends-on"))
        names.append(renamed.get(name, name))
    if names and fits(names, "$defs/task/anyOf/1/properties/depends_on"):
        out["depends_on"] = names
    elif names:
        lose((*path, "depends-on"), f"depends-on {shown(names, 80)}")


def convert_all(
    source: Source, tasks: dict[str, Any], path: Path_, lose: Lose, renamed: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, body in tasks.items():
        spec_name = renamed.get(name) or task_name(name, set(out))
        if spec_name != name:
            lose((*path, name), f"task {shown(name, 60)} is named {spec_name} in the spec")
        converted = convert(source, body, (*path, name), lose, renamed)
        if converted is not None:
            out[spec_name] = converted
    return out


def names(tasks_tables: list[dict[str, Any]]) -> dict[str, str]:
    """Every task name the manifest uses, to the spec's (depends-on follows a rename)."""
    renamed: dict[str, str] = {}
    for table in tasks_tables:
        for name in table:
            renamed.setdefault(name, task_name(name, set(renamed.values())))
    return renamed

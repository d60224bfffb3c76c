"""A pixi manifest someone else wrote, read as data: bounded, through compiler/foreign.py, with the line
of every key, and typed access that turns a value of the wrong type into a located usage error
(exit 2) instead of a crash.

tomllib gives no positions, so `lines()` scans the text for table headers and `key =` lines itself;
a key inside an inline table or a multi-line array is located at the nearest key above it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, read_text, shown

MANIFEST_LIMIT = 4 * 1024 * 1024  # the largest public pixi manifests are tens of kilobytes
MAX_DEPTH = 32  # pixi's own tables nest a handful deep; deeper is not a manifest
MAX_KEYS = 4096  # keys in one table or items in one array: a manifest's hold tens (50,000 took minutes)
KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
DOTTED = rf"{KEY_PART}(?:[ \t]*\.[ \t]*{KEY_PART})*"
HEADER = re.compile(rf"[ \t]*\[\[?[ \t]*({DOTTED})[ \t]*\]\]?")
ASSIGNMENT = re.compile(rf"[ \t]*({DOTTED})[ \t]*=")
KINDS = {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}

Path_ = tuple[str, ...]


def kind(value: Any) -> str:
    return next((name for python, name in KINDS.items() if isinstance(value, python)), type(value).__name__)


def _parts(dotted: str) -> Path_:
    parts = re.findall(KEY_PART, dotted)
    out = []
    for part in parts:
        if part[0] == '"':
            try:
                part = tomllib.loads(f"k = {part}")["k"]
            except tomllib.TOMLDecodeError:
                part = part[1:-1]
        elif part[0] == "'":
            part = part[1:-1]
        out.append(part)
    return tuple(out)


def lines(text: str) -> dict[Path_, int]:
    """Each table header's and each top-level assignment's key path, with its 1-based line."""
    return _layout(text)[0]


def _layout(text: str) -> tuple[dict[Path_, int], tuple[int, int, Path_] | None]:
    """lines(), and where the nesting first passes MAX_DEPTH (line, column, key path): a key path
    plus the brackets open in its value. Found in the text, before a parser that recurses."""
    found: dict[Path_, int] = {}
    table: Path_ = ()
    key: Path_ = ()
    deep: tuple[int, int, Path_] | None = None
    depth, closing = 0, ""
    for number, line in enumerate(text.split("\n"), 1):  # TOML ends lines at \n only (not U+2028)
        start = 0
        if closing:
            end = line.find(closing)
            if end < 0:
                continue
            closing, start = "", end + 3
        elif depth == 0:
            header = HEADER.match(line)
            assignment = None if header else ASSIGNMENT.match(line)
            if header:
                table = key = _parts(header.group(1))
                found.setdefault(table, number)
                start = header.end()
            elif assignment:
                key = (*table, *_parts(assignment.group(1)))
                found.setdefault(key, number)
                start = assignment.end()
            if deep is None and len(key) > MAX_DEPTH:
                deep = (number, 1, key)
        depth, closing, over = _scan(line, start, depth, MAX_DEPTH - len(key))
        if deep is None and over >= 0:
            deep = (number, over + 1, key)
    return found, deep


def _scan(line: str, start: int, depth: int, bound: int = -1) -> tuple[int, str, int]:
    """The bracket depth after a line, the delimiter of a multi-line string left open, and the
    0-based column of the bracket that first takes the depth past `bound` (-1: none; a bound below
    0 is never checked)."""
    i, over = start, -1
    while i < len(line):
        char = line[i]
        if char == "#":
            break
        if line.startswith(('"""', "'''"), i):
            delimiter = line[i : i + 3]
            end = line.find(delimiter, i + 3)
            if end < 0:
                return depth, delimiter, over
            i = end + 3
            continue
        if char in "\"'":
            i += 1
            while i < len(line) and line[i] != char:
                i += 2 if char == '"' and line[i] == "\\" else 1
        elif char in "[{":
            depth += 1
            if over < 0 and 0 <= bound < depth:
                over = i
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return depth, "", over


@dataclass
class Source:
    """The manifest's data (for a pyproject.toml, its [tool.pixi] table), with lines to point at."""

    file: str  # as the user named it
    data: dict[str, Any]
    located: dict[Path_, int]
    prefix: Path_ = ()  # ("tool", "pixi") in a pyproject.toml
    document: dict[str, Any] = field(default_factory=dict)  # the whole file
    base: str = ""  # the manifest's directory relative to the project root ("" for the root itself)

    def line(self, path: Path_, *, whole: bool = False) -> int:
        full = path if whole else (*self.prefix, *path)
        for size in range(len(full), 0, -1):
            if full[:size] in self.located:
                return self.located[full[:size]]
        return 1

    def at(self, path: Path_, *, whole: bool = False) -> str:
        """`pixi.toml:12: feature.gpu.tasks` for a message."""
        shown_path = ".".join(path if whole else (*self.prefix, *path))
        return f"{shown(self.file)}:{self.line(path, whole=whole)}: {shown(shown_path, 120)}"

    def wrong(self, path: Path_, value: Any, wanted: str, *, whole: bool = False) -> UsageError:
        return UsageError(
            f"{self.at(path, whole=whole)}: expected {wanted}, got {kind(value)} "
            f"({shown(repr(value), 60)}); fix the manifest, then run init again"
        )

    def table(self, parent: dict[str, Any], key: str, path: Path_, *, whole: bool = False) -> dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.wrong((*path, key), value, "a table", whole=whole)
        return value

    def array(self, parent: dict[str, Any], key: str, path: Path_) -> list[Any]:
        value = parent.get(key, [])
        if not isinstance(value, list):
            raise self.wrong((*path, key), value, "an array")
        return value

    def text(self, value: Any, path: Path_, *, whole: bool = False) -> str:
        if not isinstance(value, str):
            raise self.wrong(path, value, "a string", whole=whole)
        return value

    def path(self, value: str) -> str | None:
        """A path the manifest gives (relative to its own directory) as the spec's: relative to the
        project root, without `./`. None for one that leads out of the project or is absolute."""
        if not value or value.startswith(("/", "~")) or "\\" in value or re.match(r"[A-Za-z]:", value):
            return None
        joined = os.path.normpath(str(PurePosixPath(self.base or ".") / value)).replace(os.sep, "/")
        return None if joined == ".." or joined.startswith("../") else joined


def read(manifest: Path) -> Source:
    """Read and parse the manifest; every way it can fail is a UsageError naming the file."""
    name = str(manifest)
    try:
        text = read_text(manifest, MANIFEST_LIMIT, what="a pixi manifest")
    except ForeignFileError as error:
        raise UsageError(f"{error.at(name)}: {error}") from error
    located, nested = _layout(text)
    if nested is not None:
        number, column, key = nested
        raise UsageError(
            f"{shown(name)}:{number}:{column}: {shown('.'.join(key), 120)}: nests deeper than "
            f"{MAX_DEPTH} levels; not a pixi manifest"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{shown(name)}: not TOML: {shown(str(error))}") from error
    except RecursionError:  # the scan above missed a spelling of deep nesting
        raise UsageError(
            f"{shown(name)}: nests arrays or tables deeper than Python's TOML reader can follow; not a pixi manifest"
        ) from None
    deep = _too_deep(data)
    if deep is not None:
        raise UsageError(
            f"{shown(name)}:{_nearest(located, deep)}: {shown('.'.join(deep), 120)}: nests deeper than "
            f"{MAX_DEPTH} levels; not a pixi manifest"
        )
    wide = _too_wide(data)
    if wide is not None:
        path, count = wide
        raise UsageError(
            f"{shown(name)}:{_nearest(located, path)}: {shown('.'.join(path), 120) or 'the top level'}: "
            f"holds {count:,} keys or items, over the {MAX_KEYS:,} init reads in one; not a pixi manifest"
        )
    base = os.path.relpath(os.path.abspath(manifest.parent), os.getcwd()).replace(os.sep, "/")
    source = Source(file=name, data=data, located=located, document=data, base="" if base == "." else base)
    if manifest.name == "pyproject.toml":
        tool = source.table(data, "tool", (), whole=True)
        source.data = source.table(tool, "pixi", ("tool",), whole=True)
        source.prefix = ("tool", "pixi")
    return source


def _nearest(located: dict[Path_, int], path: Path_) -> int:
    return next((located[path[:size]] for size in range(len(path), 0, -1) if path[:size] in located), 1)


def _too_deep(data: Any) -> Path_ | None:
    """The first key path nested deeper than MAX_DEPTH, walked without recursion."""
    stack: list[tuple[Any, Path_]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(value))
    return None


def _too_wide(data: Any) -> tuple[Path_, int] | None:
    """The first table or array (its key path, its size) holding over MAX_KEYS entries."""
    stack: list[tuple[Any, Path_]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, (dict, list)) and len(value) > MAX_KEYS:
            return path, len(value)
        if isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(value))
    return None

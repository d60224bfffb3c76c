"""Load project.yaml with ruamel.yaml, keeping line and column of every key and value."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from compiler.errors import Diagnostic, SpecError

MAX_SPEC_BYTES = 1024 * 1024
# A project spec has hundreds of nodes; aliases that expand past this are a bomb, not a spec.
MAX_EXPANDED_NODES = 100_000

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """The parsed document plus what the headers and error messages need."""

    data: CommentedMap
    display_path: str
    sha256: str

    def has(self, path: KeyPath) -> bool:
        node: Any = self.data
        for step in path:
            if isinstance(node, dict) and step in node or isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            else:
                return False
        return True

    def locate(self, path: KeyPath, *, at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its key when `at_key`."""
        node: Any = self.data
        line, column = 0, 0
        for index, step in enumerate(path):
            last = index == len(path) - 1
            try:
                if isinstance(node, CommentedMap) and step in node:
                    line, column = node.lc.key(step) if (last and at_key) else node.lc.value(step)
                elif isinstance(node, CommentedSeq) and isinstance(step, int) and step < len(node):
                    line, column = node.lc.item(step)
                else:
                    break
            except (KeyError, IndexError, TypeError):  # merged keys (<<) carry no positions
                break
            node = node[step]
        return line + 1, column + 1


def format_key_path(path: KeyPath) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def load_spec(path: Path, display_path: str) -> LoadedSpec:
    """Read, decode and parse the spec; every failure becomes a SpecError with a position."""

    def fail(message: str, line: int = 1, column: int = 1) -> SpecError:
        return SpecError(display_path, [Diagnostic(line, column, "", message)])

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise fail(f"cannot read the spec: {error.strerror}") from error
    if len(raw) > MAX_SPEC_BYTES:
        raise fail(f"the spec is larger than {MAX_SPEC_BYTES // 1024} KiB; a project spec is a few KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise fail(f"the spec is not UTF-8 (byte 0x{raw[error.start]:02x})", line, column) from error
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise fail("the spec contains a NUL character", line)

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        problem = problem.replace("\n", " ").strip() or "invalid YAML"
        if "duplicate key" in problem:
            problem = "duplicate key" + problem.split("duplicate key", 1)[1].split(" To suppress")[0]
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise fail(problem, line, column) from error
    except (YAMLError, RecursionError, ValueError) as error:
        raise fail(f"invalid YAML: {error}".replace("\n", " ")) from error

    if data is None:
        raise fail("the spec is empty; start from specs/project.yaml")
    if not isinstance(data, CommentedMap):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise fail(f"the top level must be a mapping of keys (schema_version, name, ...), not {kind}")
    if _count_nodes(data) > MAX_EXPANDED_NODES:
        raise fail(f"the spec expands to more than {MAX_EXPANDED_NODES} nodes through aliases")
    return LoadedSpec(data=data, display_path=display_path, sha256=hashlib.sha256(raw).hexdigest())


def _count_nodes(data: Any) -> int:
    """Count nodes as a consumer that follows aliases would see them, stopping at the limit."""
    count = 0
    for _ in _walk(data):
        count += 1
        if count > MAX_EXPANDED_NODES:
            break
    return count


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def to_plain(node: Any) -> Any:
    """ruamel containers and scalars to plain dict/list/str/int/float/bool for jsonschema and the model."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return str(node)  # dates and other YAML types: the schema rejects them as strings where needed

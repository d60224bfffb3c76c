"""Load project.yaml with ruamel.yaml, keeping line and column of every key and value."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import DirectiveToken, TagToken

from ..core.errors import Diagnostic, SpecError
from .origins import with_origins

MAX_SPEC_BYTES = 1024 * 1024
# A project spec has hundreds of nodes; aliases that expand past this are a bomb, not a spec.
MAX_EXPANDED_NODES = 100_000
# ... and text that expands past the spec's own size limit is a bomb too (a 111 KB alias bomb once
# wrote a 100 MB pixi.toml).
MAX_EXPANDED_CHARS = 1024 * 1024
# Every key and value of a spec is one line: a line break, another control character, or a Unicode
# line or paragraph separator would start a new line (a new command, table or step) in some output.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """The parsed document plus what the headers and error messages need."""

    data: CommentedMap
    display_path: str
    sha256: str
    # Values that are not plain one-line JSON-like data (control characters, non-string keys, NaN,
    # dates), found at load; validation reports them with the schema's errors and sets them aside.
    problems: tuple[tuple[KeyPath, Diagnostic], ...] = ()
    lines: tuple[str, ...] = ()  # the text, for the `# from <file>:<line>` comments init writes (origins.py)

    def has(self, path: KeyPath) -> bool:
        node: Any = self.data
        for step in path:
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
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
        raise SpecError(
            display_path, with_origins([Diagnostic(line, column, "", problem)], text.splitlines())
        ) from error
    except (YAMLError, RecursionError, ValueError) as error:
        raise fail(f"invalid YAML: {error}".replace("\n", " ")) from error

    if data is None:
        raise fail("the spec is empty; start from specs/project.yaml")
    if not isinstance(data, CommentedMap):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise fail(f"the top level must be a mapping of keys (schema_version, name, ...), not {kind}")
    nodes, chars = _expanded_size(data)
    if nodes > MAX_EXPANDED_NODES:
        raise fail(f"the spec expands to more than {MAX_EXPANDED_NODES} nodes through aliases")
    if chars > MAX_EXPANDED_CHARS:
        raise fail(f"the spec expands to more than {MAX_EXPANDED_CHARS // 1024} KiB of text through aliases")
    loaded = LoadedSpec(data=data, display_path=display_path, sha256=hashlib.sha256(raw).hexdigest())
    tags = [Diagnostic(line, column, "", message) for line, column, message in _tags_and_directives(yaml, text)]
    if tags:  # a tagged value is a Python object the rest cannot read
        raise SpecError(display_path, tags)
    return LoadedSpec(
        data=data,
        display_path=display_path,
        sha256=loaded.sha256,
        problems=tuple(_not_json_like(loaded)),
        lines=tuple(text.splitlines()),
    )


def _expanded_size(data: Any) -> tuple[int, int]:
    """Nodes and characters as a consumer that follows aliases would see them, stopping at the limits."""
    nodes = chars = 0
    for node in _walk(data):
        nodes += 1
        chars += len(node) if isinstance(node, str) else 0
        if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
            break
    return nodes, chars


def _tags_and_directives(yaml: YAML, text: str) -> Iterator[tuple[int, int, str]]:
    """Tags (`!!set`, `!!binary`, `!custom`) make Python objects, and a `%YAML 1.1` directive changes
    what plain scalars mean (`010` becomes 8, `1:30` becomes 90): a spec is plain JSON-like data."""
    for token in yaml.scan(text):
        if isinstance(token, TagToken):
            yield (
                token.start_mark.line + 1,
                token.start_mark.column + 1,
                "YAML tags are not allowed; write plain values (quote a string)",
            )
        elif isinstance(token, DirectiveToken):
            yield (
                token.start_mark.line + 1,
                token.start_mark.column + 1,
                "YAML directives (%YAML, %TAG) are not allowed",
            )


def _not_json_like(spec: LoadedSpec) -> Iterator[tuple[KeyPath, Diagnostic]]:
    """Keys that are not strings (`1` and `"1"` would merge), numbers that are not finite, values of
    other YAML types (dates), and control characters in any key or value. A mapping or list that
    aliases repeat is read once."""
    seen: set[int] = set()
    stack: list[tuple[Any, KeyPath]] = [(spec.data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                child = (*path, str(key))
                if not isinstance(key, str):
                    yield _diagnostic(
                        spec, (*path, key), f"key {key!r} must be a string: quote it", at_key=True, shown=child
                    )
                elif CONTROL.search(key):
                    yield _diagnostic(
                        spec,
                        (*path, key),
                        "a key must not contain control characters or line breaks",
                        at_key=True,
                        shown=child,
                    )
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
        elif isinstance(node, str):
            control = CONTROL.search(node)
            if control:
                yield _diagnostic(
                    spec,
                    path,
                    f"a value must not contain control characters or line breaks (found {control.group()!r})",
                )
        elif isinstance(node, float) and not math.isfinite(node):
            yield _diagnostic(spec, path, f"{node!r} is not a number a spec can use")
        elif not isinstance(node, (bool, int, float)) and node is not None:
            yield _diagnostic(
                spec,
                path,
                "only strings, numbers, true/false, lists and mappings are allowed "
                f"(this is a {type(node).__name__.removeprefix('Commented').lower()}): quote it to make it a string",
            )


def _diagnostic(
    spec: LoadedSpec, path: KeyPath, message: str, *, at_key: bool = False, shown: KeyPath | None = None
) -> tuple[KeyPath, Diagnostic]:
    """The problem's path in the plain document (keys as strings), and its located diagnostic."""
    line, column = spec.locate(path, at_key=at_key)
    plain = shown or path
    return plain, Diagnostic(line, column, format_key_path(plain), message)


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

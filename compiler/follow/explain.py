"""`pixi-htc explain`: which spec keys produce a generated line, and which lines a key reaches.

Found by experiment, so no renderer has to record where its text came from: each leaf of the loaded
spec (a scalar, a list item, or the name of an entry in a mapping of user-named entries) is changed
in memory to another value the spec still accepts, everything is rendered again (no writing), and
the generated lines that differ are the ones that key reaches. A key that no valid change exists
for is reported as such.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import EXIT_OK, SpecError, UsageError, printable
from ..spec.loader import KeyPath, LoadedSpec, format_key_path, to_plain
from ..artifacts.base import Compiled
from ..pipeline.compile import compile_loaded
from ..spec.rules import did_you_mean
from ..spec.schema_validator import SpecValidator
from ..core.resources import project_schema

Lines = dict[str, set[int]]  # artifact path -> 1-based line numbers of the current build
PROBE = {"pixi-htc-probe": True}
# explain renders the spec once per changed leaf: bounded by the bytes it renders in all (so a large
# spec or a large sweep gets fewer renders, never an unbounded run), counted, so the answer is the
# same on every machine. Keys past the budget are named as not tested.
RENDER_BUDGET_BYTES = 256 * 1024 * 1024
MAX_RENDERS = 800
MAX_TRIES = 40  # values tried per leaf before it is reported as not testable  # a value no schema accepts where a scalar belongs: its errors name the options


@dataclass(frozen=True)
class Reach:
    path: KeyPath
    is_name: bool  # the key's own name (a job's, an environment's), not its value
    value: str
    lines: Lines | None  # None: no valid change found

    @property
    def shown(self) -> str:
        return format_key_path(self.path) + (" (its name)" if self.is_name else "")


def leaves(node: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, bool]]:
    """(path, is_name) for every scalar and list item, and every mapping key (tried as a rename)."""
    if isinstance(node, dict):
        for key in sorted(node):
            if path:  # top-level keys are the schema's own
                yield (*path, key), True
            yield from leaves(node[key], (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from leaves(item, (*path, index))
    else:
        yield path, False


def _get(document: Any, path: KeyPath) -> Any:
    for step in path:
        document = document[step]
    return document


def _bump_digit(text: str) -> str | None:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return None
    i = digits[-1]
    return text[:i] + str((int(text[i]) + 1) % 10 or 1) + text[i + 1:] if text[i] != "9" else text[:i] + "8" + text[i + 1:]


def _before_suffix(text: str) -> str | None:
    base = text.rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return None
    cut = len(text) - len(base) + base.index(".", 1 if base.startswith(".") else 0)
    return text[:cut] + "x" + text[cut:]


def candidates(value: Any, alternatives: list[Any]) -> Iterator[Any]:
    """Other values to try, most meaningful first: the schema's own options, then small edits."""
    seen = {repr(value)}
    generic: list[Any]
    if isinstance(value, bool):
        generic = [not value]
    elif isinstance(value, int):
        generic = [value + 1, value - 1, value * 2]
    elif isinstance(value, float):
        generic = [value + 0.5, value * 2, value / 2, value + 1]
    elif isinstance(value, str):
        generic = [_bump_digit(value), _before_suffix(value), value + "x", value + "-x", value + "1", "x" + value]
    else:
        generic = []
    for candidate in [*alternatives, *generic]:
        if candidate is not None and type(candidate) is type(value) and repr(candidate) not in seen:
            seen.add(repr(candidate))
            yield candidate


def _schema_alternatives(document: dict[str, Any], path: KeyPath) -> list[Any]:
    """The enum values, consts and examples the schema states where `path` is."""
    probe = copy.deepcopy(document)
    parent = _get(probe, path[:-1])
    parent[path[-1]] = PROBE
    found: list[Any] = []

    def visit(errors: Any) -> None:
        for error in errors:
            schema = error.schema if isinstance(error.schema, dict) else {}
            if tuple(error.absolute_path) == path:
                found.extend(schema.get("enum", []))
                found.extend([schema["const"]] if "const" in schema else [])
                found.extend(schema.get("examples", []))
            visit(error.context or [])

    visit(SpecValidator(project_schema()).iter_errors(probe))
    return found


class OverBudget(Exception):
    """explain has rendered as much as it may for one answer."""


class Explainer:
    """One baseline render, then one render per changed leaf, all in memory, within a budget."""

    def __init__(self, compiled: Compiled, spec: LoadedSpec) -> None:
        self.compiled, self.spec = compiled, spec
        self.document: dict[str, Any] = to_plain(spec.data)
        self.renders_left = 1
        baseline = self._texts(self.document)
        if baseline is None:
            raise UsageError(f"{spec.display_path} does not validate; fix it before asking what it produces")
        self.baseline = baseline
        size = max(1, sum(len(line) + 1 for lines in baseline.values() for line in lines))
        self.budget = min(MAX_RENDERS, RENDER_BUDGET_BYTES // size)
        self.renders_left = self.budget
        self.over_budget: list[KeyPath] = []

    def _texts(self, document: dict[str, Any]) -> dict[str, list[str]] | None:
        """Every artifact's lines, or None when the document is not a valid spec. The spec's hash is
        the loaded one, so the headers (which carry it) change only with what they say."""
        if self.renders_left <= 0:
            raise OverBudget
        self.renders_left -= 1
        loaded = LoadedSpec(data=document, display_path=self.spec.display_path, sha256=self.spec.sha256)  # type: ignore[arg-type]
        try:
            compiled = compile_loaded(loaded, self.compiled.root, self.compiled.layout)
        except (SpecError, UsageError):  # not a valid spec, or one past the build's size bound
            return None
        return {str(a.path): a.text.splitlines() for a in compiled.artifacts}

    def _changed(self, texts: dict[str, list[str]], rename: tuple[str, str] | None) -> Lines:
        """Baseline lines that differ; a file renamed with a key is compared with its old self."""
        lines: Lines = {}
        for path, old in self.baseline.items():
            new = texts.get(path)
            if new is None and rename is not None:
                new = texts.get(_renamed(path, *rename))
            if new is None:
                lines[path] = set(range(1, len(old) + 1))
                continue
            changed = {i + 1 for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
                       if tag in ("replace", "delete") for i in range(i1, i2)}
            if changed:
                lines[path] = changed
        return lines

    def reach(self, path: KeyPath, is_name: bool) -> Reach | None:
        """What the leaf reaches; None for a key whose name the schema fixes (not the user's)."""
        if is_name:
            return self._reach_name(path)
        value = _get(self.document, path)
        tried = list(candidates(value, _schema_alternatives(self.document, path)))
        # A name of something else in the spec (an environment a job runs in): only the spec's own names.
        tried += [name for name in candidates(value, sorted(_names(self.document))) if name not in tried]
        for new in tried[:MAX_TRIES]:
            document = copy.deepcopy(self.document)
            _get(document, path[:-1])[path[-1]] = new
            texts = self._texts(document)
            if texts is not None:
                return Reach(path, False, str(value), self._changed(texts, None))
        return Reach(path, False, str(value), None)

    def _reach_name(self, path: KeyPath) -> Reach | None:
        key = str(path[-1])
        if key in _fixed_names(self.document, path):
            return None
        for new in candidates(key, []):
            for everywhere in (False, True):  # then with every reference to it renamed too ({lr}, environment: gpu)
                document = copy.deepcopy(self.document)
                if everywhere:
                    document = _rename_references(document, key, new)
                parent = _get(document, path[:-1])
                parent[new] = parent.pop(key)
                texts = self._texts(document)
                if texts is not None:
                    return Reach(path, True, key, self._changed(texts, (key, new)))
        return Reach(path, True, key, None)

    def all(self, under: KeyPath = ()) -> list[Reach]:
        found = list(leaves(_get(self.document, under), under))
        if len(under) > 1 and isinstance(under[-1], str):
            found.insert(0, (under, True))  # the entry's own name: a job's names its files
        reaches = []
        self.renders_left, self.over_budget = self.budget, []  # each answer has the whole budget
        for path, is_name in found:
            try:
                reach = self.reach(path, is_name)
            except OverBudget:
                self.over_budget.append(path)
                continue
            if reach is not None:
                reaches.append(reach)
        return reaches

    def budget_note(self) -> Iterator[str]:
        if self.over_budget:
            yield (f"not tested ({len(self.over_budget)} key(s)): past explain's budget for one answer (each key "
                   "renders the whole spec again); ask about a key path, e.g. pixi-htc explain "
                   + printable(format_key_path(self.over_budget[0][:2])))


def _fixed_names(document: dict[str, Any], path: KeyPath) -> set[str]:
    """Keys the schema names itself (resources, memory, cmd, ...): renaming them is no experiment."""
    probe = copy.deepcopy(document)
    parent = _get(probe, path[:-1])
    parent["pixi-htc-unknown-key"] = None

    def unknown(errors: Any) -> bool:
        return any((e.validator == "additionalProperties" and tuple(e.absolute_path) == path[:-1])
                   or unknown(e.context or []) for e in errors)

    return set(parent) - {"pixi-htc-unknown-key"} if unknown(SpecValidator(project_schema()).iter_errors(probe)) else set()


def _names(node: Any) -> Iterator[str]:
    """Every user-chosen name in the spec (mapping keys below the top level)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _names(item)


def _rename_references(node: Any, old: str, new: str) -> Any:
    """Every string that is `old`, or holds the placeholder `{old}`, with `new` in its place."""
    if isinstance(node, dict):
        return {key: _rename_references(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_references(item, old, new) for item in node]
    if isinstance(node, str):
        return new if node == old else node.replace("{" + old + "}", "{" + new + "}")
    return node


def _renamed(path: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(new)}(?![A-Za-z0-9_-])", old, path)


def parse_key_path(document: dict[str, Any], text: str) -> KeyPath:
    """`jobs.train.inputs[0]` to ("jobs", "train", "inputs", 0); keys may hold dots (ruamel.yaml)."""
    path: list[str | int] = []
    node: Any = document
    rest = text.strip()
    while rest:
        if isinstance(node, list):
            match = re.match(r"\[(\d+)\]\.?", rest)
            if not match or int(match.group(1)) >= len(node):
                raise UsageError(f"{text}: {format_key_path(tuple(path))} is a list of {len(node)}; name an item as [N]")
            path.append(int(match.group(1)))
            node, rest = node[int(match.group(1))], rest[match.end():]
            continue
        if not isinstance(node, dict):
            raise UsageError(f"{text}: {format_key_path(tuple(path))} is a value, it has no keys below it")
        keys = sorted((k for k in node if rest == k or rest.startswith(k + ".") or rest.startswith(k + "[")),
                      key=len, reverse=True)
        if not keys:
            wanted = re.split(r"[.\[]", rest, maxsplit=1)[0]
            where = format_key_path(tuple(path)) or "the spec's top level"
            raise UsageError(f"{text}: {wanted!r} is not set under {where}{did_you_mean(wanted, list(node))} "
                             f"(set there: {', '.join(sorted(node)) or 'nothing'}); a default applies, which no key "
                             "of the spec changes until you set it")
        path.append(keys[0])
        node, rest = node[keys[0]], rest[len(keys[0]):].removeprefix(".")
    return tuple(path)


def _location(spec: LoadedSpec, reach: Reach) -> str:
    line, column = spec.locate(reach.path, at_key=reach.is_name)
    return f"{spec.display_path}:{line}:{column}"


def explain(compiled: Compiled, spec: LoadedSpec, target: str) -> int:
    explainer = Explainer(compiled, spec)
    file_line = re.fullmatch(r"(.+):(\d+)", target)
    if file_line and ("/" in file_line.group(1) or Path(file_line.group(1)).suffix):
        for line in explain_line(explainer, file_line.group(1), int(file_line.group(2))):
            print(line)
    else:
        for line in explain_key(explainer, parse_key_path(explainer.document, target)):
            print(line)
    return EXIT_OK


def artifact_path(explainer: Explainer, file: str) -> str:
    root = explainer.compiled.root
    candidate = Path(file)
    absolute = (candidate if candidate.is_absolute() else Path.cwd() / candidate).resolve()
    try:
        shown = absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = file
    if shown not in explainer.baseline:
        build = explainer.compiled.layout.build_dir
        near = difflib.get_close_matches(shown, list(explainer.baseline), n=1)
        raise UsageError(f"{file} is not a file pixi-htc generates" + (f"; did you mean {near[0]}?" if near else
                                                                        f" (they are under {build}/ and .github/workflows/)"))
    return shown


def explain_line(explainer: Explainer, file: str, number: int) -> Iterator[str]:
    path = artifact_path(explainer, file)
    lines = explainer.baseline[path]
    if not 1 <= number <= len(lines):
        raise UsageError(f"{path} has {len(lines)} lines; there is no line {number}")
    yield printable(f"{path}:{number}: {lines[number - 1]}")
    reaches = explainer.all()
    producers = [r for r in reaches if r.lines is not None and number in r.lines.get(path, set())]
    untested = [r for r in reaches if r.lines is None]
    if producers:
        # The most specific first: a key that reaches few lines says more about this one.
        producers.sort(key=lambda r: (sum(len(v) for v in r.lines.values()), explainer.spec.locate(r.path)))  # type: ignore[union-attr]
        yield "produced by:"
        for reach in producers:
            yield printable(f"  {_location(explainer.spec, reach)}: {reach.shown} = {reach.value}"
                            f"  (reaches {sum(len(v) for v in reach.lines.values())} generated lines)")  # type: ignore[union-attr]
    else:
        yield "no key of the spec changes this line: it is the generator's own text or a default (compiler/model.py)"
    if untested:
        yield f"not tested ({len(untested)} key(s) have no other value the spec accepts): " + \
            ", ".join(r.shown for r in sorted(untested, key=lambda r: r.path.__repr__()))
    yield from explainer.budget_note()


def explain_key(explainer: Explainer, path: KeyPath) -> Iterator[str]:
    reaches = explainer.all(path)
    union: Lines = {}
    for reach in reaches:
        for file, numbers in (reach.lines or {}).items():
            union.setdefault(file, set()).update(numbers)
    line, column = explainer.spec.locate(path)
    total = sum(len(v) for v in union.values())
    yield printable(f"{explainer.spec.display_path}:{line}:{column}: {format_key_path(path)} reaches {total} generated line(s)"
                    + (f" through {len(reaches)} keys" if len(reaches) > 1 else ""))
    for file in sorted(union):
        for number in sorted(union[file]):
            yield printable(f"  {file}:{number}: {explainer.baseline[file][number - 1]}")
    for reach in reaches:
        if reach.lines is None:
            yield printable(f"  not tested: {reach.shown} = {reach.value}: no other value the spec accepts was found")
    yield from explainer.budget_note()

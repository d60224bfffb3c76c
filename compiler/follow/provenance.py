"""Where each generated line comes from: a source map from the model's fields to the spec's keys.

Every leaf of the frozen model (a value the renderers read: a job's memory, a sweep's value, the
derived image tag) is one *field*. A field knows the spec keys it comes from (`origin.py`): set at a
key, taken from another key, a default, or derived by the compiler. The lines a field reaches are
found by changing that field in the model (not in the spec: defaults and derived values are fields
too) and rendering the families again, in memory; the lines that differ are the field's. The answer
is exact for every field the budget covers, needs no renderer to record anything, and stays
byte-identical with a build because the baseline is the build's own compile.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import sys
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..artifacts import FAMILIES
from ..artifacts.base import Artifact, Compiled
from ..core.escape import Table
from ..schedulers import SCHEDULERS
from ..spec.loader import KeyPath
from ..spec.model import Project

Step = tuple[str, Any]  # ("attr", name) or ("item", index) into the model
Lines = dict[str, set[int]]  # artifact path -> 1-based line numbers of the baseline build
RENDER_BUDGET_BYTES = 256 * 1024 * 1024  # bytes rendered for one answer, in all
MAX_RENDERS = 2000
# Fields that are bookkeeping, not values a renderer lays out (a key list, a flag the pipeline sets
# next to the value it describes).
INTERNAL = {
    ("Project", "keys"),
    ("Job", "keys"),
    ("Job", "site_keys"),
    ("Container", "tag_derived"),
    ("Pack", "staged_name"),
    ("Task", "key"),
    ("Workspace", "platform_entries"),
    ("Environment", "platform_entries"),
}


@dataclass(frozen=True)
class Field:
    """One leaf of the model: where it is (model steps), the spec key path it answers to, its value."""

    steps: tuple[Step, ...]
    reader: tuple[tuple[Step, ...], str]  # (the dataclass holding it, its attribute): what a renderer reads
    key: KeyPath  # the spec key this field is written under (set or not)
    owner: str  # the dataclass holding it
    name: str  # its attribute there
    value: Any
    is_name: bool = False  # the name of an entry (a job's, a sweep variable's), not a value
    hint: Any = None  # the attribute's type, for other values to try

    @property
    def shown(self) -> str:
        from ..spec.loader import format_key_path

        return format_key_path(self.key) + (" (its name)" if self.is_name else "")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Each field's choices as other_values needs them: a Literal's values, or `bool` for a flag that may
    be None. Read from the annotation's text (the model postpones annotations), an alias such as
    `Runtime` through the model's module, without evaluating anything."""
    module = vars(sys.modules[cls.__module__])
    hints: dict[str, Any] = {}
    for spec_field in dataclasses.fields(cls):
        text = spec_field.type if isinstance(spec_field.type, str) else repr(spec_field.type)
        alias = module.get(text.split(" |")[0].strip())
        if alias is not None and typing.get_origin(alias) is typing.Literal:
            hints[spec_field.name] = tuple(typing.get_args(alias))
        elif "Literal[" in text:
            hints[spec_field.name] = tuple(re.findall(r"[\"']([^\"']*)[\"']", text))
        elif re.fullmatch(r"bool \| None|None \| bool|Optional\[bool\]", text):
            hints[spec_field.name] = bool
    return hints


def fields(node: Any, steps: tuple[Step, ...] = (), key: KeyPath = ()) -> Iterator[Field]:
    """Every leaf of the model, with the spec key path each answers to (the model mirrors the spec:
    jobs and environments by name, targets by platform, tasks at their own key, pairs as mappings)."""
    if not dataclasses.is_dataclass(node):
        return
    node_type: type = type(node)
    owner = node_type.__name__
    for spec_field in dataclasses.fields(node):
        name = spec_field.name
        if (owner, name) in INTERNAL:
            continue
        value = getattr(node, name)
        here = (*steps, ("attr", name))
        if name == "name" and key and key[-1] == value:  # an entry's name: its key in the spec
            yield Field(here, (steps, name), key, owner, name, value, is_name=True)
            continue
        if isinstance(node, Table):
            below = key
        elif owner == "Job" and name == "policy":
            below = key  # jobs.<name>.on_exit_hold: the policy keys sit on the job itself
        elif name == "targets":
            below = (*key, "target")
        else:
            below = (*key, name)
        yield from _value(value, here, (steps, name), below, owner, name, _hints(node_type).get(name))


def _value(
    value: Any,
    steps: tuple[Step, ...],
    reader: tuple[tuple[Step, ...], str],
    key: KeyPath,
    owner: str,
    name: str,
    hint: Any,
) -> Iterator[Field]:
    if dataclasses.is_dataclass(value):
        yield from fields(value, steps, key)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            at = (*steps, ("item", index))
            if dataclasses.is_dataclass(item):
                own = getattr(item, "key", None) if type(item).__name__ == "Task" else None
                label = getattr(item, "name", None) or getattr(item, "platform", None) or getattr(item, "subdir", None)
                if own:
                    yield from fields(item, at, tuple(own))
                else:
                    yield from fields(item, at, (*key, label) if isinstance(label, str) else (*key, index))
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                yield Field((*at, ("item", 0)), reader, (*key, item[0]), owner, name, item[0], is_name=True)
                yield from _value(item[1], (*at, ("item", 1)), reader, (*key, item[0]), owner, name, None)
            else:
                yield from _value(item, at, reader, (*key, index), owner, name, None)
    else:
        yield Field(steps, reader, key, owner, name, value, hint=hint)


def replaced(node: Any, steps: tuple[Step, ...], new: Any) -> Any:
    """The frozen tree with the leaf at `steps` replaced."""
    if not steps:
        return new
    (kind, at), rest = steps[0], steps[1:]
    if kind == "attr":
        return dataclasses.replace(node, **{at: replaced(getattr(node, at), rest, new)})
    return (*node[:at], replaced(node[at], rest, new), *node[at + 1 :])


def renamed_everywhere(node: Any, old: str, new: str) -> Any:
    """Every string that is `old` or holds the placeholder `{old}`, with `new` in its place (a name
    and the references to it: an environment a job runs in, a sweep variable in a command)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {
            f.name: renamed_everywhere(getattr(node, f.name), old, new) for f in dataclasses.fields(node) if f.init
        }
        return dataclasses.replace(node, **changes)
    if isinstance(node, tuple):
        return tuple(renamed_everywhere(item, old, new) for item in node)
    if isinstance(node, str):
        return new if node == old else node.replace("{" + old + "}", "{" + new + "}")
    return node


def _bump_digit(text: str) -> str | None:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return None
    i = digits[-1]
    return text[:i] + ("8" if text[i] == "9" else str(int(text[i]) + 1)) + text[i + 1 :]


def other_values(field: Field, names: tuple[str, ...] = ()) -> list[Any]:
    """Values to try in place of the field's, the type's own options first (for a reference to an
    environment, the other environments); a None is tried only where the type says what else it could
    be (a flag, a choice), since a value that adds lines changes none."""
    value = field.value
    options: list[Any] = [name for name in names if name != value] if not field.is_name and value in names else []
    if isinstance(field.hint, tuple):
        options += list(field.hint)
    elif field.hint is bool and value is None:
        options += [True, False]
    if isinstance(value, bool):
        options.append(not value)
    elif isinstance(value, int):
        options += [value + 1, value - 1]
    elif isinstance(value, float):
        options += [value + 0.5, value * 2]
    elif isinstance(value, str):
        options += [_bump_digit(value), value + "x", "x" + value]
    seen: list[Any] = []
    for option in options:
        if (
            option is not None
            and option != value
            and (value is None or type(option) is type(value))
            and option not in seen
        ):
            seen.append(option)
    return seen


_TRACED: dict[type, type] = {}


def _traced_class(cls: type) -> type:
    """A subclass of a model class that records each field read into the list `_log` points at."""
    if cls not in _TRACED:
        names = frozenset(f.name for f in dataclasses.fields(cls))

        def __getattribute__(self: Any, name: str) -> Any:
            if name in names and _LOG:
                _LOG[-1].append((id(self), name))
            return object.__getattribute__(self, name)

        _TRACED[cls] = type(cls.__name__, (cls,), {"__getattribute__": __getattribute__})
    return _TRACED[cls]


_LOG: list[list[tuple[int, str]]] = []


def _traced_copy(node: Any, steps: tuple[Step, ...], ids: dict[int, tuple[Step, ...]], keep: list[Any]) -> Any:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        copy: Any = object.__new__(_traced_class(type(node)))
        for f in dataclasses.fields(node):
            object.__setattr__(copy, f.name, _traced_copy(getattr(node, f.name), (*steps, ("attr", f.name)), ids, keep))
        ids[id(copy)] = steps
        keep.append(copy)
        return copy
    if isinstance(node, tuple):
        return tuple(_traced_copy(item, (*steps, ("item", i)), ids, keep) for i, item in enumerate(node))
    return node


ALL = None  # a family whose reads could not all be placed: it is rendered for every field


def family_reads(
    project: Project, layout: Any, renderers: dict[str, Callable[[Project, Any], list[Artifact]]]
) -> dict[str, set[tuple[tuple[Step, ...], str]] | None]:
    """Which fields each family reads, from one render of each on a traced copy of the model. A
    family that never reads a field renders the same text whatever its value, so only the families
    that read it are rendered again when it changes. A read of an object the copy does not know (one
    a renderer made) places the family under ALL."""
    ids: dict[int, tuple[Step, ...]] = {}
    keep: list[Any] = []
    traced = _traced_copy(project, (), ids, keep)
    reads: dict[str, set[tuple[tuple[Step, ...], str]] | None] = {}
    for name, render in renderers.items():
        _LOG.append([])
        try:
            render(traced, layout)
        finally:
            log = _LOG.pop()
        placed = {(ids[owner], attr) for owner, attr in log if owner in ids}
        reads[name] = placed if all(owner in ids for owner, _ in log) else ALL
    return reads


class OverBudget(Exception):
    """The map has rendered as much as it may for one answer."""


class SourceMap:
    """The baseline build's lines, and for each field asked about, the lines it reaches."""

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.project = compiled.project
        self.baseline: dict[str, list[str]] = {str(a.path): a.text.splitlines() for a in compiled.artifacts}
        self.manifest = str(compiled.layout.build(".pixi-htc-manifest.json"))
        self.fields = list(fields(self.project))
        self.environment_names = tuple(env.name for env in self.project.environments)
        size = max(1, sum(len(line) + 1 for lines in self.baseline.values() for line in lines))
        self.budget = min(MAX_RENDERS, RENDER_BUDGET_BYTES // size)
        self.renders_left = self.budget
        self._reached: dict[tuple[tuple[Step, ...], bool], Lines | None] = {}
        self.renderers: dict[str, Callable[[Project, Any], list[Artifact]]] = {
            **FAMILIES,
            **{name: scheduler.render for name, scheduler in SCHEDULERS.items()},
        }
        self.reads = family_reads(self.project, compiled.layout, self.renderers)
        # Files of a family the experiment does not render are the baseline's own.
        self.by_family = {
            name: {str(a.path) for a in render(self.project, compiled.layout)}
            for name, render in self.renderers.items()
        }
        self.removed: dict[tuple[tuple[Step, ...], bool], set[str]] = {}

    def new_answer(self) -> None:
        self.renders_left = self.budget

    def families(self, field: Field) -> list[str]:
        """The families whose text can depend on the field: those that read it (a name: its references too)."""
        if field.is_name:
            return list(self.renderers)
        return [name for name, read in self.reads.items() if read is ALL or field.reader in read]

    def _render(self, project: Project, families: list[str]) -> dict[str, list[str]] | None:
        if self.renders_left <= 0:
            raise OverBudget
        self.renders_left -= 1
        texts: dict[str, list[str]] = {}
        try:
            for render in (self.renderers[name] for name in families):
                for artifact in render(project, self.compiled.layout):
                    texts[str(artifact.path)] = artifact.text.splitlines()
        except Exception:  # a value the renderers cannot take (not a valid model): try another
            return None
        return texts

    def reached(self, field: Field) -> Lines | None:
        """The baseline lines the field reaches; None when no other value could be rendered."""
        memo = (field.steps, field.is_name)
        if memo not in self._reached:
            self._reached[memo] = self._experiment(field)
        return self._reached[memo]

    def _experiment(self, field: Field) -> Lines | None:
        families = self.families(field)
        if not families:
            return {}
        rendered = {path for name in families for path in self.by_family[name]}
        for new in other_values(field, self.environment_names):
            tries = [replaced(self.project, field.steps, new)]
            if field.is_name:  # then with every reference to it renamed too ({lr}, environment: gpu)
                tries.append(renamed_everywhere(self.project, field.value, new))
            for project in tries:
                texts = self._render(project, families)
                if texts is not None:
                    changed = self._changed(field, texts, rendered, (field.value, new) if field.is_name else None)
                    if changed or field.value is not None or self.removed.get((field.steps, field.is_name)):
                        return changed
                    break  # an unset value that this option leaves as it was: the next may not
        return None if field.value is not None else {}

    def _changed(
        self, field: Field, texts: dict[str, list[str]], rendered: set[str], rename: tuple[str, str] | None
    ) -> Lines:
        """The baseline lines that differ. A file the change removes is listed in `removed` (the field
        decides whether it exists), not as each of its lines."""
        lines: Lines = {}
        removed = self.removed.setdefault((field.steps, field.is_name), set())
        for path in sorted(rendered):
            old = self.baseline[path]
            new = texts.get(path)
            if new is None and rename is not None:
                new = texts.get(_renamed(path, *rename))
            if new is None:
                removed.add(path)
                continue
            if new == old:
                continue
            if len(new) == len(old):
                changed = {i + 1 for i, (a, b) in enumerate(zip(old, new)) if a != b}
            else:
                changed = {
                    i + 1
                    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
                    if tag in ("replace", "delete")
                    for i in range(i1, i2)
                }
            if changed:
                lines[path] = changed
        return lines

    def manifest_line(self, number: int) -> str | None:
        """The file whose sha256 a line of the manifest records, if it is such a line."""
        match = re.match(r'\s*"([^"]+)": "[0-9a-f]{64}"', self.baseline[self.manifest][number - 1])
        return match.group(1) if match else None


def _renamed(path: str, old: str, new: str) -> str:
    """The baseline path of a file named after a renamed entry, as the experiment names it."""
    return re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(old)}(?![A-Za-z0-9_-])", new, path)

"""`pixi-htc explain`: which spec keys produce a generated line, and which lines a key reaches.

Answered from the source map (provenance.py): each field of the model, defaults and derived values
included, is changed in memory and the families that read it are rendered again; origin.py says
which spec key each field comes from, and where to set it. No spec is re-validated and no file
is written; the renders are counted against a budget, so the answer is the same on every machine.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..artifacts.base import Compiled
from ..core.errors import EXIT_OK, UsageError, printable
from ..spec.loader import KeyPath, LoadedSpec, format_key_path, to_plain
from ..spec.problem import did_you_mean
from . import provenance
from .origin import Origin, origin
from .provenance import Field, Lines, OverBudget, SourceMap

MAX_RENDERS = provenance.MAX_RENDERS
NAME_INPUTS = ("Dockerfile", "pixi.toml")  # what the derived image tag is a digest of (with the lock and code)


class Explainer:
    """The build in memory, its source map, and each field's origin in the spec."""

    def __init__(self, compiled: Compiled, spec: LoadedSpec) -> None:
        self.compiled, self.spec = compiled, spec
        self.document: dict[str, Any] = to_plain(spec.data)
        self.map = SourceMap(compiled)
        self.map.budget = min(self.map.budget, MAX_RENDERS)
        self.baseline = self.map.baseline
        self.over_budget: list[Field] = []
        self.runtimes: dict[str, str] = {job.name: job.runtime for job in compiled.project.jobs}

    def origin(self, field: Field) -> Origin:
        return origin(field, self.spec, self.document, self.runtimes)

    def reach(self, fields: list[Field]) -> list[tuple[Field, Lines | None]]:
        """Each field's lines, within one answer's budget (the fields past it are kept for the note)."""
        self.map.new_answer()
        self.over_budget = []
        found = []
        for field in fields:
            try:
                found.append((field, self.map.reached(field)))
            except OverBudget:
                self.over_budget.append(field)
        return found

    def shown(self, field: Field) -> str:
        value = (
            (field.value if not isinstance(field.value, bool) else str(field.value).lower())
            if field.value is not None
            else "(unset)"
        )
        return printable(f"{field.shown} = {value}")

    def budget_note(self) -> Iterator[str]:
        if self.over_budget:
            yield (
                f"not tested ({len(self.over_budget)} field(s)): past explain's budget for one answer (each "
                "renders the families that read it again); ask about a key path, e.g. pixi-htc explain "
                + printable(format_key_path(self.over_budget[0].key[:2]))
            )


def _total(lines: Lines) -> int:
    return sum(len(numbers) for numbers in lines.values())


def parse_key_path(document: dict[str, Any], text: str) -> KeyPath:
    """`jobs.train.inputs[0]` to ("jobs", "train", "inputs", 0); keys may hold dots (ruamel.yaml)."""
    path: list[str | int] = []
    node: Any = document
    rest = text.strip()
    while rest:
        if isinstance(node, list):
            match = re.match(r"\[(\d+)\]\.?", rest)
            if not match or int(match.group(1)) >= len(node):
                raise UsageError(
                    f"{text}: {format_key_path(tuple(path))} is a list of {len(node)}; name an item as [N]"
                )
            path.append(int(match.group(1)))
            node, rest = node[int(match.group(1))], rest[match.end() :]
            continue
        if not isinstance(node, dict):
            raise UsageError(f"{text}: {format_key_path(tuple(path))} is a value, it has no keys below it")
        keys = sorted(
            (k for k in node if rest == k or rest.startswith(k + ".") or rest.startswith(k + "[")),
            key=len,
            reverse=True,
        )
        if not keys:
            wanted = re.split(r"[.\[]", rest, maxsplit=1)[0]
            where = format_key_path(tuple(path)) or "the spec's top level"
            raise UsageError(
                f"{text}: {wanted!r} is not set under {where}{did_you_mean(wanted, list(node))} "
                f"(set there: {', '.join(sorted(node)) or 'nothing'}); a default applies, which no key "
                "of the spec changes until you set it"
            )
        path.append(keys[0])
        node, rest = node[keys[0]], rest[len(keys[0]) :].removeprefix(".")
    return tuple(path)


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
        raise UsageError(
            f"{file} is not a file pixi-htc generates"
            + (f"; did you mean {near[0]}?" if near else f" (they are under {build}/ and .github/workflows/)")
        )
    return shown


def _for_file(explainer: Explainer, path: str) -> list[Field]:
    """The fields that can reach a file (those its family reads), the entry it is named after first:
    within the budget, the likeliest producers are tried before the rest."""
    family = next(name for name, paths in explainer.map.by_family.items() if path in paths)
    fields = [f for f in explainer.map.fields if family in explainer.map.families(f)]
    named = {
        f.key[:2]
        for f in fields
        if f.is_name
        and len(f.key) == 2
        and re.search(rf"(?<![A-Za-z0-9_-]){re.escape(str(f.key[1]))}(?![A-Za-z0-9_-])", path)
    }
    return sorted(
        fields,
        key=lambda f: (
            f.key[:2] not in named,
            len(f.key) == 2 and f.key[0] in ("jobs", "environments") and f.key[:2] not in named,
        ),
    )


def explain_line(explainer: Explainer, file: str, number: int) -> Iterator[str]:
    path = artifact_path(explainer, file)
    lines = explainer.baseline[path]
    if not 1 <= number <= len(lines):
        raise UsageError(f"{path} has {len(lines)} lines; there is no line {number}")
    yield printable(f"{path}:{number}: {lines[number - 1]}")
    if path == explainer.map.manifest:
        hashed = explainer.map.manifest_line(number)
        yield printable(
            f"the sha256 of {hashed} as the build writes it: pixi-htc's record of the files it owns"
            if hashed
            else "the manifest's own text (its spec path and hash come from the spec file)"
        )
        return
    reaches = explainer.reach(_for_file(explainer, path))
    producers = [(f, r) for f, r in reaches if r is not None and number in r.get(path, set())]
    placing = [f for f, _ in reaches if path in explainer.map.removed.get((f.steps, f.is_name), set())]
    untested = [f for f, r in reaches if r is None and f.value is not None]
    if producers:
        # The most specific first: a field that reaches few lines says more about this one.
        producers.sort(key=lambda pair: (_total(pair[1] or {}), explainer.origin(pair[0]).line))
        yield "produced by:"
        for field, reached in producers:
            where = explainer.origin(field)
            note = f"{where.note}; " if where.note else ""
            yield printable(
                f"  {where.location(explainer.spec)}: {explainer.shown(field)}  ({note}reaches "
                f"{_total(reached or {})} generated lines)"
            )
    else:
        yield "no key of the spec changes this line: it is the generator's own text"
    if placing:
        yield printable(
            "the file is written because of: "
            + ", ".join(explainer.shown(f) for f in placing[:8])
            + (f" and {len(placing) - 8} more" if len(placing) > 8 else "")
        )
    if untested:
        yield f"not tested ({len(untested)} field(s) have no other value the renderers accept): " + printable(
            ", ".join(f.shown for f in untested)
        )
    yield from explainer.budget_note()


def _follows(explainer: Explainer, field: Field, path: KeyPath) -> bool:
    """Whether the field's value comes from the key at `path` (or below it): the key it is set at or
    taken from, or (a default or a derived value) its own key and the keys it depends on."""
    return any(key[: len(path)] == path for key in explainer.origin(field).keys)


def explain_key(explainer: Explainer, path: KeyPath) -> Iterator[str]:
    chosen = [f for f in explainer.map.fields if _follows(explainer, f, path)]
    reaches = explainer.reach(chosen)
    union: Lines = {}
    for _, reached in reaches:
        for file, numbers in (reached or {}).items():
            union.setdefault(file, set()).update(numbers)
    via_tag = _through_tag(explainer, union, {f.steps for f in chosen})
    line, column = explainer.spec.locate(path)
    total = sum(len(v) for v in union.values())
    yield printable(
        f"{explainer.spec.display_path}:{line}:{column}: {format_key_path(path)} reaches {total} generated line(s)"
        + (f" through {len(reaches)} fields" if len(reaches) > 1 else "")
    )
    for file in sorted(union):
        for number in sorted(union[file]):
            mark = "  (through the image tag)" if number in via_tag.get(file, set()) else ""
            yield printable(f"  {file}:{number}: {explainer.baseline[file][number - 1]}{mark}")
    for field, reached in reaches:
        if reached is None and field.value is not None:
            yield printable(f"  not tested: {explainer.shown(field)}: no other value the renderers accept was found")
    if not chosen:
        value = _value_at(explainer.document, path)
        yield printable(
            f"  no generated line comes from {format_key_path(path)}"
            + (f" = {value}" if value is not None else "")
            + ": the spec's checks read it, no renderer does"
        )
    yield from explainer.budget_note()


def _through_tag(explainer: Explainer, union: Lines, chosen: set[Any]) -> Lines:
    """A key that reaches the Dockerfile or pixi.toml (below their headers) changes the derived image
    tag too: the tag's lines are added to the union, and returned to be marked."""
    project = explainer.compiled.project
    if not project.container.tag_derived:
        return {}
    inputs = [file for file in union if file.rsplit("/", 1)[-1] in NAME_INPUTS and any(n > 2 for n in union[file])]
    tag = next((f for f in explainer.map.fields if f.owner == "Container" and f.name == "tag"), None)
    if not inputs or tag is None or tag.steps in chosen:
        return {}
    try:
        reached = explainer.map.reached(tag) or {}
    except OverBudget:
        explainer.over_budget.append(tag)
        return {}
    added = {file: numbers - union.get(file, set()) for file, numbers in reached.items()}
    for file, numbers in added.items():
        union.setdefault(file, set()).update(numbers)
    return added


def _value_at(document: Any, path: KeyPath) -> Any:
    for step in path:
        document = document[step]
    return document if not isinstance(document, (dict, list)) else None

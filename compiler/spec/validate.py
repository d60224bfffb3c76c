"""Check a loaded spec against the JSON Schema and the cross-key rules (rules.py), reporting both at once."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from ..core.defaults import BUILD_DIR
from ..core.errors import Diagnostic, SpecError
from ..core.resources import project_schema
from .building import build_project
from .dependency_rules import pypi_source_problems
from .job_rules import (
    command_problems,
    host_problems,
    landing_problems,
    project_size_problems,
    sandbox_problems,
    shared_filesystem_problems,
    slurm_time_problems,
    universe_problems,
)
from .loader import KeyPath, LoadedSpec, format_key_path, to_plain
from .model import Project
from .origins import with_origins
from .pipeline_rules import pipeline_problems
from .problem import did_you_mean
from .rules import cross_key_problems
from .scheduler_rules import scheduler_problems
from .schema_validator import SpecValidator
from .sweep_list import read_lists

NAMED_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}
HINT_CHARS = 160  # a hint: the first sentence of the schema description, at most this long


def validate(spec: LoadedSpec, build_dir: str = BUILD_DIR, root: Path | None = None) -> Project:
    """Return the typed model, or raise SpecError with every problem found. With the project root,
    the files the spec names for their contents (sweep_from lists) are read and checked too.

    The cross-key rules need a typed model, and a typed model needs a schema-valid document. So the
    values the schema rejects are set aside, the rules run on what is left, and a rule that read a
    value set aside stays quiet: it would be judging a default the user never wrote.
    """
    document = to_plain(spec.data)
    load_problems = {_without_indexes(path) for path, _ in spec.problems}
    validator = SpecValidator(project_schema())
    for path in sorted(load_problems, key=len, reverse=True):
        _drop(document, path, validator.schema)
    errors = list(validator.iter_errors(document))
    # A value set aside at load is reported once, not again as missing or as leaving its parent empty.
    reported = [e for e in errors if not _follows_from(e, load_problems)]
    diagnostics = [d for _, d in spec.problems] + [d for error in reported for d in _describe(error, spec)]
    checkable, set_aside = _set_aside_invalid(document, errors, validator)
    set_aside |= load_problems
    project = None
    if checkable is not None:
        project = build_project(checkable, spec_path=spec.display_path, spec_sha256=spec.sha256)
        if root is not None:
            project, in_lists = read_lists(project, spec, root, build_dir)
            diagnostics += in_lists
        diagnostics += [
            _at(spec, problem.path, problem.message, problem.at_key)
            for problem in (
                *cross_key_problems(project, build_dir),
                *scheduler_problems(project),
                *landing_problems(project, build_dir),
                *slurm_time_problems(project),
                *project_size_problems(project),
                *host_problems(project),
                *command_problems(project),
                *universe_problems(project),
                *pipeline_problems(project),
                *sandbox_problems(project, build_dir),
                *shared_filesystem_problems(project, build_dir),
                *pypi_source_problems(project),
            )
            if not any(_overlap(read, dropped) for read in problem.reads for dropped in set_aside)
        ]
    if diagnostics or project is None:
        raise SpecError(spec.display_path, with_origins(diagnostics, list(spec.lines)))
    return project


def _follows_from(error: ValidationError, removed: set[KeyPath]) -> bool:
    """Whether the schema error is only the absence of values removed before validation."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        return (*path, _missing_key(error)) in removed
    return error.validator in ("minProperties", "minItems") and any(
        len(gone) > len(path) and gone[: len(path)] == path for gone in removed
    )


def _set_aside_invalid(
    document: dict[str, Any], errors: list[ValidationError], validator: Any
) -> tuple[dict[str, Any] | None, set[KeyPath]]:
    """The document less every value the schema rejected, and the paths set aside.

    Removing a value can break its parent (a required key gone), so this repeats until the rest is
    valid. A top-level key the model cannot do without is replaced by the schema's own example, so
    one bad `name` does not hide every other problem. (None, ...) when nothing valid is left.
    """
    remaining: dict[str, Any] = copy.deepcopy(document)
    set_aside: set[KeyPath] = set()
    while errors:
        paths = {path for error in errors for path in _paths_to_remove(error)}
        if () in paths or paths <= set_aside:  # the document itself, or removing did not help
            return None, set_aside
        for path in sorted(paths, key=len, reverse=True):
            _drop(remaining, path, validator.schema)
        set_aside |= paths
        errors = list(validator.iter_errors(remaining))
    return remaining, set_aside


def _paths_to_remove(error: ValidationError) -> Iterator[KeyPath]:
    """The mapping keys that hold what the schema rejected: an unknown or badly named key itself, a
    missing top-level key, otherwise the key holding the bad value. A bad list item takes its whole
    list with it, so the indexes of the items left do not shift."""
    path: KeyPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        yield from ((*path, key) for key in _unknown_keys(error))
    elif "propertyNames" in error.relative_schema_path:
        yield (*path, error.instance)
    elif error.validator == "required" and not path:
        yield (_missing_key(error),)
    else:
        yield _without_indexes(path)


def _without_indexes(path: KeyPath) -> KeyPath:
    """The mapping key that holds a list item: a bad item takes its whole list with it."""
    while path and isinstance(path[-1], int):
        path = path[:-1]
    return path


def _unknown_keys(error: ValidationError) -> list[str]:
    """The keys an additionalProperties error rejects, sorted."""
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(set(error.instance) - set(known))


def _missing_key(error: ValidationError) -> str:
    missing = re.match(r"'([^']*)'", error.message)
    return missing.group(1) if missing else error.message


def _drop(document: dict[str, Any], path: KeyPath, schema: dict[str, Any]) -> None:
    """Remove the value at `path`; a required top-level key takes the schema's example instead."""
    parent: Any = document
    for step in path[:-1]:
        parent = parent.get(step) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    if len(path) == 1 and isinstance(path[0], str) and path[0] in schema["required"]:
        document[path[0]] = schema["properties"][path[0]]["examples"][0]


def _overlap(read: KeyPath, removed: KeyPath) -> bool:
    """Whether a rule reading `read` saw any part of `removed` (one path contains the other)."""
    shorter = min(len(read), len(removed))
    return read[:shorter] == removed[:shorter]


def _at(spec: LoadedSpec, path: KeyPath, message: str, at_key: bool = False) -> Diagnostic:
    line, column = spec.locate(path, at_key=at_key)
    if not spec.has(path):
        message += " (this is the default value; set the key in the spec)"
    return Diagnostic(line, column, format_key_path(path), message)


def _describe(error: ValidationError, spec: LoadedSpec) -> Iterator[Diagnostic]:
    """Turn one jsonschema error into messages that name the key and say what is allowed."""
    path: KeyPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = schema.get("properties", {})
        for key in _unknown_keys(error):
            allowed = ", ".join(sorted(known))
            yield _at(spec, (*path, key), f"unknown key '{key}'{did_you_mean(key, known)} (allowed: {allowed})", True)
    elif error.validator == "required":
        yield _at(spec, path, f"missing required key '{_missing_key(error)}'")
    elif error.validator == "enum":
        options = [str(option) for option in error.validator_value]
        yield _at(
            spec,
            path,
            f"{instance!r} is not allowed{did_you_mean(str(instance), options)} (allowed: {', '.join(options)})",
        )
    elif error.validator == "const":
        yield _at(spec, path, f"must be {error.validator_value!r}, not {instance!r}")
    elif error.validator == "type":
        wanted: list[str] = (
            error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        )
        names = " or ".join(NAMED_TYPES.get(w, w) for w in wanted)
        yield _at(spec, path, f"expected {names}, got {_kind(instance)}")
    elif "propertyNames" in error.relative_schema_path:
        hint = _hint(schema) or f"must match {error.validator_value}"
        yield _at(spec, (*path, instance), f"invalid name {instance!r}: {hint}", True)
    elif error.validator == "pattern":
        hint = _hint(schema)
        yield _at(
            spec,
            path,
            f"{instance!r} is not valid" + (f": {hint}" if hint else f" (must match {error.validator_value})"),
        )
    elif error.validator in ("anyOf", "oneOf") and error.context:
        # Prefer the alternative of the instance's own type: "a b" should fail the string pattern,
        # not "expected a number".
        same_type = [e for e in error.context if e.validator != "type"] or list(error.context)
        best = best_match(same_type)
        others = len({tuple(e.schema_path)[:1] for e in error.context}) - 1
        for diagnostic in _describe(best, spec):
            extra = f" (or {others} other accepted form{'s' if others != 1 else ''})" if others > 0 else ""
            yield Diagnostic(diagnostic.line, diagnostic.column, diagnostic.key_path, diagnostic.message + extra)
    else:
        yield _at(spec, path, error.message)


def _hint(schema: dict[str, Any]) -> str:
    """A schema description as a hint: its first sentence, bounded (never the whole description)."""
    text = " ".join(str(schema.get("description", "")).split())
    first = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0]
    return first if len(first) <= HINT_CHARS else first[: HINT_CHARS - 3].rstrip() + "..."


def _kind(value: Any) -> str:
    for type_name, python_type in (
        ("boolean", bool),
        ("object", dict),
        ("array", list),
        ("string", str),
        ("integer", int),
        ("number", float),
    ):
        if isinstance(value, python_type):
            return NAMED_TYPES[type_name]
    return "nothing" if value is None else type(value).__name__

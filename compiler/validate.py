"""Check a loaded spec against the JSON Schema and the rules a schema cannot say, reporting both at once."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from compiler.errors import Diagnostic, SpecError
from compiler.loader import KeyPath, LoadedSpec, format_key_path, to_plain
from compiler.model import BUILTIN_PLACEHOLDERS, PLACEHOLDER, Environment, Job, Project, build_project
from compiler.resources import project_schema

PIXI_ENVIRONMENT_NAME = re.compile(r"^[a-z\d\-]+$")  # pixi's own rule (manifest schema v0.77.0)
# HTCondor defines these macros itself; a sweep variable of the same name would shadow them.
RESERVED_SWEEP_NAMES = frozenset({"cluster", "clusterid", "process", "procid", "item", "itemindex", "step", "row", "node"})
NAMED_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "nothing"}


def validate(spec: LoadedSpec) -> Project:
    """Return the typed model, or raise SpecError with every problem found.

    The cross-key rules need a typed model, and a typed model needs a schema-valid document. So the
    values the schema rejects are set aside, the rules run on what is left, and a rule that read a
    value set aside stays quiet: it would be judging a default the user never wrote.
    """
    document = to_plain(spec.data)
    validator = Draft202012Validator(project_schema())
    errors = list(validator.iter_errors(document))
    diagnostics = [d for error in errors for d in _describe(error, spec)]
    checkable, set_aside = _set_aside_invalid(document, errors, validator)
    project = None
    if checkable is not None:
        project = build_project(checkable, spec_path=spec.display_path, spec_sha256=spec.sha256)
        diagnostics += [_at(spec, problem.path, problem.message, problem.at_key)
                        for problem in semantic_problems(project)
                        if not any(_overlap(read, dropped) for read in problem.reads for dropped in set_aside)]
    if diagnostics or project is None:
        raise SpecError(spec.display_path, diagnostics)
    return project


def _set_aside_invalid(document: dict[str, Any], errors: list[ValidationError],
                       validator: Draft202012Validator) -> tuple[dict[str, Any] | None, list[KeyPath]]:
    """The document less every value the schema rejected, and the paths set aside.

    Removing a value can break its parent (a required key gone), so this repeats until the rest is
    valid. A top-level key the model cannot do without is replaced by the schema's own example, so
    one bad `name` does not hide every other problem. (None, ...) when nothing valid is left.
    """
    remaining: dict[str, Any] = copy.deepcopy(document)
    set_aside: list[KeyPath] = []
    while errors:
        paths = {path for error in errors for path in _paths_to_remove(error)}
        if () in paths or paths <= set(set_aside):  # the document itself, or removing did not help
            return None, set_aside
        for path in sorted(paths, key=len, reverse=True):
            _remove(remaining, path)
            if len(path) == 1 and path[0] in validator.schema["required"]:
                remaining[path[0]] = validator.schema["properties"][path[0]]["examples"][0]
        set_aside += sorted(paths, key=str)
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
        while path and isinstance(path[-1], int):
            path = path[:-1]
        yield path


def _unknown_keys(error: ValidationError) -> list[str]:
    """The keys an additionalProperties error rejects, sorted."""
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(set(error.instance) - set(known))


def _missing_key(error: ValidationError) -> str:
    missing = re.match(r"'([^']*)'", error.message)
    return missing.group(1) if missing else error.message


def _remove(document: dict[str, Any], path: KeyPath) -> None:
    parent: Any = document
    for step in path[:-1]:
        parent = parent.get(step) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _overlap(read: KeyPath, removed: KeyPath) -> bool:
    """Whether a rule reading `read` saw any part of `removed` (one path contains the other)."""
    shorter = min(len(read), len(removed))
    return read[:shorter] == removed[:shorter]


def _at(spec: LoadedSpec, path: KeyPath, message: str, at_key: bool = False) -> Diagnostic:
    line, column = spec.locate(path, at_key=at_key)
    if not spec.has(path):
        message += " (this is the default value; set the key in the spec)"
    return Diagnostic(line, column, format_key_path(path), message)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


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
        yield _at(spec, path, f"{instance!r} is not allowed{did_you_mean(str(instance), options)} "
                              f"(allowed: {', '.join(options)})")
    elif error.validator == "const":
        yield _at(spec, path, f"must be {error.validator_value!r}, not {instance!r}")
    elif error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names = " or ".join(NAMED_TYPES.get(w, w) for w in wanted)
        yield _at(spec, path, f"expected {names}, got {_kind(instance)}")
    elif "propertyNames" in error.relative_schema_path:
        hint = schema.get("description") or f"must match {error.validator_value}"
        yield _at(spec, (*path, instance), f"invalid name {instance!r}: {hint}", True)
    elif error.validator == "pattern":
        hint = schema.get("description", "")
        yield _at(spec, path, f"{instance!r} is not valid" + (f": {hint}" if hint else f" (must match {error.validator_value})"))
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


def _kind(value: Any) -> str:
    for type_name, python_type in (("boolean", bool), ("object", dict), ("array", list), ("string", str),
                                   ("integer", int), ("number", float)):
        if isinstance(value, python_type):
            return NAMED_TYPES[type_name]
    return "nothing" if value is None else type(value).__name__


@dataclass(frozen=True)
class Problem:
    """A rule across keys that the spec breaks. `reads` lists the keys the rule looked at, so that
    it can stay quiet when one of them was set aside for failing the schema."""

    path: KeyPath
    message: str
    reads: tuple[KeyPath, ...]
    at_key: bool = False


def semantic_problems(project: Project) -> Iterator[Problem]:
    """Rules across keys, each with a message that says how to fix it."""
    environments = {env.name: env for env in project.environments}
    for env in project.environments:
        e: KeyPath = ("environments", env.name)
        if not PIXI_ENVIRONMENT_NAME.match(env.name):
            fixed = re.sub(r"[^a-z\d\-]", "-", env.name.lower())
            yield Problem(e, f"pixi rejects environment name '{env.name}' (only lower-case letters, digits "
                          f"and '-'); try '{fixed}'", reads=(), at_key=True)
        elif env.name in ("default", "pack"):
            yield Problem(e, f"'{env.name}' is reserved: pixi-htc generates it", reads=(), at_key=True)
        platforms_read = ((*e, "cuda"), (*e, "platforms"))  # a CUDA environment defaults to linux-64
        if env.cuda and not set(env.platforms) & {"linux-64", "linux-aarch64"}:
            yield Problem((*e, "platforms"), "a CUDA environment needs a linux platform", platforms_read)
        outside = sorted(set(env.platforms) - set(project.workspace.platforms))
        if outside:
            yield Problem((*e, "platforms"), f"{', '.join(outside)} not in workspace.platforms "
                          f"({', '.join(project.workspace.platforms)})", (*platforms_read, ("workspace", "platforms")))

    for section, name in (("container", project.container.environment), ("pack", project.pack.environment)):
        if (section == "container" or project.has_pixi_pack_jobs) and name not in environments:
            yield Problem((section, "environment"), f"environment '{name}' is not defined"
                          f"{did_you_mean(name, environments)} (defined: {', '.join(sorted(environments))})",
                          ((section, "environment"), ("environments", name)))
    pack_env = environments.get(project.pack.environment)
    if project.has_pixi_pack_jobs and pack_env and project.pack.platform not in pack_env.platforms:
        yield Problem(("pack", "platform"), f"environment '{pack_env.name}' is not solved for {project.pack.platform}",
                      (("pack",), ("environments", pack_env.name)))
    image_env = environments.get(project.container.environment)
    if image_env and "linux-64" not in image_env.platforms:
        yield Problem(("container", "environment"), f"the image is linux-64, and '{image_env.name}' is not "
                      "solved for linux-64", (("container", "environment"), ("environments", image_env.name)))

    task_names = [t.name for t in project.tasks]
    for task in project.tasks:
        for dependency in task.depends_on:
            if dependency not in task_names:
                yield Problem(("tasks", task.name, "depends_on"), f"task '{dependency}' is not defined"
                              f"{did_you_mean(dependency, task_names)}",
                              (("tasks", task.name, "depends_on"), ("tasks", dependency)))

    for job in project.jobs:
        yield from _job_problems(project, job, environments)


def _job_problems(project: Project, job: Job, environments: dict[str, Environment]) -> Iterator[Problem]:
    def j(*keys: str | int) -> KeyPath:
        return ("jobs", job.name, *keys)

    # The job's environment, where the job leaves it out, comes from container or pack.
    env_read = (j("environment"), j("runtime"), ("container", "environment"), ("pack", "environment"))
    env = environments.get(job.environment)
    if env is None:
        yield Problem(j("environment"), f"environment '{job.environment}' is not defined"
                      f"{did_you_mean(job.environment, environments)} (defined: {', '.join(sorted(environments))})",
                      (*env_read, ("environments", job.environment)))
    else:
        if job.runtime == "container" and job.image is None and job.environment != project.container.environment:
            yield Problem(j("environment"), f"the image bakes only '{project.container.environment}' "
                          "(container.environment); run this job there or give it its own image", (*env_read, j("image")))
        if job.runtime == "pixi-pack" and job.environment != project.pack.environment:
            yield Problem(j("environment"), f"the pixi-pack archive holds only '{project.pack.environment}' "
                          "(pack.environment)", env_read)
        if job.resources.gpus > 0 and env.cuda is None:
            yield Problem(j("resources", "gpus"), f"a GPU job needs a CUDA environment, and '{env.name}' has no "
                          f"cuda; set environments.{env.name}.cuda or request gpus: 0",
                          (*env_read, j("resources", "gpus"), ("environments", env.name, "cuda")))
    if job.resources.gpus == 0 and (job.gpu.min_capability is not None or job.gpu.min_memory is not None):
        yield Problem(j("gpu"), "GPU constraints on a job that requests no GPU", (j("resources", "gpus"), j("gpu")))
    if job.runtime == "pixi-pack" and job.image is not None:
        yield Problem(j("image"), "a pixi-pack job runs in the vanilla universe and takes no image",
                      (j("runtime"), j("image")), at_key=True)

    names = set(job.sweep_variables)
    known = names | set(BUILTIN_PLACEHOLDERS)
    for variable in sorted(names & RESERVED_SWEEP_NAMES):
        yield Problem(j("sweep", variable), f"'{variable}' is an HTCondor macro; choose another name", (), at_key=True)
    used: set[str] = set()
    for index, argument in enumerate(job.command):
        for name in PLACEHOLDER.findall(argument):
            used.add(name)
            if name not in known:
                yield Problem(j("command", index), f"'{{{name}}}' names no sweep variable"
                              f"{did_you_mean(name, known)} (known: {', '.join(sorted(known))})",
                              (j("command"), j("sweep")))
        if "$(" in argument:
            yield Problem(j("command", index), "'$(' is an HTCondor macro or shell substitution; arguments are "
                          "passed literally: write {process}, {cluster} or {<sweep variable>}", (j("command"),))
    for name in sorted(names - used):
        yield Problem(j("sweep", name), f"sweep variable '{name}' is not used in command (write {{{name}}})",
                      (j("command"), j("sweep")), at_key=True)
    if job.checkpoint is not None:
        for file in job.checkpoint.files:
            if file in job.outputs:
                yield Problem(j("outputs"), f"'{file}' is a checkpoint file; list it under checkpoint.files only",
                              (j("outputs"), j("checkpoint")))

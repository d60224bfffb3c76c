"""Check a loaded spec: the JSON Schema first, then the rules a schema cannot say."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
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
    """Return the typed model, or raise SpecError with every problem found."""
    document = to_plain(spec.data)
    validator = Draft202012Validator(project_schema())
    diagnostics = [d for error in validator.iter_errors(document) for d in _describe(error, spec)]
    if diagnostics:
        raise SpecError(spec.display_path, diagnostics)
    project = build_project(document, spec_path=spec.display_path, spec_sha256=spec.sha256)
    diagnostics = [_at(spec, path, message, at_key) for path, message, at_key in semantic_problems(project)]
    if diagnostics:
        raise SpecError(spec.display_path, diagnostics)
    return project


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
        for key in sorted(set(instance) - set(known)):
            allowed = ", ".join(sorted(known))
            yield _at(spec, (*path, key), f"unknown key '{key}'{did_you_mean(key, known)} (allowed: {allowed})", True)
    elif error.validator == "required":
        missing = re.match(r"'([^']*)'", error.message)
        name = missing.group(1) if missing else error.message
        yield _at(spec, path, f"missing required key '{name}'")
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


def semantic_problems(project: Project) -> Iterator[tuple[KeyPath, str, bool]]:
    """Rules across keys. Each yields (key path, message saying how to fix it, point at the key?)."""
    environments = {env.name: env for env in project.environments}
    for env in project.environments:
        if not PIXI_ENVIRONMENT_NAME.match(env.name):
            fixed = re.sub(r"[^a-z\d\-]", "-", env.name.lower())
            yield (("environments", env.name), f"pixi rejects environment name '{env.name}' (only lower-case "
                   f"letters, digits and '-'); try '{fixed}'", True)
        elif env.name in ("default", "pack"):
            yield (("environments", env.name), f"'{env.name}' is reserved: pixi-htc generates it", True)
        if env.cuda and not set(env.platforms) & {"linux-64", "linux-aarch64"}:
            yield (("environments", env.name, "platforms"), "a CUDA environment needs a linux platform", False)
        outside = sorted(set(env.platforms) - set(project.workspace.platforms))
        if outside:
            yield (("environments", env.name, "platforms"), f"{', '.join(outside)} not in workspace.platforms "
                   f"({', '.join(project.workspace.platforms)})", False)

    for section, name in (("container", project.container.environment), ("pack", project.pack.environment)):
        if section == "container" or project.has_pixi_pack_jobs:
            if name not in environments:
                yield ((section, "environment"), f"environment '{name}' is not defined{did_you_mean(name, environments)} "
                       f"(defined: {', '.join(sorted(environments))})", False)
    if project.has_pixi_pack_jobs and project.pack.environment in environments and project.pack.platform not in environments[project.pack.environment].platforms:
        yield (("pack", "platform"), f"environment '{project.pack.environment}' is not solved for "
               f"{project.pack.platform}", False)
    if project.container.environment in environments and "linux-64" not in environments[project.container.environment].platforms:
        yield (("container", "environment"), f"the image is linux-64, and '{project.container.environment}' is not "
               "solved for linux-64", False)

    for task in project.tasks:
        for dependency in task.depends_on:
            if dependency not in {t.name for t in project.tasks}:
                yield (("tasks", task.name, "depends_on"), f"task '{dependency}' is not defined"
                       f"{did_you_mean(dependency, [t.name for t in project.tasks])}", False)

    for job in project.jobs:
        yield from _job_problems(project, job, environments)


def _job_problems(project: Project, job: Job, environments: dict[str, Environment]) -> Iterator[tuple[KeyPath, str, bool]]:
    where: KeyPath = ("jobs", job.name)
    env = environments.get(job.environment)
    if env is None:
        yield ((*where, "environment"), f"environment '{job.environment}' is not defined"
               f"{did_you_mean(job.environment, environments)} (defined: {', '.join(sorted(environments))})", False)
    else:
        if job.runtime == "container" and job.image is None and job.environment != project.container.environment:
            yield ((*where, "environment"), f"the image bakes only '{project.container.environment}' "
                   f"(container.environment); run this job there or give it its own image", False)
        if job.runtime == "pixi-pack" and job.environment != project.pack.environment:
            yield ((*where, "environment"), f"the pixi-pack archive holds only '{project.pack.environment}' "
                   "(pack.environment)", False)
        if job.resources.gpus > 0 and env.cuda is None:
            yield ((*where, "resources", "gpus"), f"a GPU job needs a CUDA environment, and '{env.name}' has no "
                   "cuda; set environments." + env.name + ".cuda or request gpus: 0", False)
    if job.resources.gpus == 0 and (job.gpu.min_capability is not None or job.gpu.min_memory is not None):
        yield ((*where, "gpu"), "GPU constraints on a job that requests no GPU", False)
    if job.runtime == "pixi-pack" and job.image is not None:
        yield ((*where, "image"), "a pixi-pack job runs in the vanilla universe and takes no image", True)

    names = set(job.sweep_variables)
    known = names | set(BUILTIN_PLACEHOLDERS)
    for variable in names & RESERVED_SWEEP_NAMES:
        yield ((*where, "sweep", variable), f"'{variable}' is an HTCondor macro; choose another name", True)
    used: set[str] = set()
    for index, argument in enumerate(job.command):
        for name in PLACEHOLDER.findall(argument):
            used.add(name)
            if name not in known:
                yield ((*where, "command", index), f"'{{{name}}}' names no sweep variable"
                       f"{did_you_mean(name, known)} (known: {', '.join(sorted(known))})", False)
        if "$(" in argument:
            yield ((*where, "command", index), "'$(' is an HTCondor macro or shell substitution; arguments are "
                   "passed literally: write {process}, {cluster} or {<sweep variable>}", False)
    for name in sorted(names - used):
        yield ((*where, "sweep", name), f"sweep variable '{name}' is not used in command (write {{{name}}})", True)
    if job.checkpoint is not None:
        for file in job.checkpoint.files:
            if file in job.outputs:
                yield ((*where, "outputs"), f"'{file}' is a checkpoint file; list it under checkpoint.files only", False)

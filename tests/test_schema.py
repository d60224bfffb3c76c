"""The schema and the code agree: the schema is valid, the default spec passes, defaults match."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pixi_htc.core.resources import project_schema
from pixi_htc.spec import building, model
from pixi_htc.spec.loader import load_spec, to_plain
from pixi_htc.spec.validate import validate
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC


def test_schema_is_valid_against_its_metaschema() -> None:
    Draft202012Validator.check_schema(project_schema())


def test_default_spec_declares_the_schema_for_editors() -> None:
    assert DEFAULT_SPEC.read_text().startswith("# yaml-language-server: $schema=../schema/project.schema.json\n")


def test_default_spec_is_valid() -> None:
    project = validate(load_spec(DEFAULT_SPEC, "specs/project.yaml"))
    assert {env.name for env in project.environments} == {"cpu", "gpu"}
    assert {job.runtime for job in project.jobs} == {"container", "pixi-pack"}


def _walk(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    found = []
    for key, sub in schema.get("properties", {}).items():
        found.append(((*path, key), sub))
        found.extend(_walk(sub, (*path, key)))
    return found


def _every_property_schema() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    schema = project_schema()
    found = _walk(schema)
    for name, definition in schema["$defs"].items():
        found.extend(_walk(definition, ("$defs", name)))
    return found


def test_every_property_has_a_description() -> None:
    missing = [".".join(p) for p, sub in _every_property_schema() if "description" not in sub]
    assert missing == []


def test_every_object_forbids_unknown_keys() -> None:
    def objects(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            own = [node] if node.get("type") == "object" else []
            return own + [o for value in node.values() for o in objects(value)]
        if isinstance(node, list):
            return [o for item in node for o in objects(item)]
        return []

    for obj in objects(project_schema()):
        assert "additionalProperties" in obj, obj.get("description")


def _model_value(project: model.Project, path: tuple[str, ...]) -> Any:
    """The value the model applied at a schema path, for the minimal spec (which sets none of them)."""
    job = project.jobs[0]
    env = project.environments[0]
    roots: dict[str, Any] = {"$defs.job": job, "$defs.environment": env, "$defs.slurm": project.slurm}
    if path[0] == "$defs":
        node: Any = roots[".".join(path[:2])]
        rest = path[2:]
    else:
        node, rest = project, path
    for step in rest:
        node = getattr(node, step)
    if isinstance(node, tuple) and node and isinstance(node[0], tuple):
        return dict(node)
    if isinstance(node, tuple):
        return list(node)
    return node


# Schema defaults of containers ({} or []) that the model represents as a nested default object.
CONTAINER_DEFAULTS = {
    "workspace",
    "environments",
    "tasks",
    "container",
    "ci",
    "pack",
    "jobs",
    "slurm",
    "$defs.job.resources",
    "$defs.job.gpu",
    "$defs.job.chtc",
    "$defs.job.sweep",
    "$defs.job.inputs",
    "$defs.job.outputs",
    "$defs.environment.dependencies",
    "workspace.pypi_dependencies",
    "workspace.pypi_options",
    "workspace.target",
    "workspace.activation",
    "$defs.environment.pypi_dependencies",
    "$defs.environment.target",
    "$defs.environment.activation",
    "$defs.job.env",
    "$defs.job.attributes",
    "$defs.job.requirements",
    "$defs.job.ospool",
    "$defs.job.logs",
    "$defs.job.output_remaps",
}


def test_every_schema_default_is_the_default_the_model_applies() -> None:
    document = to_plain(load_spec_text(MINIMAL_SPEC))
    project = building.build_project(document, spec_path="x", spec_sha256="0")
    checked = 0
    for path, sub in _every_property_schema():
        if "default" not in sub or ".".join(path) in CONTAINER_DEFAULTS:
            continue
        if path[:2] == ("$defs", "job") and path[2] == "checkpoint":
            continue  # checkpoint is absent in the minimal spec; checked below
        assert _model_value(project, path) == sub["default"], ".".join(path)
        checked += 1
    assert checked >= 15
    assert (
        model.Checkpoint(files=("c",)).exit_code
        == project_schema()["$defs"]["job"]["properties"]["checkpoint"]["properties"]["exit_code"]["default"]
    )


def test_schema_examples_are_valid_values() -> None:
    for path, sub in _every_property_schema():
        examples = sub.get("examples", [])
        local = {**sub, "$defs": project_schema()["$defs"]}
        for example in examples:
            errors = list(Draft202012Validator(local).iter_errors(example))
            assert not errors, (".".join(path), example, errors[0].message)


def test_every_required_top_level_key_has_an_example() -> None:
    """Validation stands the first example in for a rejected required key, to go on checking the rest."""
    schema = project_schema()
    for key in schema["required"]:
        assert schema["properties"][key].get("examples"), key


def load_spec_text(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt").load(text)


@pytest.mark.parametrize("runtime,memory,disk", [("container", "2GB", "2GB"), ("pixi-pack", "10GB", "14GB")])
def test_runtime_resource_defaults(runtime: str, memory: str, disk: str) -> None:
    text = MINIMAL_SPEC.replace("runtime: container", f"runtime: {runtime}")
    project = building.build_project(to_plain(load_spec_text(text)), spec_path="x", spec_sha256="0")
    assert (project.jobs[0].resources.memory, project.jobs[0].resources.disk) == (memory, disk)


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in _patterns(value)]
    return [p for value in node for p in _patterns(value)] if isinstance(node, list) else []


def test_every_schema_pattern_ends_at_the_end_of_the_string() -> None:
    """Issue #10: Python's `$` also matches before a final newline, so `gpu\\n` passed `^[a-z]+$`.
    The validator reads `$` as JSON Schema (ECMA-262) does. Each pattern's own examples, from the
    schema, pass; with a newline appended they fail."""
    from pixi_htc.spec.schema_validator import SpecValidator, ecma_pattern

    patterns = _patterns(project_schema())
    assert len(patterns) >= 15
    samples = {
        "^[a-z][a-z0-9-]{0,62}$": "gpu",
        "^[0-9]+(\\.[0-9]+){0,2}$": "0.1.0",
        "^[1-9][0-9]*(KB|MB|GB|TB)$": "2GB",
    }
    for pattern, sample in samples.items():
        assert pattern in patterns
        assert ecma_pattern(pattern).search(sample) and not ecma_pattern(pattern).search(sample + "\n")
    document = {"schema_version": 1, "name": "demo\n", "version": "0.1.0\n", "environments": {"gpu": {"cuda": "12\n"}}}
    rejected = {tuple(e.absolute_path) for e in SpecValidator(project_schema()).iter_errors(document)}
    assert rejected == {("name",), ("version",), ("environments", "gpu", "cuda")}
    assert not list(Draft202012Validator(project_schema()).iter_errors(document)), "plain jsonschema lets them pass"

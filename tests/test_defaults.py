"""core/defaults.py is the one home of the defaults and pins: the schema's `default`s, the model, the
CLI, the bundled trainer and the generated files agree with it, and no other module spells them."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from pixi_htc.artifacts.base import Layout
from pixi_htc.cli import _parser
from pixi_htc.core import defaults
from pixi_htc.core.resources import project_schema
from pixi_htc.spec import workspace
from pixi_htc.spec.model import CI, Checkpoint, Container
from tests.conftest import REPO

COMPILER = REPO / "compiler"
PAYLOAD = COMPILER / "payload"
TEMPLATES = COMPILER / "templates"

# Where the schema repeats a value of core/defaults.py (a schema path, as walked below).
SCHEMA_DEFAULTS: dict[str, object] = {
    "$defs.job.properties.checkpoint.properties.exit_code": defaults.CHECKPOINT_EXIT_CODE,
    "properties.container.properties.pixi_image": defaults.PIXI_IMAGE,
    "properties.ci.properties.pixi_version": defaults.CI_PIXI_VERSION,
}
# The model's own defaults that the schema repeats (they live beside the model: spec/workspace.py).
MODEL_DEFAULTS: dict[str, object] = {
    "properties.workspace.properties.channels": list(workspace.DEFAULT_CHANNELS),
    "properties.workspace.properties.platforms": list(workspace.DEFAULT_PLATFORMS),
    "properties.workspace.properties.dependencies": workspace.DEFAULT_WORKSPACE_DEPENDENCIES,
}
ACTION_SHAS = [pin.split("@")[1].split()[0] for pin in defaults.ACTIONS.values()]
VERSIONS = ("PIXI_VERSION", "REQUIRES_PIXI", "PIXI_PACK_MIN", "PIXI_PACK_BELOW", "CI_PYTHON", "APPTAINER_VERSION")


def schema_defaults(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every `default` in the schema, with the dotted path of the object that holds it."""
    if isinstance(node, dict):
        if "default" in node:
            yield ".".join(path), node["default"]
        for key, value in node.items():
            if key != "default":
                yield from schema_defaults(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from schema_defaults(item, (*path, str(index)))


def test_the_schema_defaults_are_the_modules_values() -> None:
    found = dict(schema_defaults(project_schema()))
    for path, value in {**SCHEMA_DEFAULTS, **MODEL_DEFAULTS}.items():
        assert path in found, f"the schema has no default at {path} (moved? update this test)"
        assert found[path] == value, f"{path}: the schema says {found[path]!r}, pixi-htc uses {value!r}"
    # Any other default that names a pixi image or release is a second copy of the pin.
    for path, value in found.items():
        if isinstance(value, str) and ("prefix-dev/pixi:" in value or value == defaults.CI_PIXI_VERSION):
            assert path in SCHEMA_DEFAULTS, f"{path} repeats a pixi pin: {value!r}"
        if value == defaults.CHECKPOINT_EXIT_CODE and not isinstance(value, bool):
            assert path in SCHEMA_DEFAULTS, f"{path} repeats the checkpoint exit code"


def test_the_model_and_the_cli_start_from_the_modules_values() -> None:
    assert Checkpoint().exit_code == defaults.CHECKPOINT_EXIT_CODE
    assert Container(image="ghcr.io/example/x").pixi_image == defaults.PIXI_IMAGE
    assert CI().pixi_version == defaults.CI_PIXI_VERSION
    assert Layout().build_dir == defaults.BUILD_DIR
    results = _parser().parse_args(["results"])
    assert results.metrics_file == defaults.METRICS_FILE
    assert results.out == Path(defaults.BUILD_DIR) and results.spec == Path(defaults.SPEC_PATH)


def test_the_bundled_trainer_keeps_the_same_values() -> None:
    """The payload runs in the job's own environment and imports nothing of pixi-htc: its copies of
    the checkpoint exit code and the metrics file name are held to the module's here."""
    tree = ast.parse((PAYLOAD / "torch_MNIST.py").read_text(encoding="utf-8"))
    [exit_code] = [
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["CHECKPOINT_EXIT_CODE"]
        and isinstance(node.value, ast.Constant)
    ]
    assert exit_code == defaults.CHECKPOINT_EXIT_CODE
    [metrics] = [
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and node.args and _constant(node.args[0]) == "--metrics-file"
        for keyword in node.keywords
        if keyword.arg == "default" and isinstance(keyword.value, ast.Constant)
    ]
    assert metrics == defaults.METRICS_FILE


def test_the_generated_files_carry_the_pins() -> None:
    """Parsed from the committed build (tests/test_determinism.py holds it to a fresh one)."""
    pixi = tomllib.loads((REPO / "build" / "pixi.toml").read_text(encoding="utf-8"))
    assert pixi["feature"]["pack"]["dependencies"]["pixi-pack"] == (
        f">={defaults.PIXI_PACK_MIN},<{defaults.PIXI_PACK_BELOW}"
    )
    workflow = YAML(typ="safe").load((REPO / ".github" / "workflows" / "pixi-htc.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    [python] = [s["with"]["python-version"] for s in steps if "setup-python" in s.get("uses", "")]
    assert python == defaults.CI_PYTHON
    [pixi_version] = [s["with"]["pixi-version"] for s in steps if "setup-pixi" in s.get("uses", "")]
    assert pixi_version == defaults.CI_PIXI_VERSION
    uses = {s["uses"].split("@")[0]: s["uses"] for s in steps if "uses" in s}
    for pinned in defaults.ACTIONS.values():
        reference = pinned.split("  #")[0]
        assert uses[reference.split("@")[0]] == reference
    pack = (REPO / "build" / "pack.sh").read_text(encoding="utf-8")
    assert f"pixi global install 'pixi-pack>={defaults.PIXI_PACK_MIN}'" in pack


@pytest.mark.parametrize("name", VERSIONS)
def test_the_version_pins_are_digits_and_dots(name: str) -> None:
    """Templates write these inside their own quoting (a comment, a shell string): nothing to escape."""
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)*", getattr(defaults, name))


def _constant(node: ast.AST) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes: prose may name a value (`the trainer exits 85`)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(_constant(body[0].value), str):
                found.add(id(body[0].value))
    return found


def spelled_defaults(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place a module spells one of the module's values instead of importing it."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    pins = [defaults.PIXI_IMAGE, f">={defaults.PIXI_PACK_MIN}", f">={defaults.REQUIRES_PIXI}", *ACTION_SHAS]
    found = []
    for node in ast.walk(tree):
        value, line = _constant(node), getattr(node, "lineno", 0)
        if isinstance(value, int) and not isinstance(value, bool) and value == defaults.CHECKPOINT_EXIT_CODE:
            found.append((line, "the checkpoint exit code"))
        if isinstance(value, str) and id(node) not in docstrings:
            if defaults.METRICS_FILE in value:
                found.append((line, "the metrics file"))
            if value in (defaults.CI_PIXI_VERSION, defaults.APPTAINER_VERSION) or any(pin in value for pin in pins):
                found.append((line, f"a pin ({value!r})"))
        # The build directory's name as a default: of a parameter, or Path("build").
        if isinstance(node, ast.arguments):
            for default in [*node.defaults, *node.kw_defaults]:
                if default is not None and _constant(default) == defaults.BUILD_DIR:
                    found.append((default.lineno, "the build directory"))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path" and node.args:
            if _constant(node.args[0]) == defaults.BUILD_DIR:
                found.append((line, "the build directory"))
    return found


def test_the_check_finds_a_spelled_default() -> None:
    """The check itself can fail: each kind of spelling it looks for is found."""
    source = '''
"""A docstring may say the trainer exits 85 and writes metrics.jsonl."""
from pathlib import Path
CODE = 85
def results(out=Path("build"), build_dir: str = "build", metrics=f"{1}/metrics.jsonl") -> None:
    pass
IMAGE = "ghcr.io/prefix-dev/pixi:0.77.0-noble"
PACK = "pixi-pack>=0.7.7"
'''
    found = spelled_defaults(source)
    assert sorted(what for _, what in found) == sorted(
        [
            "the checkpoint exit code",
            "the build directory",
            "the build directory",
            "the metrics file",
            "a pin ('ghcr.io/prefix-dev/pixi:0.77.0-noble')",
            "a pin ('pixi-pack>=0.7.7')",
        ]
    )


def test_no_other_module_spells_a_default() -> None:
    problems = []
    for path in sorted(COMPILER.rglob("*.py")):
        if path == COMPILER / "core" / "defaults.py" or PAYLOAD in path.parents:
            continue  # the home, and the trainer (held equal above)
        for line, what in spelled_defaults(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(REPO)}:{line}: {what}: import it from core/defaults.py")
    assert not problems, "\n".join(problems)


def test_no_template_spells_a_pin() -> None:
    """The templates get the pins through their render context. (They may cite the pixi release whose
    source a comment was checked against, `prefix-dev/pixi v0.77.0 crates/...`: that is a citation.)"""
    pins = [
        defaults.PIXI_IMAGE,
        defaults.APPTAINER_VERSION,
        defaults.PIXI_PACK_MIN,
        f">={defaults.REQUIRES_PIXI}",
        f">= {defaults.REQUIRES_PIXI}",
        f'python-version: "{defaults.CI_PYTHON}"',
        defaults.METRICS_FILE,
        *ACTION_SHAS,
    ]
    exit_code = re.compile(rf"(?<![0-9]){defaults.CHECKPOINT_EXIT_CODE}(?![0-9])")
    problems = []
    for template in sorted(TEMPLATES.glob("*.j2")):
        text = template.read_text(encoding="utf-8")
        problems += [f"{template.name}: {pin!r}" for pin in pins if pin in text]
        problems += [f"{template.name}: the checkpoint exit code" for _ in exit_code.findall(text)]
    assert not problems, problems

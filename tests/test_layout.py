"""The package's shape stays as the README's layout section describes it: stage packages whose imports
point one way only (core < spec < artifacts < schedulers < pipeline < follow < init < the CLI), the two
schedulers independent of each other, and no import cycle of any kind, the ones hidden in a function
or behind TYPE_CHECKING included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pixi_htc.core.resources import project_schema
from pixi_htc.schedulers import SCHEDULERS
from pixi_htc.schedulers.htcondor.sites import SITE_LINES
from pixi_htc.spec.sites import SITES

PACKAGE = Path(__file__).resolve().parents[1] / "compiler"
# Each stage may import its own package and the ones before it, never one after it.
STAGES = ("core", "spec", "artifacts", "schedulers", "pipeline", "follow", "init")
TOP = len(STAGES)  # cli.py, __main__.py, mnist_data.py: may import anything
ROOT_MODULES = {"compiler"}  # compiler/__init__.py holds only __version__; any stage may read it
SELF_CONTAINED = ("payload",)  # the scripts jobs run: they import nothing of the package


def module_name(path: Path) -> str:
    parts = ["compiler", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str | None = None) -> set[str]:
    """Every module of the package this file imports, wherever the import stands."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "compiler")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").split(".")[0] == "compiler":
                target = node.module or ""
            else:
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import module`
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
# A module's own enclosing packages are loaded before it whatever it says (`from . import x` names one):
# an edge to them is no dependency.
GRAPH = {
    name: {target for target in imports(path) if target in MODULES and not name.startswith(target)}
    for name, path in MODULES.items()
}


def stage(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1 or parts[1] not in STAGES:
        return TOP
    return STAGES.index(parts[1])


def test_every_module_belongs_to_a_stage() -> None:
    loose = sorted(
        name
        for name in MODULES
        if name.count(".") == 1
        and name.split(".")[1] not in (*STAGES, *SELF_CONTAINED, "cli", "__main__", "mnist_data")
    )
    assert loose == [], f"modules outside the stage packages: {loose}"


def test_imports_point_down_the_stages_only() -> None:
    against = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if target not in ROOT_MODULES and stage(target) > stage(name)
    )
    assert against == [], "imports against the stage order:\n" + "\n".join(against)


def test_the_schedulers_do_not_import_each_other() -> None:
    crossing = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        for a, b in (("htcondor", "slurm"), ("slurm", "htcondor"))
        if name.startswith(f"compiler.schedulers.{a}") and target.startswith(f"compiler.schedulers.{b}")
    )
    assert crossing == []


def test_the_payload_imports_nothing_of_the_package() -> None:
    assert all(not GRAPH[name] for name in MODULES if name.startswith("compiler.payload"))


def _cycle() -> list[str] | None:
    """One import cycle among the modules, as a path, or None. A package's __init__ importing its own
    submodules is the registry pattern, not a cycle, unless a submodule imports the __init__ back."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_no_import_cycles() -> None:
    assert _cycle() is None, " -> ".join(_cycle() or [])


def test_the_checker_sees_what_it_is_meant_to(tmp_path: Path) -> None:
    """The checks can fail: a function-level import against the order and a TYPE_CHECKING one are seen."""
    probe = PACKAGE / "spec" / "building.py"
    assert "compiler.spec.sites" in imports(probe)
    hidden = tmp_path / "hidden.py"
    hidden.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from compiler.follow import status\n"
        "def f():\n    from compiler.pipeline import writer\n"
    )
    found = imports(hidden, "compiler.core.hidden")
    assert {"compiler.follow", "compiler.follow.status", "compiler.pipeline.writer"} <= found
    assert any(stage(target) > stage("compiler.core.hidden") for target in found)


def test_every_site_has_its_submit_lines() -> None:
    assert SITE_LINES.keys() == SITES.keys()


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_each_scheduler_is_registered_under_its_spec_name(name: str) -> None:
    schema_names = set(project_schema()["$defs"]["job"]["properties"]["scheduler"]["enum"])
    assert SCHEDULERS[name].name == name and set(SCHEDULERS) == schema_names

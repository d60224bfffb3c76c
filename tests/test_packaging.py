"""A wheel built from the repository carries everything the compiler reads, and compiles the default
spec to the same bytes as the checkout does: `pip install .` works, not only the editable install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_SPEC, REPO, tree_bytes

SOURCES = ("pyproject.toml", "README.md", "compiler", "schema")


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked into a site directory (a pure-Python wheel installs by unzipping)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: setuptools writes build/, which in the checkout holds generated files
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("pixi_htc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(work / "site")
    return work / "site"


def test_wheel_holds_the_schema_templates_and_payload(installed_wheel: Path) -> None:
    package = installed_wheel / "pixi_htc"
    assert not (installed_wheel / "compiler").exists(), "a generic top-level name would shadow other packages"
    assert (package / "schema" / "project.schema.json").read_bytes() == (
        REPO / "schema" / "project.schema.json"
    ).read_bytes()
    assert sorted(p.name for p in (package / "templates").iterdir()) == sorted(
        p.name for p in (REPO / "compiler" / "templates").iterdir()
    )
    assert (package / "payload" / "torch_MNIST.py").is_file()


def test_installed_wheel_builds_the_same_bytes_as_the_checkout(installed_wheel: Path, tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    shutil.copy(DEFAULT_SPEC, tmp_path / "specs" / "project.yaml")
    env = {**os.environ, "PYTHONPATH": str(installed_wheel)}
    where = subprocess.run(
        [sys.executable, "-c", "import pixi_htc.core.resources as r; print(r.schema_path())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed_wheel), "the checkout, not the wheel, was imported"

    subprocess.run(
        [sys.executable, "-m", "pixi_htc", "build", "specs/project.yaml", "--out", "build"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    built = tree_bytes(tmp_path / "build")  # the manifest among them, so a missing file shows too
    committed = {name: data for name, data in tree_bytes(REPO / "build").items() if name in built}
    assert built == committed
    assert (tmp_path / ".github" / "workflows" / "pixi-htc.yml").read_bytes() == (
        REPO / ".github" / "workflows" / "pixi-htc.yml"
    ).read_bytes()


def test_wheel_carries_the_one_version(installed_wheel: Path) -> None:
    """pyproject.toml reads compiler/__init__.py's __version__ (setuptools dynamic `attr`)."""
    from pixi_htc import __version__

    (info,) = installed_wheel.glob("pixi_htc-*.dist-info")
    metadata = (info / "METADATA").read_text()
    assert f"\nVersion: {__version__}\n" in metadata
    assert info.name == f"pixi_htc-{__version__}.dist-info"

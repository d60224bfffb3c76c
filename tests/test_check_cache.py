"""The cached `pixi-htc check`: current only while nothing the compile reads has changed and every
generated file is the bytes recorded; each input changed on its own makes it compile again, and
the full check reports the files as stale (exit 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from pixi_htc import cli
from pixi_htc.pipeline import check_cache, files, naming, writer
from pixi_htc.pipeline.compile import compile_spec
from tests.conftest import CHILD_PYTHONPATH, DEFAULT_SPEC, MINIMAL_SPEC

SPEC = Path("specs/project.yaml")
SLURM_LIST_JOB = """\
  rows:
    runtime: container
    scheduler: slurm
    command: [python, train.py, --lr, "{lr}"]
    sweep_from: {file: rates.txt, variables: [lr]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "train.py").write_text("print('training')\n")
    (root / "rates.txt").write_text("0.1\n0.2\n")
    (root / "specs" / "project.yaml").write_text(MINIMAL_SPEC + SLURM_LIST_JOB + "source: [src]\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(root)
    assert cli.main(["build"]) == 0
    assert check_cache.cached_current(SPEC, Path("build")) is not None
    return root


def stale(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The cached check misses, and the full one reports the files as stale."""
    out = args[args.index("--out") + 1] if "--out" in args else "build"
    spec = Path(next((a for a in args if a.endswith(".yaml")), str(SPEC)))
    assert check_cache.cached_current(spec, Path(out)) is None
    capsys.readouterr()
    assert cli.main(["check", *args]) == 1
    return capsys.readouterr().out


def test_current_from_the_cache_without_the_compiler(project: Path) -> None:
    """A second check answers from the record and loads no YAML, schema or template library."""
    probe = (
        "import sys; from pixi_htc import cli; code = cli.main(['check']); "
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'jinja2', 'ruamel', 'jsonschema'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
    )
    assert (
        result.stdout.splitlines() == ["pixi-htc: 9 generated files are current", "0 []"]
        or result.stdout.splitlines()[-1] == "0 []"
    ), result.stdout + result.stderr
    # The record is in the user's cache, not in the project.
    assert list((Path(os.environ["XDG_CACHE_HOME"]) / "pixi-htc" / "check").glob("*.json"))
    assert not [p for p in project.rglob("*") if "cache" in p.name]


def test_the_spec_bytes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = project / SPEC
    spec.write_text(spec.read_text().replace("command: [python, train.py]", "command: [python, train2.py]"))
    assert "train2.py" in stale(capsys)


def test_the_spec_path(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(project / SPEC, project / "specs" / "other.yaml")
    assert "specs/other.yaml" in stale(capsys, "specs/other.yaml")


def test_the_build_directory_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(project / "build", project / "out")
    (project / "out" / writer.MANIFEST_NAME).unlink()  # it names build/: the full check would refuse it
    assert "out/" in stale(capsys, "--out", "out")


def test_a_sweep_from_list(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rates.txt").write_text("0.1\n0.2\n0.3\n")
    assert "--array=0-2" in stale(capsys)


def test_the_lock_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "build" / "pixi.lock").write_text("version: 6\n")
    assert "container_image" in stale(capsys) or "image" in capsys.readouterr().out


def test_a_source_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src" / "train.py").write_text("print('training, faster')\n")
    stale(capsys)


def test_a_new_source_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "src" / "data.py").write_text("ROWS = 3\n")
    stale(capsys)


def test_a_generated_file_edited(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = project / "build" / "htcondor" / "train.sub"
    sub.write_text(sub.read_text().replace("request_cpus = 1", "request_cpus = 4"))
    assert "request_cpus = 4" in stale(capsys)


def test_a_script_no_longer_executable(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "build" / "htcondor" / "train.sh").chmod(0o644)
    assert "not executable" in stale(capsys)


def test_the_manifest_edited(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = project / "build" / writer.MANIFEST_NAME
    body = json.loads(manifest.read_text())
    body["files"]["build/old.sh"] = "0" * 64
    manifest.write_text(json.dumps(body))
    stale(capsys)


def test_a_staging_file_left(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "build" / "htcondor" / ".train.sub.abcd1234.tmp").write_text("half")
    assert "interrupted build" in stale(capsys)


def test_a_generated_file_replaced_by_a_link(project: Path) -> None:
    sub = project / "build" / "htcondor" / "train.sub"
    (project / "elsewhere.sub").write_bytes(sub.read_bytes())
    sub.unlink()
    sub.symlink_to(project / "elsewhere.sub")
    assert check_cache.cached_current(SPEC, Path("build")) is None
    assert cli.main(["check"]) == 2  # the full check refuses the link


def test_the_package_itself(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed template (or module, or schema) is a new key: the record of the old package is not used."""
    copy = tmp_path / "package"
    shutil.copytree(check_cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(check_cache, "PACKAGE_DIR", copy)
    before = check_cache.spec_key(SPEC, Path("build"))
    (copy / "templates" / "job.sub.j2").write_text((copy / "templates" / "job.sub.j2").read_text() + "\n")
    assert check_cache.spec_key(SPEC, Path("build")) != before


def test_a_damaged_record_is_a_miss(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for record in (Path(os.environ["XDG_CACHE_HOME"]) / "pixi-htc" / "check").glob("*.json"):
        record.write_text('{"format": "pixi-htc check cache 1", "files": {"../../etc/passwd": ["x", false]}}')
    assert check_cache.cached_current(SPEC, Path("build")) is None
    assert cli.main(["check"]) == 0  # the full check, which records again
    assert check_cache.cached_current(SPEC, Path("build")) is not None


def test_an_unwritable_cache_is_no_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project.parent / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(project.parent / "file"))
    assert cli.main(["check"]) == 0 and check_cache.cached_current(SPEC, Path("build")) is None


def test_the_bundled_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs").mkdir()
    shutil.copy(DEFAULT_SPEC, tmp_path / "specs" / "project.yaml")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build"]) == 0
    full = compile_spec(SPEC, Path("build"))
    assert check_cache.cached_current(SPEC, Path("build")) == len(full.artifacts)  # as many as the full check counts


def test_the_walk_and_the_staging_names_are_the_compilers_own(project: Path) -> None:
    """check_cache reads a `source` entry and finds staging files through pipeline/files.py, as
    naming.py and writer.py do: one walk, one pattern. The walk is in a fixed order and follows no link."""
    assert check_cache.source_files is files.source_files is naming.source_files
    assert check_cache.stale_temps is files.stale_temps is writer.stale_temps
    (project / "src" / "sub").mkdir()
    (project / "src" / "sub" / "b.py").write_text("")
    (project / "src" / "link.py").symlink_to(project / "src" / "train.py")
    walked = [name for name, _ in files.source_files(project, "src")]
    assert walked.index("src/train.py") < walked.index("src/sub/b.py")  # a folder's files, then its folders
    assert "src/link.py" not in walked
    (project / "build" / ".Dockerfile.abcd_123.tmp").write_text("")
    (project / "build" / ".other.abcd_123.tmp").write_text("")
    assert files.stale_temps(project, [PurePosixPath("build/Dockerfile")]) == [
        PurePosixPath("build/.Dockerfile.abcd_123.tmp")
    ]

"""Two builds of one build directory at once (issue #19 item 6): the second waits for the first,
so neither removes the other's staging files as an interrupted build's leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pixi_htc.core.errors import UsageError
from pixi_htc.pipeline import writer
from pixi_htc.pipeline.compile import compile_spec
from tests.conftest import CHILD_PYTHONPATH


def test_a_build_waits_for_the_one_holding_the_lock(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_dir)
    compiled = compile_spec(Path("specs/project.yaml"), Path("build"))
    with writer.build_lock(compiled.root, compiled.layout):
        # Another process cannot take the lock while this one holds it.
        probe = (
            "import fcntl, os, sys; fd = os.open('build', os.O_RDONLY)\n"
            "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
        )
        assert subprocess.run([sys.executable, "-c", probe], cwd=project_dir, check=False).returncode == 3
        # A staging file of the build that holds the lock survives a second build's attempt.
        staged = project_dir / "build" / ".pixi.toml.abcd1234.tmp"
        staged.write_text("being written")
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import sys; from pathlib import Path; from pixi_htc.pipeline import writer; "
                    "writer.LOCK_WAIT = 0.5; from pixi_htc.cli import main; sys.exit(main(['build']))"
                ),
            ],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": CHILD_PYTHONPATH},
        )
        assert result.returncode == 2 and "another pixi-htc build is writing build/" in result.stderr
        assert staged.read_text() == "being written"
    # Released: the next build runs, and removes the leftover.
    with pytest.raises(UsageError, match="another pixi-htc build"):
        with writer.build_lock(compiled.root, compiled.layout):
            with writer.build_lock(compiled.root, compiled.layout, wait=0.2):
                pass
    changes = writer.write(compiled.root, compiled.layout, compiled.artifacts)
    assert any(c.status == "remove" and c.path.name == staged.name for c in changes)
    assert not staged.exists()

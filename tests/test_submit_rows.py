"""submit queues exactly the rows it checked (issue #19 item 6): HTCondor never reads a sweep_from
list again at submit, so a list changed between the check and the queue cannot add a line."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pixi_htc.pipeline import compile as pipeline
from pixi_htc.schedulers import submit
from tests.test_sweep_from import ROWS, built


class FakeSchedd:
    submitted: ClassVar[list[list[dict[str, str]]]] = []

    def submit(self, description: Any, itemdata: Any = None, count: int = 0) -> Any:
        FakeSchedd.submitted.append(list(itemdata) if itemdata is not None else [{}] * count)
        return types.SimpleNamespace(cluster=lambda: 7, num_procs=lambda: len(FakeSchedd.submitted[-1]))


def test_the_rows_checked_are_the_rows_queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import htcondor2

    root = built(tmp_path)
    monkeypatch.chdir(root)
    compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
    # After the check: the list gains a line that leads out of the project.
    (root / "lists" / "videos.txt").write_text("../../etc/passwd, left\n" * 3)
    monkeypatch.setattr(htcondor2, "Schedd", FakeSchedd)
    FakeSchedd.submitted = []
    assert submit.submit(compiled, job_name="track", dry_run=False) == 0
    queued = [(row["PixiHtcSweep0"], row["PixiHtcSweep1"]) for row in FakeSchedd.submitted[0]]
    assert queued == ROWS


def test_a_missing_list_is_refused_at_submit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = built(tmp_path)
    (root / "lists" / "videos.txt").unlink()
    monkeypatch.chdir(root)
    compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
    with pytest.raises(Exception, match="does not exist yet"):
        submit.submit(compiled, job_name="track", dry_run=True)

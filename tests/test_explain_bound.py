"""explain renders once per leaf: bounded (issue #19 item 5), and the keys past the bound are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixi_htc.follow import explain
from pixi_htc.pipeline import compile as pipeline
from pixi_htc.spec.loader import load_spec
from tests.conftest import MINIMAL_SPEC


def test_explain_stops_at_its_budget_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = "".join(
        f"  job{n}:\n    runtime: container\n    command: [python, train.py, --n, '{n}']\n" for n in range(30)
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC + jobs)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(explain, "MAX_RENDERS", 25)
    compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
    spec = load_spec(Path("specs/project.yaml"), compiled.project.spec_path)
    assert explain.explain(compiled, spec, "build/htcondor/job29.sub:5") == 0
    out = capsys.readouterr().out
    assert "past explain's budget for one answer" in out
    # Within the budget the answer is still exact for the keys it reached.
    assert explain.explain(compiled, spec, "jobs.job3.command") == 0
    out = capsys.readouterr().out
    assert "exec python train.py --n 3" in out and "past explain's budget" not in out

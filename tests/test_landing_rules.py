"""Where a finished job's files land (issue #19 item 7), and Slurm's no-limit time: located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINIMAL_SPEC, run_cli


def _project(tmp_path: Path, job_keys: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(MINIMAL_SPEC + job_keys)
    return tmp_path


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        ("    logs: {log: specs/project.yaml}\n", "is the spec"),
        ("    logs: {error: 'specs/project{process}yaml'}\n", "is the spec"),
        ("    logs: {output: build/.pixi-htc-manifest.json}\n", "inside build/"),
        ("    logs: {output: build/htcondor/train.sub}\n", "inside build/"),
        ("    logs: {output: build/pixi.toml}\n", "inside build/"),
        ("    logs: {output: .github/workflows/pixi-htc.yml}\n", "jobs.train.logs.output"),  # the schema's '.' rule
        ("    outputs: [m.pt]\n    output_remaps: {m.pt: build/Dockerfile}\n", "inside build/"),
        ("    outputs: [m.pt]\n    output_remaps: {m.pt: 'build/{process}'}\n", "inside build/"),
    ],
)
def test_a_job_may_not_land_on_what_pixi_htc_owns(tmp_path: Path, keys: str, why: str) -> None:
    root = _project(tmp_path, keys)
    result = run_cli("validate", cwd=root)
    assert result.returncode == 2
    line = next(
        i
        for i, text in enumerate((root / "specs" / "project.yaml").read_text().splitlines(), 1)
        if "logs:" in text or "output_remaps:" in text
    )
    assert f"specs/project.yaml:{line}:" in result.stderr and why in result.stderr


@pytest.mark.parametrize(
    "keys",
    [
        "    logs: {log: build/logs/train.log, output: logs/train.out}\n",
        "    outputs: [m.pt]\n    output_remaps: {m.pt: 'build/outputs/m_{process}.pt'}\n",
        "    outputs: [m.pt]\n    output_remaps: {m.pt: results/m.pt}\n",
    ],
)
def test_landing_where_outputs_belong_is_fine(tmp_path: Path, keys: str) -> None:
    result = run_cli("validate", cwd=_project(tmp_path, keys))
    assert result.returncode == 0, result.stderr


SLURM = MINIMAL_SPEC.replace("    runtime: container\n", "    runtime: container\n    scheduler: slurm\n")


@pytest.mark.parametrize("time", ["'0'", "'00:00'", "'0-0'", "'0-00:00:00'", "'000000'"])
def test_slurm_time_zero_is_no_limit_and_refused(tmp_path: Path, time: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(SLURM + f"    slurm: {{time: {time}}}\n")
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "no time limit at all" in result.stderr, result.stderr
    assert "jobs.train.slurm.time" in result.stderr


@pytest.mark.parametrize("time", ["0", "'0:0:0'"])
def test_other_zero_times_are_refused_by_the_schema(tmp_path: Path, time: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(SLURM + f"    slurm: {{time: {time}}}\n")
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2 and "specs/project.yaml:12:19: error: jobs.train.slurm.time" in result.stderr


def test_a_real_slurm_time_is_fine(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(SLURM + "    slurm: {time: '0-04:00:00'}\n")
    assert run_cli("validate", cwd=tmp_path).returncode == 0


def test_a_project_whose_build_would_write_gigabytes_is_refused_before_rendering(tmp_path: Path) -> None:
    """Each job's sweep is within the per-job bound; together they are not (issue #19 item 5)."""
    jobs = "".join(
        f"  j{n}:\n    runtime: container\n    command: [python, train.py, '{{a}}', '{{b}}']\n"
        f"    sweep: {{a: [{', '.join(str(i) for i in range(100))}], "
        f"b: [{', '.join(str(i) for i in range(1000))}]}}\n"
        for n in range(3)
    )
    spec = MINIMAL_SPEC.split("jobs:\n")[0] + "jobs:\n" + jobs
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(spec)
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 2 and "300,000 rows" in result.stderr and "jobs.j2.sweep" in result.stderr
    assert not (tmp_path / "build").exists()

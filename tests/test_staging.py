"""Staging by CHTC's rules (#23, item 5), from its guides ("Manage large data in /staging": uploads go
through the transfer server, never an access point; the quota counts files; "Use Apptainer
containers": build in a build job, `+IsBuildJob = true`, and jobs that read /staging require
`HasCHTCStaging`). pack.sh runs here with a stand-in pixi-pack, as on an access point (no
_CONDOR_JOB_AD) and as in a build job (HTCondor sets _CONDOR_JOB_AD to the job ad's path)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.test_scripts import _staged_project, _stand_in_pixi_pack

htcondor2 = pytest.importorskip("htcondor2")


def _chtc(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    staging = tmp_path / "staging"
    staging.mkdir()
    root, files = _staged_project(tmp_path, "chtc", f"{{directory: {staging}, url: osdf:///chtc/staging/a/alice}}")
    return root, staging, files


def _pack(root: Path, tmp_path: Path, *args: str, in_job: bool) -> subprocess.CompletedProcess[str]:
    env = _stand_in_pixi_pack(tmp_path)
    if in_job:
        (tmp_path / ".job.ad").write_text("IsBuildJob = true\n")
        env["_CONDOR_JOB_AD"] = str(tmp_path / ".job.ad")
    return subprocess.run(
        ["bash", "build/pack.sh", *args], cwd=root, capture_output=True, text=True, env=env, check=False
    )


def test_an_access_point_packs_but_never_copies_to_staging(tmp_path: Path) -> None:
    root, staging, _ = _chtc(tmp_path)
    result = _pack(root, tmp_path, in_job=False)
    assert result.returncode == 0, result.stderr
    assert (root / "build" / "environment.sh").is_file()
    assert list(staging.iterdir()) == [], "nothing is written to /staging from an access point"
    assert "transfer.chtc.wisc.edu" in result.stdout and "condor_submit -i build-job.sub" in result.stdout


def test_a_build_job_stages_and_prunes_only_pixi_htcs_older_archives(tmp_path: Path) -> None:
    root, staging, files = _chtc(tmp_path)
    current = (
        htcondor2.Submit(files["build/htcondor/train.sub"])["transfer_input_files"].split(", ")[0].rsplit("/", 1)[1]
    )
    digest = current.removeprefix("environment-").removesuffix(".sh")
    older = staging / f"environment-{'0' * len(digest)}.sh"
    older.write_text("old archive\n")
    keep = {
        name: staging / name
        for name in (
            "environment-notadigest.sh",
            f"environment-{'1' * (len(digest) + 1)}.sh",
            "my-data.tar.gz",
            "environment.sh",
        )
    }
    for path in keep.values():
        path.write_text("the user's\n")
    outside = tmp_path / "precious.sh"
    outside.write_text("never touched\n")
    link = staging / f"environment-{'2' * len(digest)}.sh"
    os.symlink(outside, link)

    listed = _pack(root, tmp_path, in_job=True)
    assert listed.returncode == 0, listed.stderr
    assert (staging / current).read_text() == "packed environment.sh\n"
    assert older.exists() and f"{older} is an older lock's archive" in listed.stdout, "listed, not removed, by default"

    pruned = _pack(root, tmp_path, "--prune", in_job=True)
    assert pruned.returncode == 0, pruned.stderr
    assert not older.exists() and f"removed {older}" in pruned.stdout
    assert (staging / current).is_file(), "the archive jobs use now stays"
    assert all(path.read_text() == "the user's\n" for path in keep.values()), "names pixi-htc did not give stay"
    assert link.is_symlink() and outside.read_text() == "never touched\n", "a link is neither followed nor removed"


def test_build_job_submit_file_is_chtcs_build_job(tmp_path: Path) -> None:
    _root, _, files = _chtc(tmp_path)
    sub = htcondor2.Submit(files["build/build-job.sub"])
    assert sub["MY.IsBuildJob"] == "true" and sub["requirements"] == "(Target.HasCHTCStaging == true)"
    inputs = sub["transfer_input_files"].split(", ")
    assert inputs[:3] == ["pixi.toml", "pixi.lock", "pack.sh"]
    assert sub["request_disk"] and sub["request_memory"]


def test_no_build_job_without_chtc_staging(tmp_path: Path) -> None:
    _, files = _staged_project(tmp_path, "generic", None)
    assert "build/build-job.sub" not in files

"""The check before submit (#23): slots matched as the negotiator matches them, against machine ads in
the format `condor_status -long` prints (tests/fixtures/machine_ads: CHTC GPU Lab and CPU slots, OSPool
glideins, written for these tests); inputs and their sizes against the site's advice; the image asked of
a registry through the injected fetch (no network here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pixi_htc.pipeline.compile import compile_spec
from pixi_htc.schedulers.htcondor import matching, preflight
from pixi_htc.spec.loader import load_spec
from tests.conftest import DEFAULT_SPEC, run_cli

ADS = Path(__file__).parent / "fixtures" / "machine_ads"


def slots(*names: str) -> list:
    return [ad for name in names for ad in matching.parse_slots((ADS / f"{name}.ads").read_text())]


def compiled_project(tmp_path: Path, edit=lambda text: text):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "project.yaml").write_text(edit(DEFAULT_SPEC.read_text()))
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "MNIST_data.tar.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 1000)
    assert run_cli("build", cwd=tmp_path).returncode == 0
    spec_path = tmp_path / "specs" / "project.yaml"
    return compile_spec(spec_path, tmp_path / "build"), load_spec(spec_path, "specs/project.yaml")


def run(compiled, spec, pool, fetch=None):
    return preflight.preflight(
        compiled, spec, list(compiled.project.jobs), fetch=fetch, slots=lambda: (pool, "fixture ads")
    )


def test_fixtures_parse_as_condor_status_long_prints_them() -> None:
    every = slots("chtc-gpu-lab", "chtc-cpu", "ospool")
    assert [ad["Name"] for ad in every] == [
        "slot1@gpu4003.chtc.wisc.edu",
        "slot1@gpu2011.chtc.wisc.edu",
        "slot1@e2401.chtc.wisc.edu",
        "slot1@glidein_1234_567@node17.example.edu",
        "slot1@glidein_2345_678@gpu03.example.org",
    ]
    assert every[0].eval("GPUs_GPU_4f1a9c20").eval("GlobalMemoryMb") == 81038


def test_the_default_jobs_match_the_gpu_lab_and_not_the_cpu_slots(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path)
    report = run(compiled, spec, slots("chtc-gpu-lab", "chtc-cpu"))
    assert not report.refusals and not report.missing
    assert "mnist-sweep: 2 of 3 slots (fixture ads) match its requirements and GPU constraints" in report.lines


def test_a_gpu_memory_no_slot_has_is_refused_at_its_spec_line(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path, lambda t: t.replace("min_memory: 8GB", "min_memory: 96GB"))
    report = run(compiled, spec, slots("chtc-gpu-lab", "chtc-cpu"))
    [refusal] = report.refusals
    line = next(n for n, text in enumerate(DEFAULT_SPEC.read_text().splitlines(), 1) if "min_memory" in text)
    assert (refusal.line, refusal.key_path) == (line, "jobs.mnist-sweep.gpu.min_memory")
    assert "gpus_minimum_memory = 96GB" in refusal.message and "no slot of the 3" in refusal.message
    with pytest.raises(
        preflight.PreflightRefused, match=r"specs/project.yaml:\d+:\d+: jobs.mnist-sweep.gpu.min_memory"
    ):
        preflight.refuse(report, "specs/project.yaml")


def test_a_capability_above_every_gpu_names_that_clause(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path, lambda t: t.replace("min_capability: 7.0", "min_capability: 9.0"))
    [refusal] = run(compiled, spec, slots("chtc-gpu-lab", "ospool")).refusals
    assert refusal.key_path == "jobs.mnist-sweep.gpu.min_capability"


def test_a_driver_newer_than_every_slots_is_refused_at_the_environment(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path, lambda t: t.replace('cuda: "12"', 'cuda: "13"'))
    refusals = run(compiled, spec, slots("chtc-gpu-lab")).refusals
    assert {r.key_path for r in refusals} == {"environments.gpu.cuda"}
    assert "gpus_minimum_runtime = 13.0" in refusals[0].message


def test_the_cuda_floor_is_checked_per_gpu_as_condor_submit_writes_it(tmp_path: Path) -> None:
    """gpus_minimum_runtime = 12.5 is GPUsMinRuntime = 12050 against each GPU's MaxSupportedVersion
    (submit_utils.cpp): the 12.8 driver's slot matches, the 12.4 driver's does not."""
    compiled, _ = compiled_project(tmp_path, lambda t: t.replace('cuda: "12"', 'cuda: "12.5"'))
    assert "gpus_minimum_runtime = 12.5\n" in (tmp_path / "build/htcondor/mnist-sweep.sub").read_text()
    job = next(j for j in compiled.project.jobs if j.name == "mnist-sweep")
    ad = matching.job_ad(compiled.project, job)
    assert ad["GPUsMinRuntime"] == 12050
    assert "MaxSupportedVersion >= GPUsMinRuntime" in str(ad.lookup("RequireGPUs"))
    found = matching.match(compiled.project, job, slots("chtc-gpu-lab"), [("WantGPULab", "true")])
    assert found.matching == ("slot1@gpu2011.chtc.wisc.edu",)


@pytest.mark.parametrize(("version", "code"), [("12.0", 12000), ("12.4", 12040), ("13", 13000), ("11.8", 11080)])
def test_runtime_versions_are_coded_as_condor_submit_codes_them(version: str, code: int) -> None:
    assert matching.runtime_code(version) == code


def test_a_require_gpus_naming_the_runtime_replaces_the_floor(tmp_path: Path) -> None:
    """As SetResourceRequirements does: a require_gpus that names MaxSupportedVersion keeps its own."""
    compiled, _ = compiled_project(
        tmp_path,
        lambda t: t.replace(
            "gpu: {min_capability: 7.0, min_memory: 8GB}", "gpu: {require: 'MaxSupportedVersion >= 12060'}"
        ),
    )
    sub = (tmp_path / "build/htcondor/mnist-sweep.sub").read_text()
    assert "gpus_minimum_runtime = 12.0\n" in sub and "require_gpus = MaxSupportedVersion >= 12060\n" in sub
    job = next(j for j in compiled.project.jobs if j.name == "mnist-sweep")
    ad = matching.job_ad(compiled.project, job)
    assert str(ad.lookup("RequireGPUs")).count("MaxSupportedVersion") == 1
    found = matching.match(compiled.project, job, slots("chtc-gpu-lab"), [("WantGPULab", "true")])
    assert found.matching == ("slot1@gpu2011.chtc.wisc.edu",)


def test_slots_whose_own_start_refuses_the_job_are_named(tmp_path: Path) -> None:
    """The GPU Lab's START wants +WantGPULab: without gpu_lab the job's requirements accept its slots,
    and the slots refuse the job (the other direction of the match)."""
    compiled, spec = compiled_project(
        tmp_path, lambda t: t.replace("chtc: {gpu_lab: true, job_length: short}", "chtc: {gpu_lab: false}")
    )
    refusals = [
        r
        for r in run(compiled, spec, slots("chtc-gpu-lab", "chtc-cpu")).refusals
        if r.key_path == "jobs.mnist-gpu-docker"
    ]
    assert refusals and "refuse it by their own Requirements" in refusals[0].message
    assert "WantGPULab" in refusals[0].message


def test_a_docker_image_on_glideins_without_docker_urls(tmp_path: Path) -> None:
    """OSPool glideins here run containers but not docker:// URLs: the pixi-pack job matches the GPU
    glidein, the docker one matches none, and HasDockerURL is named."""
    compiled, spec = compiled_project(tmp_path)
    report = run(compiled, spec, slots("ospool"))
    by_job = {r.key_path: r for r in report.refusals}
    assert "mnist-gpu-pixi-pack: 1 of 2 slots (fixture ads) match its requirements and GPU constraints" in report.lines
    assert "TARGET.HasDockerURL" in by_job["container.image"].message


def test_inputs_are_measured_and_large_ones_get_the_sites_advice(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path)
    big = tmp_path / "build" / "MNIST_data.tar.gz"
    with big.open("r+b") as f:  # sparse: 1.5 GB on paper, nothing on disk
        f.truncate(3 * preflight.GB // 2)
    report = run(compiled, spec, None)
    assert "mnist-gpu-docker: inputs: build/MNIST_data.tar.gz 1.5 GB, build/src" in report.lines[0]
    assert any(
        "osdf:///chtc/staging/" in w.message and w.key_path == "jobs.mnist-gpu-docker.inputs[0]"
        for w in report.warnings
    )
    assert not report.refusals


def test_a_missing_input_is_refused_by_submit_and_reported_by_a_dry_run(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path)
    (tmp_path / "build" / "MNIST_data.tar.gz").unlink()
    report = run(compiled, spec, None)
    assert {m.key_path for m in report.missing} == {
        f"jobs.{j}.inputs[0]" for j in ("mnist-gpu-docker", "mnist-gpu-pixi-pack", "mnist-sweep")
    }
    preflight.refuse(report, "specs/project.yaml", missing=False)
    with pytest.raises(preflight.PreflightRefused, match="does not exist here"):
        preflight.refuse(report, "specs/project.yaml")
    dry = run_cli("submit", "--dry-run", "--offline", cwd=tmp_path)
    assert dry.returncode == 0 and "warning" in dry.stderr and "does not exist here" in dry.stderr
    offline = run_cli("preflight", "--offline", cwd=tmp_path)
    assert offline.returncode == 2 and "nothing was queued" in offline.stderr


class Registry:
    """A registry as the distribution spec has it: 401 with a Bearer challenge, an anonymous token,
    then the manifest, or 404 / 403."""

    def __init__(self, manifests: dict[str, int]) -> None:
        self.manifests = manifests
        self.asked: list[str] = []

    def __call__(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.asked.append(url)
        if url.startswith("https://ghcr.io/token?"):
            return 200, {}, json.dumps({"token": "anonymous"}).encode()
        if "Authorization" not in headers:
            return (
                401,
                {
                    "www-authenticate": 'Bearer realm="https://ghcr.io/token",service="ghcr.io",'
                    'scope="repository:pixi-htc/hello-pytorch:pull"'
                },
                b"",
            )
        tag = url.rsplit("/", 1)[-1]
        return self.manifests.get(tag, 404), {}, b"{}"


@pytest.mark.parametrize(
    "answer,expected,pulls",
    [
        (200, "exists and pulls without credentials", True),
        (404, "has no tag", False),
        (403, "make it public in its package settings", False),
    ],
)
def test_the_image_is_asked_of_its_registry_anonymously(
    tmp_path: Path, answer: int, expected: str, pulls: bool
) -> None:
    compiled, spec = compiled_project(tmp_path)
    tag = compiled.project.container.docker_reference.rsplit(":", 1)[-1]
    registry = Registry({tag: answer})
    report = run(compiled, spec, None, fetch=registry)
    line = next(text for text in report.lines if text.startswith("mnist-gpu-docker: image"))
    assert expected in line
    assert registry.asked[0] == f"https://ghcr.io/v2/pixi-htc/hello-pytorch/manifests/{tag}"
    assert any(
        url.startswith("https://ghcr.io/token?") and "scope=repository%3Apixi-htc" in url for url in registry.asked
    )
    assert bool([w for w in report.warnings if w.key_path == "container.image"]) is not pulls


def test_a_registry_that_does_not_answer_is_said_so(tmp_path: Path) -> None:
    compiled, spec = compiled_project(tmp_path)

    def unreachable(url: str, headers: dict[str, str]):
        raise TimeoutError("timed out")

    report = run(compiled, spec, None, fetch=unreachable)
    assert any("did not answer (timed out): not checked" in line for line in report.lines)
    assert not report.warnings


@pytest.mark.parametrize(
    "reference,parsed",
    [
        ("docker://ghcr.io/owner/img:gpu-1", ("ghcr.io", "owner/img", "gpu-1")),
        ("docker://python:3.12", ("registry-1.docker.io", "library/python", "3.12")),
        ("docker://talmolab/sleap:1.3.3", ("registry-1.docker.io", "talmolab/sleap", "1.3.3")),
        ("oras://ghcr.io/owner/img:sif-1", ("ghcr.io", "owner/img", "sif-1")),
        ("docker://localhost:5000/x/y", ("localhost:5000", "x/y", "latest")),
        ("osdf:///chtc/staging/n/netid/x.sif", None),
    ],
)
def test_image_references(reference: str, parsed: tuple[str, str, str] | None) -> None:
    assert preflight.registry_reference(reference) == parsed


def test_status_can_ask_why_a_process_stays_idle(tmp_path: Path) -> None:
    compiled, _ = compiled_project(tmp_path, lambda t: t.replace("min_memory: 8GB", "min_memory: 96GB"))
    sweep = next(job for job in compiled.project.jobs if job.name == "mnist-sweep")
    reason = preflight.idle_reason(compiled, sweep, slots=lambda: (slots("chtc-gpu-lab"), "fixture ads"))
    assert reason is not None and "gpus_minimum_memory = 96GB" in reason
    assert preflight.idle_reason(compiled, sweep, slots=lambda: (None, "no collector")) is None
    docker = next(job for job in compiled.project.jobs if job.name == "mnist-gpu-docker")
    assert preflight.idle_reason(compiled, docker, slots=lambda: (slots("chtc-gpu-lab"), "fixture ads")) is None
    shutil.rmtree(tmp_path / "build")

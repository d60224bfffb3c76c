"""pixi-htc explain: generated line -> spec keys, and spec key -> generated lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixi_htc.core.errors import UsageError
from pixi_htc.follow.explain import Explainer, explain_key, explain_line, parse_key_path
from pixi_htc.pipeline import compile as pipeline
from pixi_htc.spec.loader import load_spec
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def explainer(tmp_path_factory: pytest.TempPathFactory) -> Explainer:
    import shutil

    from tests.conftest import DEFAULT_SPEC

    root = tmp_path_factory.mktemp("explain")
    (root / "specs").mkdir()
    shutil.copy(DEFAULT_SPEC, root / "specs" / "project.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        compiled = pipeline.compile_spec(Path("specs/project.yaml"), Path("build"))
        return Explainer(compiled, load_spec(Path("specs/project.yaml"), compiled.project.spec_path))


def line_of(explainer: Explainer, path: str, text: str) -> int:
    return explainer.baseline[path].index(text) + 1


def test_a_key_reaches_its_lines(explainer: Explainer) -> None:
    out = list(explain_key(explainer, ("jobs", "mnist-gpu-docker", "resources", "memory")))
    line, column = explainer.spec.locate(("jobs", "mnist-gpu-docker", "resources", "memory"))
    assert out[0].startswith(f"specs/project.yaml:{line}:{column}: jobs.mnist-gpu-docker.resources.memory reaches")
    sub = "build/htcondor/mnist-gpu-docker.sub"
    assert f"  {sub}:{line_of(explainer, sub, 'request_memory = 2GB')}: request_memory = 2GB" in out
    # Only that job's files (and the manifest's hash of them): no other job's request_memory.
    assert all("mnist-sweep" not in line and "pixi-pack.sub" not in line for line in out)


def test_a_line_names_the_key_that_produced_it(explainer: Explainer) -> None:
    sub = "build/htcondor/mnist-sweep.sub"
    number = line_of(explainer, sub, "  128, 0.5")
    out = list(explain_line(explainer, sub, number))
    assert out[0] == f"{sub}:{number}:   128, 0.5"
    producers = [line.split(": ", 1)[1] for line in out[2:] if line.startswith("  ")]
    assert any(p.startswith("jobs.mnist-sweep.sweep.batch_size[1] = 128") for p in producers)
    assert any(p.startswith("jobs.mnist-sweep.sweep.lr[0] = 0.5") for p in producers)
    assert not any("mnist-gpu-docker" in p for p in producers)
    line, column = explainer.spec.locate(("jobs", "mnist-sweep", "sweep", "batch_size", 1))
    assert any(l.startswith(f"  specs/project.yaml:{line}:{column}: jobs.mnist-sweep.sweep.batch_size[1]") for l in out)


def test_a_renamed_sweep_variable_follows_its_placeholders(explainer: Explainer) -> None:
    out = list(explain_key(explainer, ("jobs", "mnist-sweep", "sweep", "lr")))
    assert any('lr="$4"' in line for line in out)  # the .sh names it, reached by renaming the variable
    assert not any(line.startswith("  not tested") for line in out)


def test_template_text_has_no_key(explainer: Explainer) -> None:
    sub = "build/htcondor/mnist-gpu-docker.sub"
    out = list(explain_line(explainer, sub, line_of(explainer, sub, 'arguments = "$(Cluster) $(Process)"')))
    # Only the job's name (it names the file) can change it.
    assert all("its name" in line for line in out[2:] if line.startswith("  "))


def test_keys_that_reach_nothing_are_reported(explainer: Explainer) -> None:
    out = list(explain_key(explainer, ("schema_version",)))
    assert out[0].endswith("schema_version reaches 0 generated line(s)")
    assert out[-1].startswith("  no generated line comes from schema_version = 1")


def test_a_default_names_its_key_and_where_to_set_it(explainer: Explainer) -> None:
    sub = "build/htcondor/mnist-sweep.sub"
    out = list(explain_line(explainer, sub, line_of(explainer, sub, "request_memory = 2GB")))
    line, column = explainer.spec.locate(("jobs", "mnist-sweep"), at_key=True)
    producers = [l for l in out if l.startswith("  ")]
    assert producers == [
        f"  specs/project.yaml:{line}:{column}: jobs.mnist-sweep.resources.memory = 2GB  (default of "
        "jobs.mnist-sweep.resources.memory (for the container runtime); set it under jobs.mnist-sweep; "
        "reaches 1 generated lines)"
    ]
    # The job's name names the file; it is not what sets this line.
    assert not any("(its name)" in l for l in producers)


def test_a_value_taken_from_another_key(explainer: Explainer) -> None:
    """A job without `environment` runs container.environment: that key reaches the job's driver check."""
    sub = "build/htcondor/mnist-sweep.sub"
    out = list(explain_line(explainer, sub, line_of(explainer, sub, "gpus_minimum_runtime = 12.0")))
    line, column = explainer.spec.locate(("container", "environment"))
    assert (
        f"  specs/project.yaml:{line}:{column}: jobs.mnist-sweep.environment = gpu  (the container runtime's "
        "environment: container.environment, set there; reaches 2 generated lines)" in out
    )
    reached = list(explain_key(explainer, ("container", "environment")))
    assert f"  {sub}:{line_of(explainer, sub, 'gpus_minimum_runtime = 12.0')}: gpus_minimum_runtime = 12.0" in reached


def test_a_derived_value_says_how(explainer: Explainer) -> None:
    sub = "build/htcondor/mnist-sweep.sub"
    tag = explainer.compiled.project.container.tag
    image = f"container_image = docker://ghcr.io/pixi-htc/hello-pytorch:{tag}"
    out = list(explain_line(explainer, sub, line_of(explainer, sub, image)))
    assert any(
        l.split(": ", 1)[1].startswith(f"container.tag = {tag}  (derived: a digest of what the image is built from")
        for l in out
        if l.startswith("  ")
    )
    assert any("container.image = ghcr.io/pixi-htc/hello-pytorch  (reaches" in l for l in out)
    # A dependency reaches pixi.toml, so the tag's lines too, marked as such.
    reached = list(explain_key(explainer, ("workspace", "dependencies", "python")))
    assert f"  {sub}:{line_of(explainer, sub, image)}: {image}  (through the image tag)" in reached
    assert any(l.startswith("  build/pixi.toml:") and 'python = ">=3.12,<3.14"' in l for l in reached)
    # Derived from the checkpoint: +is_resumable, with chtc.resumable unset.
    out = list(explain_line(explainer, sub, line_of(explainer, sub, "+is_resumable = true")))
    assert any("jobs.mnist-sweep.chtc.resumable = (unset)  (derived: true when the job checkpoints" in l for l in out)


def test_fast_on_the_bundled_spec(explainer: Explainer) -> None:
    """Every field of the bundled spec, within the budget and without rendering every family each time."""
    explainer.map.new_answer()
    for field in explainer.map.fields:
        explainer.map.reached(field)
    used = explainer.map.budget - explainer.map.renders_left
    assert used < len(explainer.map.fields) and explainer.map.renders_left > 0


def test_answers_match_a_build_byte_for_byte(explainer: Explainer, tmp_path: Path) -> None:
    """The source map's baseline is the build's own compile: explain sees the files build writes."""
    for artifact in explainer.compiled.artifacts:
        assert explainer.baseline[str(artifact.path)] == artifact.text.splitlines()


def test_deterministic(explainer: Explainer) -> None:
    sub = "build/htcondor/mnist-sweep.sub"
    assert list(explain_line(explainer, sub, 1)) == list(explain_line(explainer, sub, 1))


def test_key_paths_parse_and_missing_keys_say_so(explainer: Explainer) -> None:
    assert parse_key_path(explainer.document, "jobs.mnist-sweep.inputs[0]") == ("jobs", "mnist-sweep", "inputs", 0)
    with pytest.raises(UsageError, match="'resources' is not set under jobs.mnist-sweep"):
        parse_key_path(explainer.document, "jobs.mnist-sweep.resources.memory")
    with pytest.raises(UsageError, match="did you mean"):
        parse_key_path(explainer.document, "jobs.mnist-swep")


def test_cli(project_dir: Path) -> None:
    assert run_cli("build", cwd=project_dir).returncode == 0
    result = run_cli("explain", "jobs.mnist-gpu-docker.chtc.job_length", cwd=project_dir)
    assert result.returncode == 0 and '+GPUJobLength = "short"' in result.stdout
    for bad in ("build/nothing.sub:3", "build/htcondor/mnist-sweep.sub:9999", "jobs.nope"):
        result = run_cli("explain", bad, cwd=project_dir)
        assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.startswith("pixi-htc: ")

"""Dockerfile, .dockerignore, apptainer.def and the workflow: parsed, linted with the real tools, and
re-checked over many generated specs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pixi_htc.artifacts.base import Layout
from pixi_htc.core.escape import docker_json, yaml_string
from pixi_htc.pipeline.compile import render_all
from pixi_htc.spec.model import Project
from tests.conftest import DEFAULT_SPEC, load_project

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (make test installs it)")
    return str(path)


def project_from(text: str, tmp_path: Path) -> Project:
    spec = tmp_path / "project.yaml"
    spec.write_text(text)
    return load_project(spec)


def outputs(project: Project) -> dict[str, str]:
    return {str(a.path): a.text for a in render_all(project, Layout())}


DEFAULT = outputs(load_project(DEFAULT_SPEC))


def instructions(text: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(c.cmd, c.value, c.flags) for c in dockerfile.parse_string(text)]


def lint_dockerfile(text: str, tmp_path: Path) -> str:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    result = subprocess.run([tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True)
    return result.stdout if result.returncode else ""


def lint_workflow(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / ".github" / "workflows" / "w.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    problems = []
    for command in (
        [tool("actionlint"), "-no-color", str(path)],
        [tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "plain", str(path)],
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
    ):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            problems.append(f"{Path(command[0]).name}: {result.stdout}{result.stderr}")
    return problems


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean(tmp_path: Path) -> None:
    assert lint_dockerfile(DEFAULT["build/Dockerfile"], tmp_path) == ""


def test_dockerfile_holds_exactly_the_instructions_the_spec_implies() -> None:
    spec = YAML(typ="safe").load(DEFAULT_SPEC.read_text())
    base = spec["container"]["pixi_image"]
    env = spec["container"]["environment"]
    parsed = instructions(DEFAULT["build/Dockerfile"])
    assert [cmd for cmd, _, _ in parsed] == [
        "FROM",
        "WORKDIR",
        "COPY",
        "ENV",
        "RUN",
        "RUN",
        "FROM",
        "LABEL",
        "WORKDIR",
        "COPY",
        "COPY",
        "COPY",
        "COPY",
        "COPY",
        "COPY",
        "COPY",
        "ENTRYPOINT",
    ]
    assert parsed[0][1] == (base, "AS", "build") and parsed[6][1] == (base, "AS", "production")
    assert parsed[3][1] == ("CONDA_OVERRIDE_CUDA", spec["environments"][env]["cuda"])
    assert parsed[4][1] == (f"pixi install --locked --environment {env}",)
    assert f"pixi shell-hook --environment {env} -s bash" in parsed[5][1][0]
    assert parsed[9][1] == (f"/app/.pixi/envs/{env}", f"/app/.pixi/envs/{env}"), (
        "same path: prefixes are not relocatable"
    )
    assert parsed[14][2] == ("--from=build", "--chmod=0755") and parsed[15][1] == ("build/src", "/app/src")
    assert parsed[16][1] == ("/app/entrypoint.sh",)
    labels = dict(zip(parsed[7][1][::2], parsed[7][1][1::2]))
    # No spec hash in the image: its tag is a digest of its content, and a job's memory is not content.
    assert "io.github.pixi-htc.spec-sha256" not in labels
    assert json.loads(labels["org.opencontainers.image.description"]) == spec["description"]


def test_cpu_image_has_no_cuda_override(tmp_path: Path) -> None:
    p = project_from(
        "schema_version: 1\nname: demo\nenvironments:\n  cpu: {}\ncontainer: {environment: cpu}\n", tmp_path
    )
    parsed = instructions(outputs(p)["build/Dockerfile"])
    assert "ENV" not in [cmd for cmd, _, _ in parsed]
    assert lint_dockerfile(outputs(p)["build/Dockerfile"], tmp_path) == ""


def _context(files: dict[str, str]) -> tuple[list[str], set[str]]:
    ignore = [line for line in files["build/Dockerfile.dockerignore"].splitlines() if line and not line.startswith("#")]
    copied = {
        v
        for cmd, values, flags in instructions(files["build/Dockerfile"])
        if cmd == "COPY" and not any(f.startswith("--from") for f in flags)
        for v in values[:-1]
    }
    return ignore, copied


def test_build_context_holds_only_what_the_dockerfile_copies() -> None:
    """The context is the project root; BuildKit's <Dockerfile>.dockerignore admits exactly what is copied."""
    ignore, copied = _context(DEFAULT)
    assert ignore == ["*", "!build/pixi.toml", "!build/pixi.lock", "!build/src"]
    assert copied == {"build/pixi.toml", "build/pixi.lock", "build/src"}
    assert "build/.dockerignore" not in DEFAULT


def test_the_image_carries_the_users_code_where_jobs_find_it(tmp_path: Path) -> None:
    """Issue #11: `source` entries are copied from where they live to /app/<name>, as they land in a
    job's sandbox; apptainer.def copies the same."""
    p = project_from(
        "schema_version: 1\nname: demo\nsource: [src, configs/train.yaml]\nenvironments:\n  gpu: {cuda: '12'}\n"
        "container: {apptainer: true}\n",
        tmp_path,
    )
    files = outputs(p)
    ignore, copied = _context(files)
    assert ignore == ["*", "!build/pixi.toml", "!build/pixi.lock", "!src", "!configs/train.yaml"]
    assert copied == {"build/pixi.toml", "build/pixi.lock", "src", "configs/train.yaml"}
    copies = [values for cmd, values, flags in instructions(files["build/Dockerfile"]) if cmd == "COPY" and not flags]
    assert ("configs/train.yaml", "/app/train.yaml") in copies and ("src", "/app/src") in copies
    assert "    src /app/src\n    configs/train.yaml /app/train.yaml\n" in files["build/apptainer.def"]
    assert lint_dockerfile(files["build/Dockerfile"], tmp_path) == ""


def test_apptainer_definition_matches_the_dockerfile() -> None:
    text = DEFAULT["build/apptainer.def"]
    assert text.count("Bootstrap: docker") == 2
    assert "From: ghcr.io/prefix-dev/pixi:0.77.0-noble\nStage: build" in text
    assert "export CONDA_OVERRIDE_CUDA=12" in text and "pixi install --locked --environment gpu" in text
    assert "%files from build\n    /app/.pixi/envs/gpu /app/.pixi/envs/gpu" in text
    assert 'exec /app/entrypoint.sh "$@"' in text


def apptainer_sections(text: str) -> list[tuple[int, str, str]]:
    """(stage, section, body) for each %section of a definition file; stage counts Bootstrap headers."""
    sections: list[tuple[int, str, list[str]]] = []
    stage = 0
    for line in text.splitlines():
        if line.startswith("Bootstrap:"):
            stage += 1
            sections.append((stage, "", []))
        elif line.startswith("%"):
            sections.append((stage, line.split()[0], []))
        elif sections:
            sections[-1][2].append(line)
    return [(st_, name, "\n".join(body) + "\n") for st_, name, body in sections if name]


def run_apptainer_test(text: str, tmp_path: Path, activates: bool) -> subprocess.CompletedProcess[str]:
    """Run the %test section as apptainer does (/bin/sh), with /app/entrypoint.sh and the environment's
    prefix replaced by stand-ins: an entrypoint that puts this interpreter's python on PATH (or not)."""
    [body] = [body for stage, name, body in apptainer_sections(text) if name == "%test"]
    python_bin = Path(sys.executable).parent
    entrypoint = tmp_path / "entrypoint.sh"
    activation = f'export PATH="{python_bin}:$PATH"\n' if activates else ""
    entrypoint.write_text(f'#!/bin/bash\n{activation}exec "$@"\n')
    entrypoint.chmod(0o755)
    env_path = re.search(r"/app/\.pixi/envs/([a-z0-9-]+)", body)
    assert env_path, body
    env_name = env_path.group(1)
    script = tmp_path / "test.sh"
    script.write_text(
        body.replace("/app/entrypoint.sh", str(entrypoint)).replace(f"/app/.pixi/envs/{env_name}", sys.prefix)
    )
    return subprocess.run(
        ["/bin/sh", str(script)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )


def test_apptainer_test_section_runs_in_the_final_stage_and_needs_no_gpu() -> None:
    text = DEFAULT["build/apptainer.def"]
    sections = apptainer_sections(text)
    final = max(stage for stage, _, _ in sections)
    tests = [(stage, body) for stage, name, body in sections if name == "%test"]
    assert len(tests) == 1 and tests[0][0] == final == 2, "one %test, in the image that is kept"
    body = tests[0][1]
    assert 'sed "\\$d" /app/entrypoint.sh' in body, "the jobs' way in: the entrypoint minus its exec line"
    assert "/app/.pixi/envs/gpu" in body and "sys.version" in body
    assert not re.search(r"nvidia-smi|cuda\.is_available|torch_detect_GPU", body), "must not need a GPU"


def test_apptainer_test_section_passes_when_the_environment_activates(tmp_path: Path) -> None:
    result = run_apptainer_test(DEFAULT["build/apptainer.def"], tmp_path, activates=True)
    assert result.returncode == 0, result.stderr
    assert sys.version.split()[0] in result.stdout + result.stderr


def test_apptainer_test_section_fails_when_it_does_not(tmp_path: Path) -> None:
    result = run_apptainer_test(DEFAULT["build/apptainer.def"], tmp_path, activates=False)
    assert result.returncode != 0


def test_docker_values_are_escaped() -> None:
    assert docker_json('a "b" $HOME \\') == '"a \\"b\\" \\$HOME \\\\"'
    parsed = dockerfile.parse_string(f"LABEL x={docker_json('a b $X')}\n")
    assert parsed[0].value == ("x", '"a b \\$X"')


# --- workflow -----------------------------------------------------------------------------------

WORKFLOW = DEFAULT[".github/workflows/pixi-htc.yml"]


def test_workflow_is_lint_clean(tmp_path: Path) -> None:
    assert lint_workflow(WORKFLOW, tmp_path) == []


def test_workflow_shape() -> None:
    workflow: dict[str, Any] = YAML(typ="safe").load(WORKFLOW)
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    triggers = workflow["on"]
    assert "build/**" in triggers["push"]["paths"] and triggers["push"]["paths"] == triggers["pull_request"]["paths"]
    jobs = workflow["jobs"]
    assert set(jobs) == {"check", "lock", "image", "apptainer"}
    assert jobs["check"]["permissions"] == {"contents": "read"}
    # This repository's spec says ci.pixi_htc: "." (install pixi-htc from the checkout itself).
    runs = [step.get("run") for step in jobs["check"]["steps"]]
    assert "python -m pip install ." in runs and "pixi-htc check specs/project.yaml --out build" in runs
    # The lock check goes through build/lock.sh, the one place that knows which CUDA to claim.
    assert [step["run"] for step in jobs["lock"]["steps"] if "run" in step] == ["bash build/lock.sh --check --dry-run"]
    image = jobs["image"]
    assert image["needs"] == ["check", "lock"]
    assert image["permissions"] == {"contents": "read", "packages": "write"}
    steps = {step.get("name") or step["uses"].split("@")[0]: step for step in image["steps"]}
    assert "type=sha" in steps["Docker metadata"]["with"]["tags"]
    tag = load_project(DEFAULT_SPEC).container.tag
    assert f"type=raw,value={tag}" in steps["Docker metadata"]["with"]["tags"]
    assert steps["Docker metadata"]["with"]["images"] == "ghcr.io/pixi-htc/hello-pytorch"
    assert steps["Log in to ghcr.io"]["if"] == "github.event_name != 'pull_request'"
    build = steps["Build, and push unless this is a pull request"]["with"]
    assert build["push"] == "${{ github.event_name != 'pull_request' }}"
    assert build["context"] == "." and build["file"] == "build/Dockerfile"
    assert f"oras://ghcr.io/pixi-htc/hello-pytorch:{tag}-sif" in jobs["apptainer"]["steps"][-1]["run"]


def test_every_action_is_pinned_to_a_commit() -> None:
    uses = re.findall(r"uses: (\S+)", WORKFLOW)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses


def test_job_image_tag_is_what_ci_pushes() -> None:
    import htcondor2

    sub = htcondor2.Submit(DEFAULT["build/htcondor/mnist-gpu-docker.sub"])
    workflow = YAML(typ="safe").load(WORKFLOW)
    meta = next(s for s in workflow["jobs"]["image"]["steps"] if s.get("id") == "meta")["with"]
    raw_tag = re.search(r"type=raw,value=([^\s,]+)\n", meta["tags"])
    assert raw_tag, meta["tags"]
    tag = raw_tag.group(1)
    assert sub["container_image"] == f"docker://{meta['images']}:{tag}"


def test_no_expression_injection_from_the_spec() -> None:
    with pytest.raises(ValueError):
        yaml_string("${{ github.event.pull_request.title }}")
    spec_values = [line for line in WORKFLOW.splitlines() if "${{" in line]
    allowed = (
        "github.workflow",
        "github.ref",
        "github.actor",
        "secrets.GITHUB_TOKEN",
        "github.event_name",
        "steps.meta.outputs",
    )
    for line in spec_values:
        assert any(name in line for name in allowed), line


# --- property-based: vary the spec, re-check everything ----------------------------------------

names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
cudas = st.one_of(
    st.integers(min_value=11, max_value=13).map(str),
    st.tuples(st.integers(11, 13), st.integers(0, 9)).map(lambda t: f"{t[0]}.{t[1]}"),
)
platform_sets = st.lists(
    st.sampled_from(["linux-64", "linux-aarch64", "osx-arm64", "osx-64", "win-64"]), min_size=1, unique=True
).map(lambda ps: sorted(set(ps) | {"linux-64"}))
images = st.tuples(names, names).map(lambda t: f"ghcr.io/{t[0]}/{t[1]}")


def random_spec(env: str, cuda: str | None, platforms: list[str], image: str, tag: str, apptainer: bool) -> str:
    cuda_line = f'    cuda: "{cuda}"\n' if cuda else ""
    return (
        f"schema_version: 1\nname: {env}-proj\nworkspace:\n  platforms: [{', '.join(platforms)}]\n"
        f"environments:\n  {env}:\n{cuda_line}    dependencies: {{numpy: '*'}}\n"
        f"container: {{environment: {env}, image: {image}, tag: {tag}, apptainer: {str(apptainer).lower()}}}\n"
        f"pack: {{environment: {env}}}\n"
        f"jobs:\n  run-{env}:\n    runtime: container\n    command: [python, x.py]\n"
        f"    resources: {{gpus: {1 if cuda else 0}}}\n"
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=names, cuda=st.one_of(st.none(), cudas), platforms=platform_sets, image=images, tag=names)
def test_generated_files_parse_for_many_specs(
    tmp_path: Path, env: str, cuda: str | None, platforms: list[str], image: str, tag: str
) -> None:
    import htcondor2

    files = outputs(project_from(random_spec(env, cuda, platforms, image, tag, True), tmp_path))
    parsed = instructions(files["build/Dockerfile"])
    envs = [values for cmd, values, _ in parsed if cmd == "ENV"]
    assert envs == ([("CONDA_OVERRIDE_CUDA", cuda)] if cuda else [])
    assert ("pixi install --locked --environment " + env,) in [v for c, v, _ in parsed if c == "RUN"]
    workflow = YAML(typ="safe").load(files[".github/workflows/pixi-htc.yml"])
    meta = next(step for step in workflow["jobs"]["image"]["steps"] if step.get("id") == "meta")
    assert meta["with"]["images"] == image
    sub = htcondor2.Submit(files[f"build/htcondor/run-{env}.sub"])
    assert sub["container_image"] == f"docker://{image}:{tag}"
    if cuda:
        major, _, minor = cuda.partition(".")
        assert sub["gpus_minimum_runtime"] == f"{int(major)}.{int(minor or 0)}" and "requirements" not in sub


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=names, cuda=st.one_of(st.none(), cudas), image=images, tag=names, apptainer=st.booleans())
def test_linters_stay_clean_for_many_specs(
    tmp_path: Path, env: str, cuda: str | None, image: str, tag: str, apptainer: bool
) -> None:
    files = outputs(project_from(random_spec(env, cuda, ["linux-64"], image, tag, apptainer), tmp_path))
    assert lint_dockerfile(files["build/Dockerfile"], tmp_path) == ""
    assert lint_workflow(files[".github/workflows/pixi-htc.yml"], tmp_path) == []

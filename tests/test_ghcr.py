"""GHCR images are private after their first push (#23, item 6): the workflow says how to make the
package public, and a hold on image pull names that cause first."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pixi_htc.schedulers.htcondor.diagnose import Locator, explain_hold
from pixi_htc.schedulers.htcondor.joblog import read_log
from tests.test_ci_pins import workflow_text
from tests.test_status import FIXTURES, built, compiled_at  # noqa: F401 (built is a fixture)


def test_the_workflow_says_how_to_make_the_package_public() -> None:
    steps = YAML(typ="safe").load(workflow_text())["jobs"]["image"]["steps"]
    names = [step.get("name", step.get("uses", "")) for step in steps]
    push = next(i for i, step in enumerate(steps) if step.get("uses", "").startswith("docker/build-push-action@"))
    notice = next(i for i, step in enumerate(steps) if "public" in str(step.get("name", "")).lower())
    assert push < notice, names
    step = steps[notice]
    assert step["if"] == "github.event_name != 'pull_request'"
    assert step["env"]["IMAGE"] == "ghcr.io/pixi-htc/hello-pytorch"
    assert "${{" not in step["run"], "the image name reaches the script through env"
    assert "::notice" in step["run"] and "Change visibility" in step["run"] and "Public" in step["run"]


def test_an_image_pull_hold_names_the_private_package_first(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    compiled, spec = compiled_at(built, monkeypatch)
    job = next(j for j in compiled.project.jobs if j.name == "mnist-sweep")
    process = read_log(FIXTURES / "holds" / "image.log", "image")[(5000, 0)]
    assert process.held is not None
    finding = explain_hold(compiled.project, job, process, process.held, Locator(spec))
    assert finding.key_path == "container.image"
    message = finding.message
    assert "private" in message and "Change visibility" in message and "anonymously" in message
    assert message.index("private") < message.index("was it pushed?"), "the likelier cause comes first"

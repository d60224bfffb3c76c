"""The cross-key rules: each one fires where it should, and says which keys it read."""

from __future__ import annotations

import pytest

from pixi_htc.spec.building import build_project
from pixi_htc.spec.loader import to_plain
from pixi_htc.spec.problem import Problem
from pixi_htc.spec.rules import cross_key_problems
from tests.test_schema import load_spec_text

# Schema-valid, but breaks one rule per line below.
BROKEN = """\
schema_version: 1
name: demo
site: chtc
workspace: {platforms: [linux-64, osx-arm64], default_environment: gpus}
source: [build/src, a/model, b/model]
environments:
  gpu: {cuda: "12", features: [cpu, gpu, tset]}
  cpu: {}
  mac: {cuda: "12", platforms: [osx-arm64]}
  arm: {platforms: [linux-aarch64]}
  Bad_Name: {}
tasks:
  train: {cmd: python train.py, depends_on: [prepare], environment: gpux}
  empty: {description: nothing to run}
container: {environment: gpux}
pack: {environment: cpu}
jobs:
  a:
    runtime: container
    environment: cpu
    image: docker://x/y:1
    command: [python, "{lr}", "$(Process)"]
    sweep: {rate: [1], process: [2]}
    requirements: ["a) || (b"]
    attributes: {WantGPULab: false, Requirements: "true"}
    inputs: ["data/{rat}.tar.gz"]
  b:
    runtime: pixi-pack
    environment: gpu
    image: x.sif
    command: [python]
    resources: {gpus: 0}
    gpu: {min_capability: 7.0}
    outputs: [c.pt]
    checkpoint: {files: [c.pt]}
  c:
    runtime: container
    environment: nowhere
    command: [python]
"""


# The rules the spec above cannot break at the same time.
BROKEN_TOO = """\
schema_version: 1
name: demo
workspace: {platforms: [linux-64, osx-arm64]}
environments:
  pack: {}
  gpu: {cuda: "12"}
  mac: {platforms: [osx-arm64]}
container: {environment: mac}
pack: {environment: mac, platform: linux-64}
jobs:
  p: {runtime: pixi-pack, environment: mac, command: [x], resources: {gpus: 0}}
  d: {runtime: container, environment: gpu, command: [x]}
  submit: {runtime: container, environment: mac, command: [x, "{a}", "{b}", "{c}"], resources: {gpus: 0},
           sweep: {a: [%s], b: [%s], c: [%s]}}
""" % ((", ".join(map(str, range(50))),) * 3)


def problems(text: str) -> list[Problem]:
    document = to_plain(load_spec_text(text))
    return list(cross_key_problems(build_project(document, spec_path="p.yaml", spec_sha256="0")))


def test_every_rule_fires_where_it_should() -> None:
    found = {(".".join(map(str, problem.path)), problem.message) for problem in problems(BROKEN) + problems(BROKEN_TOO)}
    expected_fragments = [
        ("environments.Bad_Name", "pixi rejects environment name"),
        ("environments.mac.platforms", "a CUDA environment needs a linux platform"),
        ("environments.arm.platforms", "linux-aarch64 not in workspace.platforms"),
        ("tasks.train.depends_on", "task 'prepare' is not defined"),
        ("container.environment", "environment 'gpux' is not defined"),
        ("jobs.a.resources.gpus", "a GPU job needs a CUDA environment"),
        ("jobs.a.command.1", "'{lr}' names no sweep variable"),
        ("jobs.a.command.2", "'$(' is an HTCondor macro"),
        ("jobs.a.sweep.rate", "sweep variable 'rate' is used nowhere"),
        ("jobs.a.sweep.process", "'{process}' is built in"),
        ("jobs.b.environment", "the pixi-pack archive holds only 'cpu'"),
        ("jobs.b.gpu", "GPU constraints on a job that requests no GPU"),
        ("jobs.b.image", "a pixi-pack job runs in the vanilla universe"),
        ("jobs.a.requirements.0", "HTCondor cannot parse it as a ClassAd expression"),
        ("jobs.a.attributes.Requirements", "+Requirements is the job attribute a submit command"),
        ("jobs.a.attributes.WantGPULab", "pixi-htc sets +WantGPULab itself"),
        ("jobs.a.inputs.0", "'{rat}' names no sweep variable; did you mean 'rate'?"),
        ("jobs.c.environment", "environment 'nowhere' is not defined"),
        ("environments.pack", "'pack' is reserved"),
        ("container.environment", "the image is linux-64, and 'mac' is not solved for linux-64"),
        ("pack.platform", "environment 'mac' is not solved for linux-64"),
        ("jobs.d.environment", "the image bakes only 'mac'"),
        ("jobs.submit", "'submit' is reserved"),
        ("workspace.default_environment", "environment 'gpus' is not defined; did you mean 'gpu'?"),
        ("environments.gpu.features.1", "'gpu' is not another environment of this spec"),
        ("environments.gpu.features.2", "'tset' is not another environment of this spec"),
        ("tasks.train.environment", "environment 'gpux' is not defined"),
        ("tasks.empty", "a task needs cmd, or depends_on for an alias"),
        ("source.0", "'build/src' is inside the build directory"),
        ("source.2", "'b/model' and 'a/model' would both arrive as 'model'"),
        ("jobs.submit.sweep", "the sweep has 125,000 combinations; at most 100,000"),
    ]
    for path, fragment in expected_fragments:
        assert any(p == path and m.startswith(fragment) for p, m in found), (path, fragment, sorted(found))


@pytest.mark.parametrize("text", [BROKEN, BROKEN_TOO], ids=["broken", "broken-too"])
def test_every_rule_reads_the_key_it_blames(text: str) -> None:
    """Validation silences a rule that read a key the schema rejected. A rule that forgot to list the
    key it points at would speak about a value the user never wrote; only rules about a key's own
    name (which exists if the rule fires at all) read nothing."""
    for problem in problems(text):
        assert (problem.reads == () and problem.at_key) or any(
            problem.path[: len(read)] == read for read in problem.reads
        ), problem


COMPOSED = """\
schema_version: 1
name: demo
workspace: {default_environment: %s}
environments:
  cuda: {cuda: "12", dependencies: {pytorch-gpu: "*"}}
  test: {feature_only: true, dependencies: {pytest: "*"}%s}
  default: {features: [cuda, test]%s}
container: {environment: %s}
jobs:
  train: {runtime: container, environment: %s, command: [x], resources: {gpus: 1}}
"""


def test_a_default_environment_of_features_solves_with_their_cuda() -> None:
    assert problems(COMPOSED % ("null", "", "", "default", "default")) == []


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        (
            ("null", "", ", dependencies: {numpy: '*'}", "default", "default"),
            [(("environments", "default"), "the default environment's own packages are the workspace's")],
        ),
        (
            ("cuda", "", "", "default", "default"),
            [(("environments", "default"), "say which environment is the default once")],
        ),
        (
            ("null", "", "", "test", "test"),
            [
                (
                    ("container", "environment"),
                    "'test' is feature_only: pixi has no environment of that name to install",
                ),
                (("jobs", "train", "environment"), "'test' is feature_only"),
            ],
        ),
        (
            ("null", ", features: [cuda]", "", "default", "default"),
            [(("environments", "test", "features"), "'features' describes an environment, and 'test' is feature_only")],
        ),
    ],
    ids=["default-with-packages", "default-said-twice", "feature-only-installed", "feature-only-with-features"],
)
def test_composition_rules(fill: tuple[str, ...], expected: list[tuple[tuple[str, ...], str]]) -> None:
    found = [(p.path, p.message) for p in problems(COMPOSED % fill)]
    assert len(found) == len(expected), found
    for (path, message), (want_path, want) in zip(sorted(found), sorted(expected)):
        assert path == want_path and message.startswith(want), (path, message)

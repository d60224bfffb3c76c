"""Bad specs and the exact diagnostic each must produce (file:line:col: error: key.path: message).

Each case is (name, spec text, expected substrings). Every case must exit 2 and leave build/ alone.
"""

from __future__ import annotations

HEAD = "schema_version: 1\nname: demo\n"
ENVS = 'environments:\n  gpu:\n    cuda: "12"\n    dependencies: {pytorch-gpu: "*"}\n'
JOB = "jobs:\n  train:\n    runtime: container\n    command: [python, train.py]\n"


def job(extra: str) -> str:
    return HEAD + ENVS + JOB + extra


CASES: list[tuple[str, str, list[str]]] = [
    ("empty", "", [":1:1: error: the spec is empty"]),
    ("comments-only", "# nothing\n", [":1:1: error: the spec is empty"]),
    ("top-level-list", "- a\n- b\n", [":1:1: error: the top level must be a mapping", "not a list"]),
    ("top-level-scalar", "hello\n", [":1:1: error: the top level must be a mapping"]),
    ("bad-yaml", "name: [unclosed\n", [":2:1: error:", "expected ',' or ']'"]),
    ("tab-indent", "name: demo\n\tschema_version: 1\n", [":2:1: error:"]),
    ("duplicate-key", HEAD + "name: again\n" + ENVS, [':3:1: error: duplicate key "name"']),
    ("missing-version", "name: demo\n" + ENVS, [":1:1: error: missing required key 'schema_version'"]),
    ("wrong-version", "schema_version: 2\nname: demo\n" + ENVS, [":1:17: error: schema_version: must be 1, not 2"]),
    (
        "typo-top-key",
        HEAD + ENVS + "enviroments: {}\n",
        [":7:1: error: enviroments: unknown key 'enviroments'; did you mean 'environments'?"],
    ),
    ("name-upper", "schema_version: 1\nname: Demo\n" + ENVS, [":2:7: error: name: 'Demo' is not valid"]),
    (
        "no-environments",
        HEAD + "environments: {}\njobs:\n  t: {runtime: container, command: [x]}\n",
        [
            ":5:6: error: jobs.t.environment: environment 'gpu' is not defined (the spec defines no environments: define one, "
            "or give the job an image of its own) (this is the default value; set the key in the spec)"
        ],
    ),
    (
        "environments-list",
        HEAD + "environments: [cpu, gpu]\n",
        [":3:15: error: environments: expected a mapping, got a list"],
    ),
    (
        "env-underscore",
        HEAD + 'environments:\n  gpu_env:\n    cuda: "12"\n',
        [":4:3: error: environments.gpu_env: pixi rejects environment name 'gpu_env'", "try 'gpu-env'"],
    ),
    (
        "env-upper",
        HEAD + "environments:\n  GPU: {}\n",
        [":4:3: error: environments.GPU: pixi rejects environment name 'GPU'"],
    ),
    (
        "env-typo-key",
        HEAD + 'environments:\n  gpu:\n    cudaa: "12"\n',
        [":5:5: error: environments.gpu.cudaa: unknown key 'cudaa'; did you mean 'cuda'?"],
    ),
    (
        "cuda-float",
        HEAD + "environments:\n  gpu:\n    cuda: 12.5\n",
        [":5:11: error: environments.gpu.cuda: expected a string or an integer, got a number"],
    ),
    (
        "cuda-text",
        HEAD + "environments:\n  gpu:\n    cuda: twelve\n",
        [":5:11: error: environments.gpu.cuda: 'twelve' is not valid"],
    ),
    (
        "platform-typo",
        HEAD + "workspace:\n  platforms: [linux64]\n" + ENVS,
        [":4:15: error: workspace.platforms[0]: 'linux64' is not allowed; did you mean 'linux-64'?"],
    ),
    (
        "cuda-on-mac",
        HEAD
        + 'workspace:\n  platforms: [osx-arm64]\nenvironments:\n  gpu:\n    cuda: "12"\n    platforms: [osx-arm64]\n',
        [
            "container.environment: the image is linux-64",
            "(this is the default value; set the key in the spec)",
            ":8:16: error: environments.gpu.platforms: a CUDA environment needs a linux platform",
        ],
    ),
    (
        "dep-version-quote",
        HEAD + 'environments:\n  cpu:\n    dependencies: {numpy: ">=1\\"; rm"}\n',
        [":5:27: error: environments.cpu.dependencies.numpy:", "is not valid"],
    ),
    (
        "container-env-missing",
        HEAD + ENVS + "container: {environment: gpux}\n",
        [":7:26: error: container.environment: environment 'gpux' is not defined; did you mean 'gpu'?"],
    ),
    (
        "job-env-missing",
        job("    environment: cpu\n"),
        [":11:18: error: jobs.train.environment: environment 'cpu' is not defined"],
    ),
    (
        "job-runtime-typo",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: containr\n    command: [python]\n",
        [":9:14: error: jobs.train.runtime: 'containr' is not allowed; did you mean 'container'?"],
    ),
    (
        "job-no-command",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: container\n",
        [":9:5: error: jobs.train: missing required key 'command'"],
    ),
    (
        "job-name-underscore",
        HEAD + ENVS + "jobs:\n  my_job:\n    runtime: container\n    command: [x]\n",
        [":8:3: error: jobs.my_job: invalid name 'my_job'"],
    ),
    (
        "gpu-job-cpu-env",
        HEAD + "environments:\n  cpu: {}\ncontainer: {environment: cpu}\n" + JOB,
        [":8:5: error: jobs.train.resources.gpus: a GPU job needs a CUDA environment", "(this is the default value"],
    ),
    (
        "zero-cpus",
        job("    resources: {cpus: 0}\n"),
        [":11:23: error: jobs.train.resources.cpus:", "less than the minimum of 1"],
    ),
    (
        "memory-unit",
        job("    resources: {memory: 2 gigs}\n"),
        [":11:25: error: jobs.train.resources.memory: '2 gigs' is not valid"],
    ),
    (
        "job-length",
        job("    chtc: {job_length: forever}\n"),
        [":11:24: error: jobs.train.chtc.job_length: 'forever' is not allowed", "(allowed: short, medium, long)"],
    ),
    (
        "macro-injection",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: container\n    command: [python, '$(Cluster)']\n",
        [":10:23: error: jobs.train.command[1]: '$(' is an HTCondor macro or shell substitution"],
    ),
    (
        "newline-injection",
        HEAD + ENVS + 'jobs:\n  train:\n    runtime: container\n    command: [python, "a\\nqueue 100"]\n',
        [
            ":10:23: error: jobs.train.command[1]: a value must not contain control characters or line breaks (found '\\n')",
            "1 error(s)",
        ],
    ),
    ("input-comma", job("    inputs: ['a,b']\n"), [":11:14: error: jobs.train.inputs[0]: 'a,b' is not valid"]),
    # src/ sends the directory's entries (HTCondor's form); a second slash is no path.
    (
        "input-trailing-slash",
        job("    inputs: [src//]\n"),
        [":11:14: error: jobs.train.inputs[0]: 'src//' is not valid"],
    ),
    (
        "unknown-placeholder",
        HEAD
        + ENVS
        + "jobs:\n  train:\n    runtime: container\n    command: [python, '{lr}']\n    sweep: {lrate: [1]}\n",
        [
            ":10:23: error: jobs.train.command[1]: '{lr}' names no sweep variable",
            ":11:13: error: jobs.train.sweep.lrate: sweep variable 'lrate' is used nowhere",
        ],
    ),
    (
        "sweep-reserved",
        HEAD
        + ENVS
        + "jobs:\n  train:\n    runtime: container\n    command: [python, '{process}']\n    sweep: {process: [1]}\n",
        [":11:13: error: jobs.train.sweep.process: '{process}' is built in"],
    ),
    (
        "sweep-value-space",
        HEAD
        + ENVS
        + "jobs:\n  train:\n    runtime: container\n    command: [python, '{lr}']\n    sweep: {lr: ['a b']}\n",
        [":11:18: error: jobs.train.sweep.lr[0]: 'a b' is not valid"],
    ),
    (
        "image-injection",
        job('    image: "docker://evil\\nqueue"\n'),
        [":11:12: error: jobs.train.image:", "must not contain control characters"],
    ),
    (
        "workflow-expression",
        HEAD + ENVS + "ci: {branches: ['${{ github.token }}']}\n",
        [":7:17: error: ci.branches[0]:", "is not valid"],
    ),
    (
        "pack-on-cpu",
        HEAD
        + 'environments:\n  gpu:\n    cuda: "12"\n    platforms: [linux-64]\n'
        + "pack: {environment: gpu, platform: osx-arm64}\njobs:\n  p:\n    runtime: pixi-pack\n    command: [x]\n",
        [":7:36: error: pack.platform: environment 'gpu' is not solved for osx-arm64"],
    ),
    (
        "pack-job-image",
        HEAD + ENVS + "jobs:\n  p:\n    runtime: pixi-pack\n    command: [x]\n    image: a.sif\n",
        [":11:5: error: jobs.p.image: a pixi-pack job runs in the vanilla universe"],
    ),
    # Schema errors and cross-key errors in one run; a rule that would read a rejected value stays quiet.
    (
        "schema-and-cross-key",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: container\n    command: [python, '{lr}']\n    resourcs: {}\n",
        [
            ":10:23: error: jobs.train.command[1]: '{lr}' names no sweep variable",
            ":11:5: error: jobs.train.resourcs: unknown key",
            "2 error(s); nothing was written.",
        ],
    ),
    (
        "bad-name-and-cross-key",
        "schema_version: 1\nname: Demo\n" + ENVS + "jobs:\n  train:\n    runtime: container\n    command: ['{lr}']\n",
        [":2:7: error: name:", ":10:15: error: jobs.train.command[0]: '{lr}' names no sweep variable", "2 error(s)"],
    ),
    (
        "no-name-and-cross-key",
        "schema_version: 1\n" + ENVS + "jobs:\n  train:\n    runtime: container\n    command: ['$(Process)']\n",
        [":1:1: error: missing required key 'name'", ":9:15: error: jobs.train.command[0]: '$('", "2 error(s)"],
    ),
    (
        "cuda-text-no-follow-on",
        HEAD + "environments:\n  gpu:\n    cuda: twelve\n" + JOB,
        [":5:11: error: environments.gpu.cuda: 'twelve' is not valid", "1 error(s); nothing was written."],
    ),
    (
        "workspace-typo-no-follow-on",
        HEAD + "workspace:\n  platforms: [linux64]\nenvironments:\n  cpu:\n    platforms: [linux-64, linux-aarch64]\n"
        "container: {environment: cpu}\n",
        [":4:15: error: workspace.platforms[0]:", "1 error(s); nothing was written."],
    ),
    (
        "rejected-job-no-follow-on",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: containr\n    command: ['{x}']\n",
        [":9:14: error: jobs.train.runtime: 'containr' is not allowed", "1 error(s); nothing was written."],
    ),
    (
        "many-errors",
        "schema_version: 1\nname: Demo\nenvironments: {gpu: {cudaa: 1}}\nbogus: 1\n",
        [":2:7: error: name:", ":3:22: error: environments.gpu.cudaa: unknown key", ":4:1: error: bogus: unknown key"],
    ),
    # Issue #10 (hostile review). A trailing newline passed every `$`-anchored pattern; now no key or
    # value may hold a control character, and every pattern is anchored at the true end.
    (
        "newline-environment-key",
        HEAD + 'environments:\n  "gpu\\n": {}\n',
        [":4:3: error: environments.gpu\\n: a key must not contain control characters", "1 error(s)"],
    ),
    (
        "newline-dependency-key",
        HEAD + 'environments:\n  gpu:\n    dependencies: {"numpy\\n": "*"}\n',
        [":5:20: error: environments.gpu.dependencies.numpy\\n: a key must not contain control characters"],
    ),
    (
        "newline-task-key",
        HEAD + ENVS + 'tasks:\n  "train\\n": python x.py\n',
        [":8:3: error: tasks.train\\n: a key must not contain control characters"],
    ),
    (
        "newline-job-key",
        HEAD + ENVS + 'jobs:\n  "j\\n": {runtime: container, command: [x]}\n',
        [":8:3: error: jobs.j\\n: a key must not contain control characters"],
    ),
    (
        "newline-pixi-image",
        HEAD + ENVS + 'container: {pixi_image: "ghcr.io/prefix-dev/pixi:0.77.0-noble\\n"}\n',
        [":7:25: error: container.pixi_image: a value must not contain control characters"],
    ),
    (
        "newline-workflow",
        HEAD + ENVS + 'ci: {workflow: "pixi-htc.yml\\n"}\n',
        [":7:16: error: ci.workflow: a value must not"],
    ),
    (
        "unicode-line-separator",
        HEAD + ENVS + 'description: "one\\u2028two"\n',
        [":7:14: error: description:", "'\\u2028'"],
    ),
    ("yaml-tag", HEAD + ENVS + JOB + "    inputs: !!set {a, b}\n", [":11:13: error: YAML tags are not allowed"]),
    (
        "yaml-directive",
        "%YAML 1.1\n---\n" + HEAD + ENVS,
        [":1:1: error: YAML directives (%YAML, %TAG) are not allowed"],
    ),
    (
        "nan-capability",
        job("    gpu: {min_capability: .nan}\n"),
        [":11:27: error: jobs.train.gpu.min_capability: nan is not a number"],
    ),
    (
        "inf-argument",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: container\n    command: [python, .inf]\n",
        [":10:23: error: jobs.train.command[1]: inf is not a number"],
    ),
    (
        "integer-key",
        HEAD + ENVS + "tasks:\n  1: python x.py\n  '1': python y.py\n",
        [":8:3: error: tasks.1: key 1 must be a string"],
    ),
    (
        "date-value",
        HEAD + ENVS + "version: 2024-01-01\n",
        [":7:10: error: version: only strings, numbers", "(this is a date)"],
    ),
    (
        "dotdot-in-input",
        job("    inputs: [src/../../../etc/passwd]\n"),
        [":11:14: error: jobs.train.inputs[0]: 'src/../../../etc/passwd' is not valid"],
    ),
    ("dotdot-after-archive", job("    inputs: [a.tar.gz/../../x.tar.gz]\n"), [":11:14: error: jobs.train.inputs[0]:"]),
    (
        "job-named-submit",
        HEAD + ENVS + "jobs:\n  submit: {runtime: container, command: [x]}\n",
        [":8:3: error: jobs.submit: 'submit' is reserved"],
    ),
    (
        "job-named-interact",
        HEAD + ENVS + "jobs:\n  interact: {runtime: container, command: [x]}\n",
        [":8:3: error: jobs.interact: 'interact' is reserved"],
    ),
    (
        "sweep-too-many-rows",
        HEAD
        + ENVS
        + "jobs:\n  train:\n    runtime: container\n    command: [x, "
        + ", ".join(f"'{{v{i}}}'" for i in range(10))
        + "]\n    sweep:\n"
        + "".join(f"      v{i}: [{', '.join(str(n) for n in range(10))}]\n" for i in range(10)),
        [":12:7: error: jobs.train.sweep: the sweep has 10,000,000,000 combinations; at most 100,000 per job"],
    ),
    (
        "sweep-named-cluster",
        HEAD + ENVS + "jobs:\n  train:\n    runtime: container\n    command: [x, '{cluster}']\n"
        "    sweep: {cluster: [1]}\n",
        [":11:13: error: jobs.train.sweep.cluster: '{cluster}' is built in"],
    ),
    # Issue #12: Apptainer runtime and staging.
    (
        "apptainer-docker-image",
        job("    image: docker://nvcr.io/nvidia/pytorch:24.01-py3\n").replace(
            "runtime: container", "runtime: apptainer"
        ),
        [":11:12: error: jobs.train.image: runtime apptainer runs a .sif", "use runtime: container"],
    ),
    (
        "apptainer-without-sif-build",
        job("container: {apptainer: false}\n").replace("runtime: container", "runtime: apptainer"),
        [":11:24: error: container.apptainer: job 'train' runs the project's .sif"],
    ),
    (
        "staging-generic-no-url",
        job("staging: {directory: /staging/a/alice}\n"),
        [":11:10: error: staging: site generic has no known staging", "set staging.url (osdf:///...)"],
    ),
    (
        "staging-chtc-elsewhere",
        "schema_version: 1\nname: demo\nsite: chtc\n" + ENVS + JOB + "staging: {directory: /home/alice}\n",
        [":12:10: error: staging: site chtc stages under /staging/<letter>/<netid>"],
    ),
    (
        "staging-dotdot",
        job("staging: {directory: /staging/a/../../etc, url: osdf:///x}\n"),
        [":11:22: error: staging.directory: '/staging/a/../../etc' is not valid"],
    ),
    (
        "staging-relative",
        job("staging: {directory: staging/a}\n"),
        [":11:22: error: staging.directory: 'staging/a' is not valid"],
    ),
]

"""`pixi-htc init`: a first specs/project.yaml for a repository, from scratch or moved in from an
existing pixi manifest (pixi.toml, or pyproject.toml's [tool.pixi]) or HTCondor submit file.

Whatever the source says that the spec cannot say is listed, both in the new spec's header and on
the terminal: moving in never loses something silently.
"""

from __future__ import annotations

import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .errors import UsageError
from .resources import project_schema

SCHEMA_FILE = "project.schema.json"
SLUG = re.compile(r"[a-z][a-z0-9-]{0,62}")
SIZE_UNITS = (("TB", 1024 ** 4), ("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024))


@dataclass
class Draft:
    """The spec being written, and what the source said that it does not carry."""

    spec: dict[str, Any]
    lost: list[str] = field(default_factory=list)

    def keep(self, source: dict[str, Any], key: str, target: dict[str, Any]) -> None:
        if key in source:
            target[key.replace("-", "_")] = source[key]

    def lose(self, where: str, keys: Any) -> None:
        self.lost.extend(f"{where}{key}" for key in sorted(keys))


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    text = text if text[:1].isalpha() else f"p-{text}"
    return text[:63] or "project"


# --- from a pixi manifest ---------------------------------------------------------------------------

TASK_KEYS = {"cmd": "cmd", "description": "description", "depends-on": "depends_on", "cwd": "cwd", "env": "env",
             "inputs": "inputs", "outputs": "outputs", "args": "args"}
PART_KEYS = ("dependencies", "pypi-dependencies", "activation", "target")


def _part(draft: Draft, table: dict[str, Any], target: dict[str, Any], where: str) -> None:
    """dependencies, pypi-dependencies, activation and target tables, shared by the workspace and features."""
    for key in ("dependencies", "pypi-dependencies"):
        if key in table:
            target[key.replace("-", "_")] = dict(table[key])
    if "activation" in table:
        target["activation"] = dict(table["activation"])
    for platform, body in table.get("target", {}).items():
        entry: dict[str, Any] = {}
        _part(draft, {k: v for k, v in body.items() if k != "target"}, entry, f"{where}target.{platform}.")
        draft.lose(f"{where}target.{platform}.", set(body) - set(PART_KEYS))
        target.setdefault("target", {})[platform] = entry


def _tasks(draft: Draft, tasks: dict[str, Any], out: dict[str, Any], where: str, environment: str | None) -> None:
    for name, body in tasks.items():
        if isinstance(body, str) and environment is None:
            out[name] = body
            continue
        body = {"cmd": body} if isinstance(body, str) else body
        task = {TASK_KEYS[k]: v for k, v in body.items() if k in TASK_KEYS}
        if isinstance(task.get("depends_on"), str):
            task["depends_on"] = [task["depends_on"]]
        if isinstance(task.get("cmd"), list):
            task["cmd"] = " ".join(task["cmd"])
        if environment is not None:
            task["environment"] = environment
        draft.lose(f"{where}tasks.{name}.", set(body) - set(TASK_KEYS))
        out[name] = task


def from_pixi(manifest: Path) -> Draft:
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{manifest}: not TOML: {error}") from error
    if manifest.name == "pyproject.toml":
        data = data.get("tool", {}).get("pixi", {})
    head = data.get("workspace") or data.get("project") or {}
    # source: [] until the user names their code (the bundled trainer is not theirs to carry).
    draft = Draft({"schema_version": 1, "name": slug(str(head.get("name", manifest.resolve().parent.name))), "source": []})
    spec, ws = draft.spec, {}
    for key in ("version", "description"):
        draft.keep(head, key, spec)
    for key in ("channels", "authors", "license", "homepage", "repository", "documentation", "requires-pixi"):
        draft.keep(head, key, ws)
    platforms = _platforms(draft, head.get("platforms", []), ws)
    draft.lose("workspace.", set(head) - {"name", "version", "description", "channels", "platforms", "authors", "license",
                                         "homepage", "repository", "documentation", "requires-pixi"})
    ws.setdefault("dependencies", {})  # an empty default feature stays empty (the spec's default is python)
    _part(draft, data, ws, "")
    if "pypi-options" in data:
        ws["pypi_options"] = {k.replace("-", "_"): v for k, v in data["pypi-options"].items()
                              if k in ("index-url", "extra-index-urls")}
        draft.lose("pypi-options.", set(data["pypi-options"]) - {"index-url", "extra-index-urls"})
    _system_requirements(draft, data.get("system-requirements", {}), ws, "system-requirements.")
    selected = {name for feature in data.get("feature", {}).values() for name in feature.get("platforms", [])}
    ws_cuda = {cuda for name, (_, cuda) in platforms.items() if cuda and name not in selected}
    if "cuda" in data.get("system-requirements", {}):
        ws_cuda.add(str(data["system-requirements"]["cuda"]))
    if len(ws_cuda) == 1:
        ws["cuda"] = ws_cuda.pop()
    draft.lose("workspace.platforms: ", [f"{cuda} (one CUDA for the workspace)" for cuda in sorted(ws_cuda)])
    spec["workspace"] = ws

    environments: dict[str, Any] = {}
    for name, feature in data.get("feature", {}).items():
        env: dict[str, Any] = {}
        _part(draft, feature, env, f"feature.{name}.")
        draft.keep(feature, "channels", env)
        if "platforms" in feature:
            chosen = [platforms.get(p, (p, None)) for p in feature["platforms"]]
            if [subdir for subdir, _ in chosen] != ws["platforms"]:
                env["platforms"] = [subdir for subdir, _ in chosen]
            cudas = sorted({cuda for _, cuda in chosen if cuda})
            if cudas:
                env["cuda"] = cudas[0]
            draft.lose(f"feature.{name}.platforms: ", [f"cuda {cuda} (one CUDA per environment)" for cuda in cudas[1:]])
        if "cuda" in feature.get("system-requirements", {}):
            env["cuda"] = str(feature["system-requirements"]["cuda"])
        draft.lose(f"feature.{name}.system-requirements.", set(feature.get("system-requirements", {})) - {"cuda"})
        _tasks(draft, feature.get("tasks", {}), spec.setdefault("tasks", {}), f"feature.{name}.", name)
        draft.lose(f"feature.{name}.", set(feature) - {*PART_KEYS, "channels", "platforms", "system-requirements", "tasks"})
        environments[name] = env
    for name, composition in data.get("environments", {}).items():
        table = {"features": composition} if isinstance(composition, list) else dict(composition)
        features = list(table.get("features", []))
        if name == "default":
            if len(features) == 1:
                ws["default_environment"] = features[0]
            else:
                draft.lose("environments.", ["default (a default environment of several features)"])
            continue
        env = environments.setdefault(name, {})
        others = [f for f in features if f != name]
        if others:
            env["features"] = others
        if "solve-group" in table:
            env["solve_group"] = table["solve-group"]
        if table.get("no-default-feature"):
            env["no_default_feature"] = True
    if environments:
        spec["environments"] = environments
        if "gpu" not in environments:
            spec["container"] = {"environment": next(iter(environments))}
    _tasks(draft, data.get("tasks", {}), spec.setdefault("tasks", {}), "", None)
    if not spec["tasks"]:
        del spec["tasks"]
    draft.lose("", set(data) - {"workspace", "project", *PART_KEYS, "pypi-options", "system-requirements", "feature",
                                "environments", "tasks"})
    return draft


SYSTEM_KEYS = {"glibc": "glibc", "linux": "linux", "macos": "macos", "osx": "macos", "windows": "windows"}


def _platforms(draft: Draft, entries: list[Any], ws: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """`[workspace].platforms`, plain subdirs or pixi >= 0.71 tables: the subdirs go to
    workspace.platforms, glibc/linux/macos/windows to workspace.system_requirements. Returns each
    entry's name with its subdir and CUDA, for the features that select entries by name."""
    named: dict[str, tuple[str, str | None]] = {}
    subdirs: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            subdir, cuda, name = entry, None, entry
        else:
            subdir = str(entry.get("platform", entry.get("name")))
            name = str(entry.get("name", subdir))
            cuda = entry.get("cuda")
            if isinstance(cuda, dict):
                draft.lose(f"workspace.platforms.{name}.cuda.", ["arch (pixi-htc derives it from the jobs' gpu.min_capability)"]
                           if "arch" in cuda else [])
                cuda = cuda.get("driver")
            _system_requirements(draft, {k: v for k, v in entry.items() if k in SYSTEM_KEYS}, ws, f"workspace.platforms.{name}.")
            draft.lose(f"workspace.platforms.{name}.", set(entry) - {"name", "platform", "cuda", *SYSTEM_KEYS})
        named[name] = (subdir, None if cuda is None else str(cuda))
        if subdir not in subdirs:
            subdirs.append(subdir)
    if entries:
        ws["platforms"] = subdirs
    return named


def _system_requirements(draft: Draft, table: dict[str, Any], ws: dict[str, Any], where: str) -> None:
    """Virtual packages other than CUDA: one version each, for the whole workspace."""
    wanted = dict(table)
    libc = wanted.pop("libc", None)
    if libc is not None:
        wanted["glibc"] = libc if isinstance(libc, str) else libc.get("version")
    for key, value in wanted.items():
        if key not in SYSTEM_KEYS or value is None:
            continue
        have = ws.setdefault("system_requirements", {})
        if have.setdefault(SYSTEM_KEYS[key], str(value)) != str(value):
            draft.lose(where, [f"{key} {value} (the workspace declares {have[SYSTEM_KEYS[key]]})"])
    draft.lose(where, set(wanted) - {*SYSTEM_KEYS, "cuda"})


# --- from an HTCondor submit file ----------------------------------------------------------------

def from_submit(path: Path) -> Draft:
    import htcondor2

    try:
        sub = htcondor2.Submit(path.read_text(encoding="utf-8"))
    except Exception as error:  # htcondor2 raises plain exceptions for parse errors
        raise UsageError(f"{path}: HTCondor cannot parse it: {error}") from error
    commands = {key.lower(): sub[key] for key in sub.keys()}
    draft = Draft({"schema_version": 1, "name": slug(path.stem), "source": []})
    job: dict[str, Any] = {}
    image = commands.pop("container_image", None) or commands.pop("docker_image", None)
    universe = commands.pop("universe", "container" if image else "vanilla").lower()
    job["runtime"] = "container" if image or universe in ("container", "docker") else "pixi-pack"
    if image:
        job["image"] = image if "://" in image or image.endswith(".sif") else f"docker://{image}"
    executable = commands.pop("executable", "")
    arguments = commands.pop("arguments", "").strip('"').split()
    job["command"] = [executable, *arguments] if executable else arguments or ["true"]
    for key, target in (("transfer_input_files", "inputs"), ("transfer_output_files", "outputs")):
        if key in commands:
            job[target] = [p.strip() for p in commands.pop(key).split(",") if p.strip()]
    resources: dict[str, Any] = {}
    for key in ("cpus", "gpus"):
        if f"request_{key}" in commands:
            resources[key] = int(commands.pop(f"request_{key}"))
    for key in ("memory", "disk"):
        if f"request_{key}" in commands:
            resources[key] = _with_unit(commands.pop(f"request_{key}"), "MB" if key == "memory" else "KB")
    job["resources"] = resources
    gpu: dict[str, Any] = {}
    if "gpus_minimum_capability" in commands:
        gpu["min_capability"] = float(commands.pop("gpus_minimum_capability"))
    if "gpus_minimum_memory" in commands:
        gpu["min_memory"] = _with_unit(commands.pop("gpus_minimum_memory"), "MB")
    clauses = []
    for clause in _clauses(commands.pop("requirements", "")):
        driver = re.fullmatch(r"\(?\s*(?:GPUs_DriverVersion|CUDADriverVersion)\s*>=\s*([0-9]+(?:\.[0-9]+)?)\s*\)?", clause)
        if driver:
            gpu["driver"] = driver.group(1) if "." in driver.group(1) else f"{driver.group(1)}.0"
        elif clause.replace(" ", "") != "(OpSysMajorVer>7)":
            clauses.append(clause)
    if gpu:
        job["gpu"] = gpu
    if clauses:
        job["requirements"] = clauses
    if "checkpoint_exit_code" in commands:
        job["checkpoint"] = {"exit_code": int(commands.pop("checkpoint_exit_code")),
                             "files": [p.strip() for p in commands.pop("transfer_checkpoint_files", "").split(",") if p.strip()]}
    attributes = {key[3:]: sub[key] for key in sub.keys() if key.lower().startswith("my.")}
    for key in [k for k in commands if k.startswith("my.")]:
        del commands[key]
    _site(draft, job, attributes)
    if attributes:
        job["attributes"] = {k: _classad(v) for k, v in attributes.items()}
    if "environment" in commands:
        job["env"] = dict(pair.split("=", 1) for pair in commands.pop("environment").strip('"').split() if "=" in pair)
    for key in ("stream_output", "stream_error"):
        if key in commands:
            job[key] = commands.pop(key).lower() == "true"
    for key in ("on_exit_hold", "periodic_release", "batch_name"):
        if key in commands:
            job[key] = commands.pop(key)
    if "max_retries" in commands:
        job["max_retries"] = int(commands.pop("max_retries"))
    generated = {"log", "output", "error", "should_transfer_files", "when_to_transfer_output", "transfer_output_remaps"}
    draft.lose(f"{path.name}: ", set(commands) - generated)
    if sub.getQArgs().strip() not in ("", "1"):
        draft.lost.append(f"{path.name}: queue {sub.getQArgs().strip()} (write it as a sweep)")
    draft.spec["jobs"] = {slug(path.stem): job}
    return draft


def _with_unit(value: str, unit: str) -> str:
    text = value.strip().upper().removesuffix("B")
    if text.isdigit():
        return f"{text}{unit}"
    number, suffix = text[:-1], text[-1:]
    return f"{number}{suffix}B" if number.isdigit() and suffix in "KMGT" else value


def _clauses(expression: str) -> list[str]:
    """Top-level && clauses of a requirements expression."""
    parts, depth, current = [], 0, ""
    for index, char in enumerate(expression):
        depth += (char == "(") - (char == ")")
        if depth == 0 and expression.startswith("&&", index):
            parts.append(current)
            current = ""
            continue
        if not (depth == 0 and current == "" and char == "&"):
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _classad(value: str) -> Any:
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text[1:-1].replace('\\"', '"') if text.startswith('"') and text.endswith('"') else text


def _site(draft: Draft, job: dict[str, Any], attributes: dict[str, str]) -> None:
    """CHTC's and the OSPool's attributes become the site and its keys."""
    chtc = {k: attributes.pop(k) for k in ("WantGPULab", "GPUJobLength", "is_resumable") if k in attributes}
    ospool = {} if chtc else {k: attributes.pop(k) for k in ("JobDurationCategory", "ProjectName") if k in attributes}
    if chtc:
        draft.spec["site"] = "chtc"
        job["chtc"] = {"gpu_lab": _classad(chtc.get("WantGPULab", "true")) is True}
        if "GPUJobLength" in chtc:
            job["chtc"]["job_length"] = _classad(chtc["GPUJobLength"])
        if "is_resumable" in chtc:
            job["chtc"]["resumable"] = _classad(chtc["is_resumable"]) is True
    elif ospool:
        draft.spec["site"] = "ospool"
        job["ospool"] = {}
        if "JobDurationCategory" in ospool:
            job["ospool"]["duration"] = str(_classad(ospool["JobDurationCategory"])).lower()
        if "ProjectName" in ospool:
            job["ospool"]["project"] = _classad(ospool["ProjectName"])


# --- writing -------------------------------------------------------------------------------------

def starter() -> Draft:
    """A spec for the bundled MNIST trainer, the quick start of the README."""
    trainer = ["python", "src/torch_MNIST.py", "--data-dir", "data", "--epochs", 14, "--save-model"]
    return Draft({
        "schema_version": 1, "name": "hello-pytorch", "site": "chtc",
        "workspace": {"channels": ["conda-forge"], "platforms": ["linux-64", "osx-arm64", "win-64"],
                      "dependencies": {"python": ">=3.12,<3.14"}},
        "environments": {"cpu": {"dependencies": {"pytorch-cpu": ">=2.7.0,<3", "torchvision": "*"}},
                         "gpu": {"cuda": "12", "target": {"linux-64": {"dependencies": {"pytorch-gpu": ">=2.7.0,<3",
                                                                                       "torchvision": "*"}}}}},
        "container": {"environment": "gpu", "image": "ghcr.io/my-lab/hello-pytorch"},
        "jobs": {"mnist-gpu": {"runtime": "container", "command": trainer, "inputs": ["build/MNIST_data.tar.gz"],
                               "outputs": ["mnist_cnn.pt"]}},
    })


def render(draft: Draft, origin: str) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 120
    body = io.StringIO()
    yaml.dump(draft.spec, body)
    lines = [f"# yaml-language-server: $schema={SCHEMA_FILE}",
             f"# Written by `pixi-htc init` from {origin}. Edit it, then `pixi-htc build`;",
             "# `pixi-htc schema` describes every key (the README has a tour)."]
    if draft.lost:
        lines.append("# Not carried over (say it in the spec another way, or drop it):")
        lines.extend(f"#   {item}" for item in draft.lost)
    return "\n".join(lines) + "\n" + body.getvalue()


def init(spec_path: Path, source: Path | None) -> list[str]:
    """Write the spec (and the schema beside it, for editors); return what was not carried."""
    schema_path = spec_path.parent / SCHEMA_FILE
    for path in (spec_path, schema_path):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} exists; pixi-htc init never overwrites (move it away first)")
    if source is None:
        draft, origin = starter(), "the bundled MNIST example"
    elif source.name.endswith(".sub"):
        draft, origin = from_submit(source), source.name
    elif source.name in ("pixi.toml", "pyproject.toml"):
        draft, origin = from_pixi(source), source.name
    else:
        raise UsageError(f"--from {source}: give a pixi.toml, a pyproject.toml or an HTCondor .sub file")
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(render(draft, origin), encoding="utf-8")
    schema_path.write_text(json.dumps(project_schema(), indent=2) + "\n", encoding="utf-8")
    return draft.lost

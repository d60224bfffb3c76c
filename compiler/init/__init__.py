"""`pixi-htc init`: a first specs/project.yaml for a repository, from scratch or moved in from an
existing pixi manifest (pixi.toml, or pyproject.toml's [tool.pixi]) or HTCondor submit file.

Whatever the source says that the spec cannot say is listed, both in the new spec's header and on
the terminal: moving in never loses something silently.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from ruamel.yaml import YAML

from ..errors import UsageError
from ..resources import project_schema
from .draft import Draft
from .from_pixi import from_pixi
from .from_submit import from_submit

SCHEMA_FILE = "project.schema.json"


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
    _refuse_to_overwrite(spec_path, schema_path)
    if source is None:
        draft, origin = starter(), "the bundled MNIST example"
    elif source.name.endswith(".sub"):
        draft, origin = from_submit(source, _beside(spec_path)), source.name
    elif source.name in ("pixi.toml", "pyproject.toml"):
        draft, origin = from_pixi(source), source.name
    else:
        raise UsageError(f"--from {source}: give a pixi.toml, a pyproject.toml or an HTCondor .sub file")
    _refuse_to_overwrite(*map(Path, draft.files))
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(render(draft, origin), encoding="utf-8")
    schema_path.write_text(json.dumps(project_schema(), indent=2) + "\n", encoding="utf-8")
    for name, text in draft.files.items():
        Path(name).write_text(text, encoding="utf-8")
    return draft.lost


def _refuse_to_overwrite(*paths: Path) -> None:
    for path in paths:
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} exists; pixi-htc init never overwrites (move it away first)")


def _beside(spec_path: Path) -> str:
    """The spec's directory relative to the project root (here), where init writes files it names."""
    relative = os.path.relpath(spec_path.parent.resolve(), Path.cwd().resolve()).replace(os.sep, "/")
    return "" if relative == "." or relative.startswith("..") else f"{relative}/"

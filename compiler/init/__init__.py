"""`pixi-htc init`: a first specs/project.yaml for a repository, from scratch or moved in from an
existing pixi manifest (pixi.toml, or pyproject.toml's [tool.pixi]) or HTCondor submit file.

Whatever the source says that the spec cannot say is listed, both in the new spec's header and on
the terminal: moving in never loses something silently.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, link_inside, read_bytes, shown
from ..core.resources import project_schema
from .draft import Draft
from .from_pixi import from_pixi
from .from_slurm import from_slurm
from .from_submit import from_submit
from .places import project_root

PIXI_MANIFESTS = ("pixi.toml", "pyproject.toml")

SCHEMA_FILE = "project.schema.json"


def starter() -> Draft:
    """A spec for the bundled MNIST trainer, the quick start of the README."""
    trainer = ["python", "src/torch_MNIST.py", "--data-dir", "data", "--epochs", 14, "--save-model"]
    return Draft(
        {
            "schema_version": 1,
            "name": "hello-pytorch",
            "site": "chtc",
            "workspace": {
                "channels": ["conda-forge"],
                "platforms": ["linux-64", "osx-arm64", "win-64"],
                "dependencies": {"python": ">=3.12,<3.14"},
            },
            "environments": {
                "cpu": {"dependencies": {"pytorch-cpu": ">=2.7.0,<3", "torchvision": "*"}},
                "gpu": {
                    "cuda": "12",
                    "target": {"linux-64": {"dependencies": {"pytorch-gpu": ">=2.7.0,<3", "torchvision": "*"}}},
                },
            },
            "container": {"environment": "gpu", "image": "ghcr.io/my-lab/hello-pytorch"},
            "jobs": {
                "mnist-gpu": {
                    "runtime": "container",
                    "command": trainer,
                    "inputs": ["build/MNIST_data.tar.gz"],
                    "outputs": ["mnist_cnn.pt"],
                }
            },
        }
    )


# Characters a YAML 1.1 reader takes for a line break (U+0085, U+2028, U+2029), a CR, and other
# controls: ruamel writes them raw in plain and single-quoted scalars (and folds the line at a
# U+0085), so a value holding one is written double-quoted, where each is an escape (\N, \L, \x1b).
_RAW_IN_YAML = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class _Representer(RoundTripRepresenter):
    def represent_str(self, data: str) -> ScalarNode:
        if _RAW_IN_YAML.search(data):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return super().represent_str(data)


_Representer.add_representer(str, _Representer.represent_str)


def render(draft: Draft, origin: str) -> str:
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.default_flow_style = False
    yaml.width = 120
    body = io.StringIO()
    yaml.dump(_with_origins(draft.spec, draft.origins), body)
    # Every foreign piece of text in a comment goes through shown(): a line break (\n, \r, U+2028,
    # U+0085) in a key or file name would end the comment and make the rest live YAML.
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_FILE}",
        f"# Written by `pixi-htc init` from {shown(origin)}. Edit it, then `pixi-htc build`;",
        "# `pixi-htc schema` describes every key (the README has a tour).",
    ]
    if draft.lost:
        lines.append("# Not carried over (say it in the spec another way, or drop it):")
        lines.extend(f"#   {shown(item, 400)}" for item in draft.lost)
    return "\n".join(lines) + "\n" + body.getvalue()


def _with_origins(spec: dict[str, Any], origins: dict[tuple[str, ...], str]) -> CommentedMap:
    """The spec with `# from <file>:<line>` after each key init moved in (compiler/origins.py reads
    them back into error messages); the location goes through shown(), so it stays one comment."""

    def commented(value: Any) -> Any:
        if isinstance(value, dict):
            return CommentedMap((k, commented(v)) for k, v in value.items())
        return CommentedSeq(commented(v) for v in value) if isinstance(value, list) else value

    out = commented(spec)
    for path, where in sorted(origins.items(), key=lambda item: len(item[0]), reverse=True):
        node = out
        for step in path[:-1]:
            node = node.get(step) if isinstance(node, CommentedMap) else None
        if isinstance(node, CommentedMap) and path[-1] in node:
            node.yaml_add_eol_comment(f"# from {shown(where, 200)}", path[-1])
    return out


def default_spec_path(start: Path) -> Path:
    """specs/project.yaml at the project root (the repository's top), wherever init runs: build/
    and .github/workflows/ go beside the spec's directory, and GitHub reads workflows only there."""
    return project_root(start) / "specs" / "project.yaml"


def init(spec_path: Path, source: Path | None) -> list[str]:
    """Write the spec (and the schema beside it, for editors); return what was not carried."""
    root = project_root(Path.cwd())
    schema_path = spec_path.parent / SCHEMA_FILE
    _refuse_to_overwrite(spec_path, schema_path)
    if source is None:
        draft, origin = starter(), "the bundled MNIST example"
    elif _is_pixi_manifest(source):
        draft, origin = from_pixi(source), source.name
    elif _is_slurm_script(source):
        draft, origin = from_slurm(source, root), source.name
    else:
        draft, origin = from_submit(source, _beside(spec_path, root), root), source.name
    _refuse_to_overwrite(*(root / name for name in draft.files))
    _write_new(spec_path, render(draft, origin))
    _write_new(schema_path, json.dumps(project_schema(), indent=2) + "\n")
    for name, text in draft.files.items():
        _write_new(root / name, text)
    return [shown(item, 400) for item in draft.lost]


def _is_pixi_manifest(source: Path) -> bool:
    """pixi.toml and pyproject.toml by name (pixi's own rule); anything else is read as a submit
    description, whatever its name (.sub, .submit, .cmd, .condor, .jdl, none)."""
    return source.name in PIXI_MANIFESTS or source.suffix == ".toml"


def _is_slurm_script(source: Path) -> bool:
    """A Slurm batch script by its content (#SBATCH lines), whatever its name."""
    try:
        head = read_bytes(source, 64 * 1024)
    except ForeignFileError as error:
        raise UsageError(f"--from {shown(source)}: {error}") from error
    assert head is not None
    return re.search(rb"(?m)^#SBATCH\s", head.data) is not None


def _write_new(path: Path, text: str) -> None:
    """Create a file that does not exist, never through a symbolic link: not the file, not a
    directory on the way to it (inside the working directory), not one made since the check."""
    _refuse_links(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_links(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise UsageError(f"{shown(path)} exists; pixi-htc init never overwrites (move it away first)") from None
    except OSError as error:
        raise UsageError(f"cannot write {shown(path)}: {error.strerror}") from error
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _refuse_links(path: Path) -> None:
    here = Path.cwd()
    inside = Path(os.path.abspath(path)).is_relative_to(here)
    try:
        link_inside(path, here if inside else None)
        if not inside:
            link_inside(path.parent, None)
    except ForeignFileError as error:
        raise UsageError(f"{shown(path)} {error}; pixi-htc never writes through one") from error


def _refuse_to_overwrite(*paths: Path) -> None:
    for path in paths:
        if path.exists() or path.is_symlink():
            raise UsageError(f"{shown(path)} exists; pixi-htc init never overwrites (move it away first)")
        _refuse_links(path)


def _beside(spec_path: Path, root: Path) -> str:
    """The spec's directory relative to the project root, where init writes files it names."""
    relative = os.path.relpath(spec_path.parent.resolve(), root.resolve()).replace(os.sep, "/")
    return "" if relative == "." or relative.startswith("..") else f"{relative}/"

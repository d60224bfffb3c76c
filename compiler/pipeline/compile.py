"""load -> validate -> model -> render: the whole compiler, reading top to bottom."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..artifacts import FAMILIES, Family
from ..artifacts.base import Artifact, Compiled, Layout
from ..core.defaults import BUILD_DIR
from ..core.errors import UsageError
from ..schedulers import SCHEDULERS
from ..spec.loader import LoadedSpec, load_spec
from ..spec.model import Project
from ..spec.validate import validate
from .naming import NameInputs, with_content_tag
from .writer import manifest_artifact

# The build directory's name is written into the workflow (`run: bash <dir>/lock.sh --check`, the
# paths filters) and the Dockerfile, and the spec's path into every header and the paths filter:
# both are held to portable file name characters, so neither can carry a line break, `$(...)` or `${{`.
# A leading "-" would make `bash <dir>/lock.sh` read an option; a leading "." could name .git or .github.
BUILD_DIR_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
SPEC_PATH = re.compile(r"[A-Za-z0-9._/-]+")


def _resolve(path: Path, what: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop: RuntimeError before Python 3.13
        raise UsageError(
            f"cannot follow {what} {str(path)!r}: a symbolic link loop, or a directory that cannot be read"
        ) from error


def spec_display_path(spec: Path, root: Path, *, inside_root: bool = True) -> str:
    """The spec's path as headers, the workflow's paths filter and messages show it: relative to the
    project root, POSIX-style, so the output does not depend on the working directory or the machine.

    With inside_root, a spec outside the root is refused: the workflow's paths filter cannot name it.
    """
    real, root = _resolve(spec, "the spec path"), _resolve(root, "the project root")
    try:
        shown = real.relative_to(root).as_posix()
    except ValueError:
        if inside_root:
            raise UsageError(
                f"the spec {str(spec)!r} is outside the project root {str(root)!r} (the build "
                "directory's parent); the generated workflow can only watch files inside it"
            ) from None
        shown = os.path.relpath(real, root).replace(os.sep, "/") if real.anchor == root.anchor else real.name
    if not SPEC_PATH.fullmatch(shown):
        raise UsageError(
            f"the spec's path {shown!r} may use only letters, digits, '.', '_', '-' and '/': "
            "it is written into every generated file's header and the workflow; rename it"
        )
    return shown


def _require_regular_file(spec: Path, shown: str) -> None:
    """Stat before opening: reading a FIFO blocks forever, and a directory or device is no spec."""
    try:
        mode = spec.stat().st_mode
    except FileNotFoundError:
        return  # the loader reports it as `<spec>:1:1: error: cannot read the spec`
    except OSError as error:
        raise UsageError(f"cannot read the spec {shown}: {error.strerror}") from error
    if not stat.S_ISREG(mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(mode)
            else "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket or other special file"
        )
        raise UsageError(f"the spec {shown} is {kind}, not a regular file")


def _load(spec: Path, root: Path, *, inside_root: bool = True) -> LoadedSpec:
    shown = spec_display_path(spec, root, inside_root=inside_root)
    _require_regular_file(spec, shown)
    return load_spec(spec, shown)


def load_project(spec: Path, root: Path, *, inside_root: bool = True, build_dir: str = BUILD_DIR) -> Project:
    """The model only (validate): the spec may live outside a project."""
    return validate(_load(spec, root, inside_root=inside_root), build_dir, root)


def build_dir(out_dir: Path, spec: Path) -> Path:
    """The build directory's real path, refusing any --out that would write outside a directory of
    its own: a filesystem root, the working directory or a parent of it, a file, the spec's own
    directory, a symbolic link (checked without following it), or a name that is not portable."""
    shown = repr(str(out_dir))
    if out_dir.absolute().is_symlink():
        raise UsageError(f"--out {shown} is a symbolic link; pixi-htc never writes through one")
    out = _resolve(out_dir, "--out")
    cwd = Path.cwd().resolve()
    if out == Path(out.anchor):
        raise UsageError(f"--out {shown} is a filesystem root; name a build directory of its own")
    if out == cwd or out in cwd.parents:
        raise UsageError(
            f"--out {shown} is the working directory or one of its parents; "
            "name a build directory of its own (default: build)"
        )
    if out_dir.name in (".", "..") or not BUILD_DIR_NAME.fullmatch(out_dir.name):
        raise UsageError(
            f"--out {shown}: the build directory's name may use only letters, digits, '.', '_' "
            "and '-' ('.' and '-' not first): it is written into the workflow"
        )
    if os.path.lexists(out) and not out.is_dir():
        raise UsageError(f"--out {shown} is not a directory")
    if out in _resolve(spec, "the spec path").parents:
        raise UsageError(f"--out {shown} contains the spec; name a build directory of its own")
    return out


def renderers() -> dict[str, Family]:
    """Every family of generated files, by name: the scheduler-free families and each scheduler's job files."""
    return {**FAMILIES, **{name: scheduler.render for name, scheduler in SCHEDULERS.items()}}


def render_all(project: Project, layout: Layout) -> list[Artifact]:
    """Every artifact of every family and scheduler, sorted by path; two claiming one path is a bug,
    not a spec error."""
    families = renderers()
    artifacts: dict[str, Artifact] = {}
    for name in sorted(families):
        for artifact in families[name](project, layout):
            key = str(artifact.path)
            if key in artifacts:
                raise RuntimeError(f"{name!r} writes {key}, which another family wrote")
            artifacts[key] = artifact
    return [artifacts[key] for key in sorted(artifacts)]


# A backstop behind the schema's and rules' bounds on sweeps: no build writes more than this.
MAX_GENERATED_BYTES = 128 * 1024 * 1024


def _within_size(artifacts: list[Artifact]) -> None:
    total = sum(len(artifact.data) for artifact in artifacts)
    if total > MAX_GENERATED_BYTES:
        largest = max(artifacts, key=lambda artifact: (len(artifact.data), str(artifact.path)))
        raise UsageError(
            f"the build would write {total:,} bytes, over {MAX_GENERATED_BYTES // 1024 // 1024} MiB "
            f"({largest.path}: {len(largest.data):,}); make the sweeps smaller"
        )


def name_inputs(project: Project, layout: Layout) -> NameInputs:
    """The files the content-derived names hash, rendered before the names exist (none names one)."""
    image = [
        a
        for family in ("container", "pixi")
        for a in FAMILIES[family](project, layout)
        if a.path.name in ("Dockerfile", "pixi.toml")
    ]
    return NameInputs(
        image=image,
        workspace=[a for a in image if a.path.name == "pixi.toml"],
        code=FAMILIES["payload"](project, layout) if project.source is None else [],
    )


def compile_loaded(spec: LoadedSpec, root: Path, layout: Layout, *, read_lists: bool = True) -> Compiled:
    """The one compile path (the CLI, explain and the tests): validate, derive the content names,
    render every family and scheduler, add the manifest; all in memory. With read_lists, the files a
    spec names for their contents (sweep_from lists) are read from `root` and checked."""
    project = validate(spec, layout.build_dir, root if read_lists else None)
    if project.environments:
        project = with_content_tag(project, name_inputs(project, layout), layout, root)
    artifacts = render_all(project, layout)
    _within_size(artifacts)
    manifest = manifest_artifact(artifacts, layout, project.spec_path, project.spec_sha256)
    return Compiled(project=project, root=root, layout=layout, artifacts=[*artifacts, manifest])


def compile_spec(spec: Path, out_dir: Path) -> Compiled:
    """Check the paths and render everything in memory; nothing is written here."""
    out = build_dir(out_dir, spec)
    layout = Layout(build_dir=out.name)
    return compile_loaded(_load(spec, out.parent), out.parent, layout)

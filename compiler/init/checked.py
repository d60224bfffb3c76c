"""After init writes a spec, the build's own checks on it, so init never leaves a spec that does not
build without saying why: each problem as build would report it, with the line of the user's file the
key was moved in from (the `# from job.sub:14` comments, spec/origins.py)."""

from __future__ import annotations

from pathlib import Path

from ..artifacts.base import Layout
from ..core.errors import PixiHtcError, SpecError
from ..pipeline.compile import compile_loaded
from ..spec.loader import load_spec


def build_problems(spec_path: Path, root: Path) -> list[str]:
    """What `pixi-htc build` would refuse in the spec just written (nothing is written here)."""
    shown = str(spec_path)
    try:
        compile_loaded(load_spec(spec_path, shown), root, Layout())
    except SpecError as error:
        return [diagnostic.format(shown) for diagnostic in error.diagnostics]
    except PixiHtcError as error:
        return [f"{shown}: {error}"]
    return []

"""build/src/: the bundled payload (the MNIST trainer), for a spec that names no source of its own."""

from __future__ import annotations

from ..core.resources import PAYLOAD_DIR
from ..spec.model import Project
from .base import Artifact, Layout, header

PAYLOAD_FILES = ("aggregate.py", "torch_MNIST.py", "torch_detect_GPU.py")


def render(project: Project, layout: Layout) -> list[Artifact]:
    if project.source is not None:
        return []  # the user's own code is used where it is, never copied into build/
    artifacts = []
    for name in PAYLOAD_FILES:
        source = (PAYLOAD_DIR / name).read_text(encoding="utf-8")
        note = header(project).replace("change the spec", f"change compiler/payload/{name}")
        artifacts.append(Artifact(path=layout.build("src", name), text=note + source))
    return artifacts

"""build/src/: the payload (the MNIST trainer) copied into the build, so jobs and the image carry it."""

from __future__ import annotations

from compiler.artifacts.base import Artifact, Layout, header
from compiler.model import Project
from compiler.resources import PAYLOAD_DIR

PAYLOAD_FILES = ("torch_MNIST.py", "torch_detect_GPU.py")


def render(project: Project, layout: Layout) -> list[Artifact]:
    artifacts = []
    for name in PAYLOAD_FILES:
        source = (PAYLOAD_DIR / name).read_text(encoding="utf-8")
        note = header(project).replace("change the spec", f"change compiler/payload/{name}")
        artifacts.append(Artifact(path=layout.build("src", name), text=note + source))
    return artifacts

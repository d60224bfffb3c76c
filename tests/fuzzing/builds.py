"""A compiled spec (Build), the clean builds' vocabulary (Clean), and the pairing of a build's files with
its harmless twin's."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixi_htc.pipeline import compile as pipeline
from tests.fuzzing.consumers import _same
from tests.fuzzing.specs import _dump, _load, harmless


@dataclass
class Build:
    doc: dict[str, Any]
    root: Path
    files: dict[str, str]
    sha: str

    def normal(self, path: str) -> str:
        """The file with the spec's sha256 set aside: what caches key on."""
        return self.files[path].replace(self.sha, "0" * 64)

    def jobs(self) -> list[str]:
        return sorted(
            p[len("build/htcondor/") : -len(".sub")]
            for p in self.files
            if re.fullmatch(r"build/htcondor/[^/]+\.sub", p)
        )


def compile_doc(doc: dict[str, Any], root: Path) -> Build:
    """Write the spec with ruamel, compile it in process (SpecError propagates), write the outputs."""
    text = _dump(doc)
    assert _same(_load(text), doc), "ruamel does not read back what it wrote (a harness problem)"
    spec = root / "specs" / "project.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(text, encoding="utf-8")
    compiled = pipeline.compile_spec(spec, root / "build")
    files = {str(a.path): a.text for a in compiled.artifacts}
    for a in compiled.artifacts:
        target = root / a.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(a.text, encoding="utf-8")
        if a.executable:
            target.chmod(0o755)
    return Build(doc=doc, root=root, files=files, sha=hashlib.sha256(spec.read_bytes()).hexdigest())


class Clean:
    """What clean builds of both bases contain: the compiler's vocabulary."""

    def __init__(self) -> None:
        self.submit_keys: set[str] = set()
        self.expressions: set[str] = set()
        self.commands: set[str] = set()
        self.instructions: set[str] = set()

    def __repr__(self) -> str:
        return "Clean()"


def _pairs(b: Build, twin: Build) -> list[tuple[str, str]]:
    """Each file of b with the twin's file of the same harmless path."""
    theirs: dict[str, list[str]] = {}
    for path in twin.files:
        theirs.setdefault(harmless(path), []).append(path)
    pairs = []
    for path in b.files:
        match = theirs.get(harmless(path), [])
        if len(match) == 1:
            pairs.append((path, match[0]))
    return pairs


def _twin_file(b: Build, twin: Build, path: str) -> str:
    return dict(_pairs(b, twin))[path]

"""Write artifacts atomically, keep a manifest of what pixi-htc owns, and diff for `check`.

The manifest (build/.pixi-htc-manifest.json) maps every owned path to its sha256. A file that is
neither in the manifest nor marked as generated is never overwritten.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from compiler.artifacts.base import MARKER, Artifact, Layout
from compiler.errors import UsageError

MANIFEST_NAME = ".pixi-htc-manifest.json"
Status = Literal["create", "update", "identical", "remove"]


@dataclass(frozen=True)
class Change:
    path: PurePosixPath
    status: Status


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_artifact(artifacts: list[Artifact], layout: Layout, spec_path: str, spec_sha256: str) -> Artifact:
    body = {
        "generator": "pixi-htc",
        "spec": spec_path,
        "spec_sha256": spec_sha256,
        "files": {str(a.path): sha256(a.data) for a in sorted(artifacts, key=lambda a: str(a.path))},
    }
    return Artifact(path=layout.build(MANIFEST_NAME), text=json.dumps(body, indent=2, sort_keys=True) + "\n")


def owned_paths(root: Path, layout: Layout) -> set[str]:
    """Paths the last build wrote, from its manifest (empty when there is none or it is unreadable)."""
    try:
        files = json.loads((root / layout.build(MANIFEST_NAME)).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {str(path) for path in files} if isinstance(files, dict) else set()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as error:
        raise UsageError(f"{path} is a directory where pixi-htc writes a file") from error


def _mode_ok(path: Path, artifact: Artifact) -> bool:
    return not artifact.executable or os.access(path, os.X_OK)


def plan(root: Path, layout: Layout, artifacts: list[Artifact]) -> list[Change]:
    """What write() would do, refusing to overwrite files pixi-htc does not own."""
    owned = owned_paths(root, layout)
    changes: list[Change] = []
    foreign: list[str] = []
    for artifact in artifacts:
        target = root / artifact.path
        current = _read(target)
        if current is None:
            changes.append(Change(artifact.path, "create"))
        elif current == artifact.data and _mode_ok(target, artifact):
            changes.append(Change(artifact.path, "identical"))
        elif str(artifact.path) in owned or MARKER.encode() in current[:512] or artifact.path.name == MANIFEST_NAME:
            changes.append(Change(artifact.path, "update"))
        else:
            foreign.append(str(artifact.path))
    if foreign:
        raise UsageError("refusing to overwrite files pixi-htc did not generate: " + ", ".join(foreign)
                         + " (move them away, or rename the output in the spec)")
    produced = {str(a.path) for a in artifacts}
    for stale in sorted(owned - produced):
        if (root / stale).is_file():
            changes.append(Change(PurePosixPath(stale), "remove"))
    return sorted(changes, key=lambda c: str(c.path))


def write(root: Path, layout: Layout, artifacts: list[Artifact]) -> list[Change]:
    """Stage every changed file next to its target, then rename them into place.

    A failure while staging removes the staged files and leaves every previous output as it was.
    The manifest is renamed last, so an interrupted rename phase is seen as stale by `check`.
    """
    changes = plan(root, layout, artifacts)
    by_path = {a.path: a for a in artifacts}
    to_write = [by_path[c.path] for c in changes if c.status in ("create", "update")]
    to_write.sort(key=lambda a: (a.path.name == MANIFEST_NAME, str(a.path)))
    staged: list[tuple[Path, Path]] = []
    try:
        for artifact in to_write:
            target = root / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(temp), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(artifact.data)
            os.chmod(temp, 0o755 if artifact.executable else 0o644)
    except OSError as error:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {error.filename}: {error.strerror}; nothing was changed") from error
    for temp, target in staged:
        os.replace(temp, target)
    for change in changes:
        if change.status == "identical" and by_path[change.path].executable:
            os.chmod(root / change.path, 0o755)
        if change.status == "remove":
            (root / change.path).unlink()
    return changes


def stale_report(root: Path, layout: Layout, artifacts: list[Artifact]) -> str:
    """A unified diff of every file that differs from what the spec produces; empty when current."""
    return "".join(_diffs(root, layout, artifacts))


def _diffs(root: Path, layout: Layout, artifacts: list[Artifact]) -> Iterator[str]:
    for artifact in artifacts:
        target = root / artifact.path
        current = _read(target)
        if current == artifact.data:
            if not _mode_ok(target, artifact):
                yield f"{artifact.path}: not executable (run make build)\n"
            continue
        old = [] if current is None else current.decode("utf-8", "replace").splitlines(keepends=True)
        name = str(artifact.path)
        yield from difflib.unified_diff(old, artifact.text.splitlines(keepends=True),
                                        fromfile=f"{name} (on disk)" if current is not None else "/dev/null",
                                        tofile=f"{name} (from spec)")
    produced = {str(a.path) for a in artifacts}
    for stale in sorted(owned_paths(root, layout) - produced):
        if (root / stale).is_file():
            yield f"{stale}: generated earlier, no longer produced by the spec (make build removes it)\n"

"""Write artifacts atomically, keep a manifest of what pixi-htc owns, and diff for `check`.

The manifest (build/.pixi-htc-manifest.json) maps every owned path to its sha256. A file that is
neither in the manifest nor marked as generated is never overwritten.

The manifest is committed, so it arrives in pull requests: it is untrusted input. Its entries can
only name files inside the build directory or `.github/workflows/`, and a stale entry is removed
only while it is still a regular file carrying the generated header. Nothing is ever written or
removed through a symbolic link.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from ..artifacts.base import MARKER, Artifact, Layout
from ..core.errors import UsageError
from .files import stale_temps

MANIFEST_NAME = ".pixi-htc-manifest.json"
# "kept": a stale manifest entry that is not (or no longer) a generated regular file; left in place.
Status = Literal["create", "update", "identical", "remove", "kept"]
KEPT_NOTE = "not removed: not a regular file with the pixi-htc header"

# A backslash or a control character never appears in a path pixi-htc writes; in a manifest entry
# it is a forgery (a Windows separator, or a line break that would forge output).
_UNSAFE_ENTRY = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
LOCK_WAIT = 60.0  # seconds a build waits for another one writing the same build directory


@dataclass(frozen=True)
class Change:
    path: PurePosixPath
    status: Status

    @property
    def note(self) -> str:
        return f" ({KEPT_NOTE})" if self.status == "kept" else ""


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


def is_owned_entry(entry: str, layout: Layout) -> bool:
    """Whether a manifest entry is a plain relative POSIX path inside what pixi-htc writes: the build
    directory, or a workflow file directly under .github/workflows/."""
    parts = entry.split("/")
    if _UNSAFE_ENTRY.search(entry) or any(part in ("", ".", "..") for part in parts):
        return False  # a leading "/" shows as an empty first part
    if parts[0] == layout.build_dir:
        return len(parts) >= 2
    return len(parts) == 3 and parts[:2] == [".github", "workflows"] and parts[2].endswith((".yml", ".yaml"))


def owned_paths(root: Path, layout: Layout) -> set[str]:
    """Paths the last build wrote, from its manifest (empty when there is none).

    A manifest that is present but malformed, or that names anything outside what pixi-htc owns, is
    refused rather than ignored: it is committed, and a pull request can edit it.
    """
    manifest = layout.build(MANIFEST_NAME)
    data = _read(root, manifest)
    if data is None:
        return set()
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _malformed(manifest, "it is not JSON") from error
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not all(isinstance(digest, str) for digest in files.values()):
        raise _malformed(manifest, 'it has no "files" object mapping paths to sha256 strings')
    foreign = [entry for entry in files if not is_owned_entry(entry, layout)]
    if foreign:
        raise UsageError(
            f"{manifest} lists paths outside what pixi-htc owns ({layout.build_dir}/... and "
            f".github/workflows/*.yml): {', '.join(repr(entry) for entry in sorted(foreign))}; "
            "nothing was changed (was the manifest edited by hand, or in a pull request?)"
        )
    return set(files)


def _malformed(manifest: PurePosixPath, why: str) -> UsageError:
    return UsageError(f"{manifest} is malformed ({why}); delete it and run `pixi-htc build` again")


def first_symlink(root: Path, path: PurePosixPath) -> PurePosixPath | None:
    """The first of the path's directories below the project root, or the file itself, that is a
    symbolic link; None when there is none."""
    current = PurePosixPath()
    for part in path.parts:
        current /= part
        if (root / current).is_symlink():
            return current
    return None


def refuse_symlinks(root: Path, path: PurePosixPath) -> None:
    """Writing through a symbolic link would land wherever it points (a pull request can add one)."""
    link = first_symlink(root, path)
    if link is not None:
        raise UsageError(
            f"{link} is a symbolic link; pixi-htc never writes or removes through one "
            "(replace it with a real directory or file)"
        )


def _read(root: Path, path: PurePosixPath) -> bytes | None:
    """A file's bytes, or None when it does not exist; lstat first, so that a FIFO or a device in
    the way is refused instead of blocking the read."""
    target = root / path
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path} is a directory where pixi-htc writes a file")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path} is not a regular file; pixi-htc writes a file there")
    try:
        return target.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error


def _is_generated_file(root: Path, path: PurePosixPath) -> bool:
    """A regular file, reached without a symlink, that still starts with the generated header."""
    target = root / path
    try:
        if first_symlink(root, path) is not None or not stat.S_ISREG(target.lstat().st_mode):
            return False
        with target.open("rb") as handle:
            return MARKER.encode() in handle.read(512)
    except OSError:
        return False


def _mode_ok(path: Path, artifact: Artifact) -> bool:
    return not artifact.executable or os.access(path, os.X_OK)


def _stale_temps(root: Path, artifacts: list[Artifact]) -> list[PurePosixPath]:
    return stale_temps(root, [artifact.path for artifact in artifacts])


def plan(root: Path, layout: Layout, artifacts: list[Artifact]) -> list[Change]:
    """What write() would do, refusing to overwrite files pixi-htc does not own."""
    for artifact in artifacts:
        refuse_symlinks(root, artifact.path)
    owned = owned_paths(root, layout)
    changes: list[Change] = []
    foreign: list[str] = []
    for artifact in artifacts:
        current = _read(root, artifact.path)
        if current is None:
            changes.append(Change(artifact.path, "create"))
        elif current == artifact.data and _mode_ok(root / artifact.path, artifact):
            changes.append(Change(artifact.path, "identical"))
        elif str(artifact.path) in owned or MARKER.encode() in current[:512] or artifact.path.name == MANIFEST_NAME:
            changes.append(Change(artifact.path, "update"))
        else:
            foreign.append(str(artifact.path))
    if foreign:
        raise UsageError(
            "refusing to overwrite files pixi-htc did not generate: "
            + ", ".join(foreign)
            + " (move them away, or rename the output in the spec)"
        )
    produced = {str(a.path) for a in artifacts}
    for stale in map(PurePosixPath, sorted(owned - produced)):
        if _is_generated_file(root, stale):
            changes.append(Change(stale, "remove"))
        elif os.path.lexists(root / stale):
            changes.append(Change(stale, "kept"))
    changes += [Change(temp, "remove") for temp in _stale_temps(root, artifacts)]
    return sorted(changes, key=lambda c: str(c.path))


def write(root: Path, layout: Layout, artifacts: list[Artifact]) -> list[Change]:
    """Stage every changed file next to its target, rename them into place, remove what is stale,
    and only then rename the new manifest into place.

    A failure while staging removes the staged files and leaves every previous output as it was. A
    failure after that leaves the previous manifest, which `check` then sees as stale: the installed
    manifest never claims a state that is not on disk.
    """
    with build_lock(root, layout):
        return _write(root, layout, artifacts)


@contextlib.contextmanager
def build_lock(root: Path, layout: Layout, wait: float | None = None) -> Iterator[None]:
    """One build at a time per build directory: two at once would each take the other's staging
    files for an interrupted build's leftovers and remove them. An exclusive flock on the build
    directory itself (no lock file of its own to own or leave behind), released when the build ends
    or its process dies. Where the platform has no flock (Windows), builds are not serialised."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    directory = root / layout.build_dir
    refuse_symlinks(root, layout.build(MANIFEST_NAME))
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        wait = LOCK_WAIT if wait is None else wait
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UsageError(
                        f"another pixi-htc build is writing {layout.build_dir}/ (waited "
                        f"{wait:.0f} s); run it again when that one is done"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(root: Path, layout: Layout, artifacts: list[Artifact]) -> list[Change]:
    changes = plan(root, layout, artifacts)
    by_path = {a.path: a for a in artifacts}
    to_write = [by_path[c.path] for c in changes if c.status in ("create", "update")]
    to_write.sort(key=lambda a: (a.path.name == MANIFEST_NAME, str(a.path)))
    staged: list[tuple[Path, Path]] = []
    step = ""
    try:
        for artifact in to_write:
            # error.filename is None for some errors (EFBIG, ENOSPC from write): name our own target.
            step = f"write {artifact.path}"
            target = root / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(temp), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(artifact.data)
            os.chmod(temp, 0o755 if artifact.executable else 0o644)
    except OSError as error:
        _discard(staged)
        raise UsageError(f"cannot {step}: {error.strerror or error}; nothing was changed") from error
    manifest = staged.pop() if to_write and to_write[-1].path.name == MANIFEST_NAME else None
    try:
        for staged_temp, target in staged:
            step = f"write {target.relative_to(root).as_posix()}"
            os.replace(staged_temp, target)
        for change in changes:
            if change.status == "identical" and by_path[change.path].executable:
                step = f"make {change.path} executable"
                os.chmod(root / change.path, 0o755)
            if change.status == "remove":
                step = f"remove {change.path}"
                (root / change.path).unlink()
        if manifest:
            step = f"write {manifest[1].relative_to(root).as_posix()}"
            os.replace(*manifest)
    except OSError as error:
        _discard([*staged, *([manifest] if manifest else [])])  # those already renamed are gone
        raise UsageError(
            f"cannot {step}: {error.strerror or error}; the manifest was not updated, so "
            "`pixi-htc check` reports the build as stale until a build succeeds"
        ) from error
    return changes


def _discard(staged: list[tuple[Path, Path]]) -> None:
    for temp, _ in staged:
        temp.unlink(missing_ok=True)


def stale_report(root: Path, layout: Layout, artifacts: list[Artifact]) -> str:
    """A unified diff of every file that differs from what the spec produces; empty when current."""
    return "".join(_diffs(root, layout, artifacts))


def _diffs(root: Path, layout: Layout, artifacts: list[Artifact]) -> Iterator[str]:
    for artifact in artifacts:
        refuse_symlinks(root, artifact.path)
    for artifact in artifacts:
        current = _read(root, artifact.path)
        if current == artifact.data:
            if not _mode_ok(root / artifact.path, artifact):
                yield f"{artifact.path}: not executable (run make build)\n"
            continue
        old = [] if current is None else current.decode("utf-8", "replace").splitlines(keepends=True)
        name = str(artifact.path)
        yield from difflib.unified_diff(
            old,
            artifact.text.splitlines(keepends=True),
            fromfile=f"{name} (on disk)" if current is not None else "/dev/null",
            tofile=f"{name} (from spec)",
        )
    produced = {str(a.path) for a in artifacts}
    for stale in map(PurePosixPath, sorted(owned_paths(root, layout) - produced)):
        if _is_generated_file(root, stale):
            yield f"{stale}: generated earlier, no longer produced by the spec (make build removes it)\n"
        elif os.path.lexists(root / stale):
            yield f"{stale}: listed in the manifest, {KEPT_NOTE} (make build leaves it, drops it from the manifest)\n"
    for temp in sorted(_stale_temps(root, artifacts)):
        yield f"{temp}: a staging file left by an interrupted build (make build removes it)\n"

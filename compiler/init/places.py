"""Where a moved-in job's files are, relative to the project root, and how its script is started.

A submit file names its paths relative to the directory it is submitted from (or its
`initialdir`); the spec names them relative to the project root, the repository's top, wherever
init runs. A script HTCondor ran as the executable is made executable by HTCondor; the spec carries
it as code, which keeps the mode it has in git (often 644), so init runs it through the
interpreter its first line names.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.foreign import ForeignFileError, link_inside, read_bytes

SHEBANG_BYTES = 256
# The interpreter for a script without a `#!` line, by suffix: what a shell would do for `.sh`
# (it runs a file the kernel cannot execute with sh); a Python file names its own.
BY_SUFFIX = {".sh": ["sh"], ".bash": ["bash"], ".py": ["python3"]}


def project_root(start: Path) -> Path:
    """The repository's top (the nearest directory with a .git), else `start` itself."""
    here = start.resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


@dataclass(frozen=True)
class Places:
    root: Path  # the project root, absolute
    base: str  # where the submit file's relative paths start, relative to root ("" for the root)
    author: str = ""  # the project root's absolute path on the author's machine, where the file shows it

    @classmethod
    def of(cls, root: Path, submit_dir: Path, initialdir: str | None = None, author: str = "") -> Places:
        base = os.path.relpath(submit_dir.resolve(), root).replace(os.sep, "/")
        base = "" if base == "." else base
        if initialdir:
            mapped = _under(initialdir, author)
            base = (
                posixpath.normpath(posixpath.join(base, initialdir))
                if not initialdir.startswith("/")
                else mapped
                if mapped is not None
                else os.path.relpath(initialdir, root).replace(os.sep, "/")
            )
            base = "" if base in (".", "") else base
        return cls(root=root, base=base, author=author)

    def through_a_link(self, rebased: str) -> bool:
        """Whether a project path reaches its file through a symbolic link (which may lead out of the
        project: a link is never followed for someone else's file)."""
        if "://" in rebased:
            return False
        try:
            link_inside(self.root / rebased.rstrip("/"), self.root)
        except ForeignFileError:
            return True
        return False

    def outside(self, path: str) -> bool:
        """Whether an absolute path is neither in the project here nor under the author's root."""
        inside = os.path.relpath(path, self.root).replace(os.sep, "/")
        return (inside == ".." or inside.startswith("../")) and _under(path, self.author) is None

    def rebased(self, path: str, *, contents: bool = False) -> str | None:
        """A submit file's path as the spec names it (relative to the project root); a URL as it
        is; None for a path that leads outside the project. With `contents`, a directory named with
        a trailing `/` keeps it (transfer_input_files: its entries, not the directory)."""
        if "://" in path:
            return path
        slash = "/" if contents and path.endswith("/") else ""
        if path.startswith("/"):
            mapped = _under(path, self.author)
            if mapped is not None:
                return _with(mapped or ".", slash)
            inside = os.path.relpath(path, self.root).replace(os.sep, "/")
            return None if inside == ".." or inside.startswith("../") else _with(inside, slash)
        joined = posixpath.normpath(posixpath.join(self.base, path))
        return None if joined == ".." or joined.startswith(("../", "/")) else _with(joined, slash)


def _under(path: str, author: str) -> str | None:
    """An absolute path under the author's root as the project's (relative, "" for the root), or None."""
    if not author or not path.startswith("/"):
        return None
    normal = posixpath.normpath(path)
    if normal == author:
        return ""
    if not normal.startswith(author + "/"):
        return None
    rest = normal[len(author) + 1 :]
    return None if rest == ".." or rest.startswith("../") else rest


def author_root(root: Path, texts: list[str]) -> str:
    """The project root's absolute path on the author's machine, from the absolute paths the file
    names: the part up to the project's own name (/home/alice/proj/jobs/a.sh for a checkout named
    proj), or the part before the longest tail of two names or more that the project holds
    (/ospool/alice/Wcb/condor/Scripts/fetch.py for condor/Scripts/fetch.py). The most often found;
    "" when none is."""
    found: dict[str, int] = {}
    for text in texts:
        for word in re.split(r"[\s,;=\"']+", text)[:MAX_AUTHOR_WORDS]:
            if not word.startswith("/") or "$" in word or len(word) > 4096:
                continue
            parts = [part for part in posixpath.normpath(word).split("/") if part]
            if ".." in parts:
                continue
            prefix = None
            named = root.name in parts[-MAX_TAIL:] and _tail_exists(
                root, parts, len(parts) - parts[::-1].index(root.name)
            )
            if named:
                prefix = parts[: len(parts) - parts[::-1].index(root.name)]
            else:
                # A tail of at most MAX_TAIL names: a path of thousands of parts costs no more to look at.
                for start in range(max(1, len(parts) - MAX_TAIL), len(parts) - 1):
                    if os.path.lexists(root.joinpath(*parts[start:])):
                        prefix = parts[:start]
                        break
            if prefix:
                key = "/" + "/".join(prefix)
                found[key] = found.get(key, 0) + 1
    return max(found, key=lambda key: found[key]) if found else ""


MAX_AUTHOR_WORDS = 1_000
MAX_TAIL = 32  # names of a path's tail looked for in the project


def _tail_exists(root: Path, parts: list[str], start: int) -> bool:
    """Whether parts[start:] is a path the project holds (the root itself says nothing: a project
    named `data` is no reason to read /data as it)."""
    return start < len(parts) and os.path.lexists(root.joinpath(*parts[start:]))


def _with(path: str, slash: str) -> str:
    """A rebased path with its trailing `/` back, unless it is the project root itself."""
    return f"{path}{slash}" if path != "." else path


def interpreter(script: Path, root: Path) -> list[str] | None:
    """The words that start a script whatever its mode: its `#!` line (`/usr/bin/env python3` gives
    `python3`; `env -S` options kept), or by suffix; None for a program that runs as itself."""
    try:
        head = read_bytes(script, SHEBANG_BYTES, within=root)
    except ForeignFileError:
        head = None
    first = head.data.split(b"\n", 1)[0].decode("utf-8", "replace") if head is not None else ""
    if first.startswith("#!"):
        words = first[2:].split()
        if words and posixpath.basename(words[0]) == "env":
            words = [w for w in words[1:] if w not in ("-S", "--split-string")]
        if words and all(re.fullmatch(r"[A-Za-z0-9_./+=:-]+", w) for w in words):
            return words
    if head is not None and head.data.startswith(b"\x7fELF"):
        return None
    return BY_SUFFIX.get(posixpath.splitext(script.name)[1])

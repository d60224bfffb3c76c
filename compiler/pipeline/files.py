"""The files a build reads and leaves, found the same way by the compile and by `check`'s cache.

The standard library only: check_cache.py answers `check` from this module without importing the
compiler, and naming.py and writer.py use the same walks, so the two can never disagree on what a
`source` entry holds or which staging files an interrupted build left.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

# tempfile.mkstemp(prefix=".NAME.", suffix=".tmp") draws 8 characters from [a-z0-9_].
STAGED_TEMP = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


def source_files(root: Path, path: str) -> Iterator[tuple[str, Path]]:
    """(project-relative POSIX path, file) under one source entry, sorted; symbolic links are not followed."""
    start = root / path
    if start.is_file() and not start.is_symlink():
        yield path, start
        return
    for directory, folders, names in os.walk(start):
        folders.sort()
        for name in sorted(names):
            file = Path(directory, name)
            if file.is_file() and not file.is_symlink():
                yield file.relative_to(root).as_posix(), file


def stale_temps(root: Path, paths: Iterable[PurePosixPath]) -> list[PurePosixPath]:
    """Staging files a killed build left behind beside the generated files `paths`:
    `.<name>.XXXXXXXX.tmp`, regular files only (the directories are checked for links before this runs)."""
    names: dict[PurePosixPath, set[str]] = {}
    for path in paths:
        names.setdefault(path.parent, set()).add(path.name)
    found: list[PurePosixPath] = []
    for directory, generated in names.items():
        try:
            entries = list(os.scandir(root / directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            match = STAGED_TEMP.fullmatch(entry.name)
            if match and match.group(1) in generated and entry.is_file(follow_symlinks=False):
                found.append(directory / entry.name)
    return found
